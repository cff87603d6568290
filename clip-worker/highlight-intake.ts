import type { MessageBatch } from '../core/bus/bus.ts';
import type { DeadLetter } from '../core/dead-letters.ts';
import { highlightValidator, MAX_HIGHLIGHT_MS, type Highlight } from '../core/schemas/highlight.ts';
import { TOPICS } from '../core/topics.ts';
import { clipId } from '../core/clips/clip-records.ts';
import type { ClipJobQueue, EnqueueOutcome } from './job-queue.ts';

/**
 * The clip worker's consumer of `highlights`: each valid highlight becomes a durable job record
 * (once per clip id: a redelivered or repeated highlight finds its job, manifest or tombstone and
 * adds nothing). The batch is committed as soon as the records are written, so a long clip job
 * never holds a Kafka partition. Anything unreadable goes to dead-letters with the reason.
 */
export interface IntakeResult {
  jobs: Array<{ clipId: string; highlight: Highlight; outcome: EnqueueOutcome }>;
  deadLetters: DeadLetter[];
}

/** Validates one message; returns the highlight or why it is refused. */
export function readHighlight(
  value: Buffer,
): { highlight: Highlight } | { reason: string; errors?: DeadLetter['errors'] } {
  let parsed: unknown;
  try {
    parsed = JSON.parse(value.toString('utf8'));
  } catch {
    return { reason: 'highlight is not JSON' };
  }
  if (!highlightValidator.check(parsed))
    return { reason: 'highlight is invalid', errors: highlightValidator.errors(parsed) };
  if (parsed.end <= parsed.start)
    return { reason: `highlight window is empty: end ${parsed.end} is not after start ${parsed.start}` };
  if (parsed.end - parsed.start > MAX_HIGHLIGHT_MS)
    return { reason: `highlight window is ${parsed.end - parsed.start} ms; at most ${MAX_HIGHLIGHT_MS} ms` };
  return { highlight: parsed };
}

export async function takeInHighlights(
  batch: MessageBatch,
  queue: ClipJobQueue,
  profileVersion: string,
  now: number,
): Promise<IntakeResult> {
  const result: IntakeResult = { jobs: [], deadLetters: [] };
  for (const message of batch.messages) {
    const read = readHighlight(message.value);
    if ('reason' in read) {
      result.deadLetters.push({
        sourceTopic: TOPICS.highlights,
        payload: message.value,
        reason: read.reason,
        errors: read.errors,
        origin: `${batch.topic}/${batch.partition}/${message.offset}`,
      });
      continue;
    }
    const { highlight } = read;
    const id = clipId({
      streamId: highlight.stream_id,
      startMs: highlight.start,
      endMs: highlight.end,
      profileVersion,
    });
    result.jobs.push({ clipId: id, highlight, outcome: await queue.enqueue(highlight, id, now) });
  }
  return result;
}
