import type { Counter, Histogram } from 'prom-client';
import type { Metrics } from '../core/metrics.ts';

export type IngestRoute = 'events' | 'cmcd' | 'ivs';
export type EventSource = 'sdk' | 'cmcd' | 'ivs';

/** The collector's Prometheus metrics, declared once per registry. */
export interface IngestMetrics {
  /** Events stored on the bus. */
  accepted: Counter<'source'>;
  /** Events refused, by why (schema, clock, session_gone …). */
  rejected: Counter<'source' | 'reason'>;
  /** Events dropped as retries of ones already stored. */
  deduplicated: Counter<'source'>;
  /** Answers by route and status code. */
  requests: Counter<'route' | 'status'>;
  requestDuration: Histogram<'route'>;
  /** Bus publish time: what acks=all with linger costs a request. */
  publishDuration: Histogram<'topic'>;
  /** 503 answers, by cause (backpressure, bus_unavailable, in_flight_duplicates, session_busy). */
  unavailable: Counter<'route' | 'cause'>;
  /** Requests served without dedupe because the live state failed. */
  dedupeDegraded: Counter<'route'>;
  deadLetters: Counter<'source'>;
}

export function ingestMetrics(metrics: Metrics): IngestMetrics {
  const latencyBuckets = [0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
  return {
    accepted: metrics.counter('ingest_events_accepted_total', 'Events the collector stored on the bus', ['source']),
    rejected: metrics.counter('ingest_events_rejected_total', 'Events the collector refused, by reason', [
      'source',
      'reason',
    ]),
    deduplicated: metrics.counter(
      'ingest_events_deduplicated_total',
      'Retried events dropped because their event_id was already stored',
      ['source'],
    ),
    requests: metrics.counter('ingest_requests_total', 'Collector answers by route and status code', [
      'route',
      'status',
    ]),
    requestDuration: metrics.histogram(
      'ingest_request_duration_seconds',
      'Collector request duration',
      ['route'],
      latencyBuckets,
    ),
    publishDuration: metrics.histogram(
      'ingest_bus_publish_duration_seconds',
      'Time until the bus acknowledged a publish',
      ['topic'],
      latencyBuckets,
    ),
    unavailable: metrics.counter('ingest_unavailable_total', 'Requests answered 503 (retry later), by cause', [
      'route',
      'cause',
    ]),
    dedupeDegraded: metrics.counter(
      'ingest_dedupe_degraded_total',
      'Requests served without event_id dedupe because live state failed',
      ['route'],
    ),
    deadLetters: metrics.counter(
      'ingest_dead_letters_total',
      'Events that passed the envelope check but not validation, kept on dead-letters',
      ['source'],
    ),
  };
}
