import type { StreamLifecycleEvent } from '../../core/schemas/stream-lifecycle.ts';
import { streamLifecycleValidator } from '../../core/schemas/stream-lifecycle.ts';
import type { FieldError } from '../../core/schemas/validate.ts';
import { illFormedTextErrors } from '../../core/schemas/well-formed-text.ts';
import type { IvsEvent } from './ivs-event.ts';

/**
 * Normalises an EventBridge IVS event onto `stream.lifecycle`. IVS delivers best effort: events
 * come late, twice or out of order, so the event carries when IVS says it happened
 * (`occurred_at`) and its EventBridge id; consumers order by the first and dedupe by the second.
 */
export type IvsMapping =
  | { kind: 'lifecycle'; event: StreamLifecycleEvent }
  | { kind: 'ignored'; reason: string }
  | { kind: 'invalid'; errors: FieldError[] };

// Maps: the names come from the request, and "constructor" must be just an untracked name.
const STREAM_KINDS = new Map<string, StreamLifecycleEvent['kind']>([
  ['Stream Start', 'stream_start'],
  ['Stream End', 'stream_end'],
  ['Stream Failure', 'stream_failure'],
]);

const RECORDING_KINDS = new Map<string, StreamLifecycleEvent['kind']>([
  ['Recording Start', 'recording_start'],
  ['Recording End', 'recording_end'],
  ['Recording Start Failure', 'recording_failure'],
  ['Recording End Failure', 'recording_failure'],
]);

/** `arn:aws:ivs:us-west-2:123456789012:channel/AbCdEf` → `AbCdEf`. */
export function channelIdFromArn(arn: string): string | undefined {
  const match = /^arn:aws[a-z-]*:ivs:[a-z0-9-]+:\d{12}:channel\/([A-Za-z0-9]+)$/.exec(arn);
  return match?.[1];
}

export function mapIvsEvent(event: IvsEvent): IvsMapping {
  // The envelope schema is fastify's (Ajv), which has no rule for it; named by the IVS field, not the mapped one.
  const textErrors = illFormedTextErrors(event, 5);
  if (textErrors.length > 0) return { kind: 'invalid', errors: textErrors };
  const channelId = channelIdFromArn(event.resources[0]!);
  if (!channelId) return { kind: 'invalid', errors: [{ path: '/resources/0', message: 'is not an IVS channel ARN' }] };
  const occurredAt = Date.parse(event.time);

  let mapped: StreamLifecycleEvent;
  if (event['detail-type'] === 'IVS Stream State Change') {
    const kind = STREAM_KINDS.get(event.detail.event_name);
    // Session Created/Ended and takeovers carry nothing the lifecycle needs: Stream Start/End are the authoritative pair.
    if (!kind) return { kind: 'ignored', reason: `stream event "${event.detail.event_name}" is not tracked` };
    mapped = {
      schema_v: 1,
      event_id: event.id,
      channel_id: channelId,
      channel_arn: event.resources[0]!,
      stream_id: event.detail.stream_id,
      kind,
      occurred_at: occurredAt,
    };
    if (event.detail.code) mapped.reason = event.detail.code.slice(0, 512);
  } else {
    const kind = RECORDING_KINDS.get(event.detail.recording_status);
    if (!kind) return { kind: 'ignored', reason: `recording status "${event.detail.recording_status}" is not tracked` };
    const detail = event.detail;
    mapped = {
      schema_v: 1,
      event_id: event.id,
      channel_id: channelId,
      channel_arn: event.resources[0]!,
      stream_id: detail.stream_id,
      kind,
      occurred_at: occurredAt,
    };
    if (detail.recording_s3_key_prefix) mapped.recording_prefix = detail.recording_s3_key_prefix;
    if (detail.recording_s3_bucket_name) mapped.recording_bucket = detail.recording_s3_bucket_name;
    if (detail.recording_status_reason) mapped.reason = detail.recording_status_reason.slice(0, 512);
  }
  const errors = streamLifecycleValidator.errors(mapped, 5);
  return errors.length > 0 ? { kind: 'invalid', errors } : { kind: 'lifecycle', event: mapped };
}
