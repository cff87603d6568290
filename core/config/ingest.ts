import { z } from 'zod';
import { ipHashSecretVariable } from './auth.ts';
import { configSection, positiveInt } from './fields.ts';

/** Limits and windows of the player-event collector (ingest-api). */
export const ingestSection = configSection({
  variables: z.object({
    INGEST_MAX_EVENTS_PER_REQUEST: positiveInt(300).describe('events per `POST /v1/events`; more is 413'),
    INGEST_MAX_BODY_BYTES: positiveInt(512 * 1024).describe('request body limit (512 KiB); more is 413'),
    INGEST_BODY_TIMEOUT_MS: positiveInt(10_000).describe(
      'a body not fully received by then is answered 408 (slow-body protection)',
    ),
    INGEST_DEDUPE_WINDOW_MS: positiveInt(300_000).describe(
      'how long an `event_id` is remembered, so a retried event is dropped. With Redis (`REDIS_URL`) this holds at any rate; the in-memory live state keeps at most 100,000 keys and evicts the soonest-expiring, so under sustained load its window is shorter (about 7 s at 13,000 events/s)',
    ),
    INGEST_MAX_EVENT_AGE_MS: positiveInt(86_400_000).describe(
      'events older than this (after clock-skew correction) are rejected; raise it for replays',
    ),
    INGEST_CMCD_MAX_REPORTS_PER_SESSION: positiveInt(20_000).describe(
      'a CMCD session sending more is answered 410 (stop sending)',
    ),
    INGEST_PUBLISH_DEADLINE_MS: positiveInt(5_000).describe(
      'longest a request waits for the bus before it is answered 503 with `Retry-After` (the publish itself carries on)',
    ),
    LIVEPULSE_IP_HASH_SECRET: ipHashSecretVariable,
  }),
  toConfig: (e) => ({
    ingest: {
      maxEventsPerRequest: e.INGEST_MAX_EVENTS_PER_REQUEST,
      maxBodyBytes: e.INGEST_MAX_BODY_BYTES,
      bodyTimeoutMs: e.INGEST_BODY_TIMEOUT_MS,
      dedupeWindowMs: e.INGEST_DEDUPE_WINDOW_MS,
      maxEventAgeMs: e.INGEST_MAX_EVENT_AGE_MS,
      cmcdMaxReportsPerSession: e.INGEST_CMCD_MAX_REPORTS_PER_SESSION,
      publishDeadlineMs: e.INGEST_PUBLISH_DEADLINE_MS,
      /** Keys the client-IP hash; without it a random per-process secret is used. */
      ipHashSecret: e.LIVEPULSE_IP_HASH_SECRET,
    },
  }),
});
