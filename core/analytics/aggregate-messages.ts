import { Type, type Static } from '@sinclair/typebox';
import type { Bus, OutgoingMessage } from '../bus/bus.ts';
import { createValidator } from '../schemas/validate.ts';

/**
 * What the viewer-analytics processor publishes on `analytics.aggregates`, and what the sinks
 * read. One schema, used for validation in the sinks and for the TypeScript types everywhere.
 *
 * - `viewer_window_rows`: early results for open windows (and zero rows replacing early rows that
 *   emptied out). Sinks that keep "latest value per key" tables take them; versions order them.
 * - `viewer_window_final`: a closed window of one source partition: its final rows and the views
 *   that ended in it, split into deterministic chunks. The same closed window always produces the
 *   same chunks, so `(group, partition, window, chunk)` is a stable idempotency key: a processor
 *   that crashed and re-emitted a window cannot make a sink count it twice.
 *
 * - `viewer_watermark`: how far the source partition has got (its watermark, and the window it is
 *   in), published after the early rows of each emission. A reader that has it knows the source
 *   published every row it has for the windows up to `watermark_window_start`: a stream with no
 *   row there has no views in that partition, and a source that has not reached the newest window
 *   yet is behind, not empty (see live-edge.ts).
 *
 * Messages are keyed by source partition, so everything one processor partition emits stays in
 * order on one aggregates partition.
 */
const Epoch = (description: string) => Type.Integer({ minimum: 0, description });
const Count = (description: string) => Type.Integer({ minimum: 0, description });
/** Versions are 64-bit; JSON numbers are not, so they travel as decimal strings. */
const Version = Type.String({ pattern: '^[0-9]{1,20}$', description: 'Output version: later wins' });

/** Analytics dimensions of a view, in row order; `player` is the player software (player_name). */
export const DIMENSIONS = ['device', 'os', 'browser', 'player', 'cdn', 'rendition', 'country'] as const;
/** Window rows exist per dimension value, and once per stream as `all`. */
export const ROW_DIMENSIONS = ['all', ...DIMENSIONS] as const;

export const WindowRowSchema = Type.Object(
  {
    property_id: Type.String(),
    creator_id: Type.String(),
    stream_id: Type.String(),
    dimension: Type.Union(ROW_DIMENSIONS.map((d) => Type.Literal(d))),
    dimension_value: Type.String(),
    window_start: Epoch('Window start, epoch ms'),
    concurrent_views: Count('Views watching at the window’s last instant'),
    views_started: Count('Views whose first event is in the window'),
    viewer_ids: Type.Array(Type.String(), { description: 'Distinct viewers of the views started in the window' }),
    watch_ms: Count('Watch time accrued in the window'),
    playing_ms: Count('Playing time accrued in the window'),
    rebuffer_ms: Count('Rebuffering accrued in the window'),
    rebuffer_count: Count('Rebuffer events in the window'),
  },
  { additionalProperties: false },
);

export const END_REASONS = ['viewend', 'silence', 'paused_timeout', 'capacity'] as const;

export const ViewSummarySchema = Type.Object(
  {
    view_id: Type.String(),
    property_id: Type.String(),
    stream_id: Type.String(),
    creator_id: Type.String(),
    viewer_id: Type.String(),
    started_at: Epoch('First event, epoch ms'),
    last_event_at: Epoch('Last event, epoch ms'),
    ended_at: Epoch('End: the viewend, or the last event plus the silence timeout'),
    end_reason: Type.Union(END_REASONS.map((r) => Type.Literal(r))),
    device: Type.String(),
    os: Type.String(),
    browser: Type.String(),
    player: Type.String(),
    cdn: Type.String(),
    rendition: Type.String(),
    country: Type.String(),
    watch_ms: Count('Watch time'),
    playing_ms: Count('Playing time'),
    rebuffer_ms: Count('Rebuffering'),
    rebuffer_count: Count('Rebuffer events'),
    seek_count: Count('Seeks'),
    seek_ms: Count('Seeking'),
    startup_time_ms: Type.Union([Count('Video startup time'), Type.Null()]),
    upscale_weighted_ms: Count('Σ upscale × playhead delta'),
    downscale_weighted_ms: Count('Σ downscale × playhead delta'),
    max_upscale_pct: Type.Number({ minimum: 0 }),
    live_latency_ms: Type.Union([Count('Last live latency'), Type.Null()]),
    dropped_frames: Count('Dropped frames'),
    playback_failure: Type.Boolean(),
    startup_failure: Type.Boolean(),
    business_exception: Type.Boolean(),
    exit_before_start: Type.Boolean(),
    error_code: Type.String(),
    events: Count('Events the view was built from'),
  },
  { additionalProperties: false },
);

/** What every message says about where it comes from: the processor's group and source partition, the output version and when. */
const sourceHead = {
  group: Type.String({ description: 'Processor consumer group' }),
  source_partition: Type.Integer({ minimum: 0 }),
  version: Version,
  emitted_at: Epoch('Processing time of the emission'),
};

export const WindowRowsMessageSchema = Type.Object(
  {
    type: Type.Literal('viewer_window_rows'),
    ...sourceHead,
    rows: Type.Array(WindowRowSchema),
  },
  { additionalProperties: false },
);

export const WindowFinalMessageSchema = Type.Object(
  {
    type: Type.Literal('viewer_window_final'),
    ...sourceHead,
    window_start: Epoch('Window start, epoch ms'),
    chunk: Type.Integer({ minimum: 0 }),
    chunks: Type.Integer({ minimum: 1 }),
    rows: Type.Array(WindowRowSchema),
    views: Type.Array(ViewSummarySchema),
  },
  { additionalProperties: false },
);

export const WatermarkMessageSchema = Type.Object(
  {
    type: Type.Literal('viewer_watermark'),
    ...sourceHead,
    watermark: Epoch('The source partition’s watermark (collector time), epoch ms'),
    watermark_window_start: Epoch(
      'Start of the window the watermark is in: every row of the windows up to it has been published',
    ),
    closed_before: Type.Integer({
      description: 'Windows starting before this are closed: their final rows have been published',
    }),
  },
  { additionalProperties: false },
);

export const AggregatesMessageSchema = Type.Union([
  WindowRowsMessageSchema,
  WindowFinalMessageSchema,
  WatermarkMessageSchema,
]);

export type WindowRow = Static<typeof WindowRowSchema>;
export type ViewSummary = Static<typeof ViewSummarySchema>;
export type WindowRowsMessage = Static<typeof WindowRowsMessageSchema>;
export type WindowFinalMessage = Static<typeof WindowFinalMessageSchema>;
export type WatermarkMessage = Static<typeof WatermarkMessageSchema>;
export type AggregatesMessage = Static<typeof AggregatesMessageSchema>;

export const aggregatesMessageValidator = createValidator(AggregatesMessageSchema);

/**
 * The idempotency key of one final chunk; sinks use it as their merge key and keep it with the
 * rows (the ClickHouse ledger of migration 0058 reads the window start back out of it).
 */
export function finalChunkToken(
  message: Pick<WindowFinalMessage, 'group' | 'source_partition' | 'window_start' | 'chunk'>,
): string {
  return `viewer-final:${message.group}:${message.source_partition}:${message.window_start}:${message.chunk}`;
}

export function aggregatesKey(group: string, sourcePartition: number): string {
  return `viewer-analytics:${group}:${sourcePartition}`;
}

/**
 * Largest message body we produce. Kafka's limit (1 MiB by default) applies to a whole record
 * batch, and the bus's producer batches concurrent messages for a partition together, so
 * messages stay well under it (see publishBounded).
 */
export const MAX_MESSAGE_BYTES = 128 * 1024;

/** Most bytes handed to one publish call: the producer may still merge a few concurrent calls into one batch. */
const MAX_PUBLISH_BYTES = 256 * 1024;

/**
 * Publishes in calls of at most MAX_PUBLISH_BYTES each. The calls are made in order and awaited
 * together: the bus keeps per-key order across concurrent calls, and the parts travel side by
 * side instead of each waiting for the previous one's acknowledgement.
 */
export async function publishBounded(
  bus: Pick<Bus, 'publish'>,
  topic: string,
  messages: readonly OutgoingMessage[],
): Promise<void> {
  const sends: Array<Promise<void>> = [];
  let part: OutgoingMessage[] = [];
  let bytes = 0;
  for (const message of messages) {
    if (part.length > 0 && bytes + message.value.length > MAX_PUBLISH_BYTES) {
      sends.push(bus.publish(topic, part));
      part = [];
      bytes = 0;
    }
    part.push(message);
    bytes += message.value.length;
  }
  if (part.length > 0) sends.push(bus.publish(topic, part));
  await Promise.all(sends);
}

/** Splits items into runs whose JSON stays under `maxBytes` (one oversized item still gets a run of its own); each run holds the items' JSON. */
function packBySize(itemJson: readonly string[], maxBytes: number): string[][] {
  const runs: string[][] = [];
  let run: string[] = [];
  let size = 0;
  for (const json of itemJson) {
    const itemBytes = Buffer.byteLength(json) + 1;
    if (run.length > 0 && size + itemBytes > maxBytes) {
      runs.push(run);
      run = [];
      size = 0;
    }
    run.push(json);
    size += itemBytes;
  }
  if (run.length > 0) runs.push(run);
  return runs;
}

/**
 * `JSON.stringify(message)` with its array fields filled from JSON already made: the rows were
 * serialised once to size the runs, and a message is their concatenation, byte for byte what
 * stringifying the whole message would give (the arrays are its last fields).
 */
function messageJson(head: Record<string, unknown>, arrays: Array<[field: string, itemJson: string[]]>): string {
  const open = JSON.stringify(head).slice(0, -1);
  const fields = arrays.map(([field, items]) => `${JSON.stringify(field)}:[${items.join(',')}]`).join(',');
  return `${open}${open.endsWith('{') ? '' : ','}${fields}}`;
}

/** Early rows, split to stay under the message size limit. `rowJson`: each row's JSON, when the caller has it already. */
export function windowRowsMessages(
  base: Omit<WindowRowsMessage, 'type' | 'rows'>,
  rows: readonly WindowRow[],
  maxBytes = MAX_MESSAGE_BYTES,
  rowJson: readonly string[] = rows.map((row) => JSON.stringify(row)),
): OutgoingMessage[] {
  return packBySize(rowJson, maxBytes).map((run) => ({
    key: aggregatesKey(base.group, base.source_partition),
    value: Buffer.from(messageJson({ type: 'viewer_window_rows', ...base }, [['rows', run]])),
  }));
}

/** The source partition's progress, published last in an emission (after the rows it vouches for). */
export function watermarkMessage(message: Omit<WatermarkMessage, 'type'>): OutgoingMessage {
  return {
    key: aggregatesKey(message.group, message.source_partition),
    value: Buffer.from(JSON.stringify({ type: 'viewer_watermark', ...message })),
  };
}

/**
 * A closed window as deterministic chunks: rows first, then views, each sorted by the caller and
 * packed greedily by size. The same input always yields the same chunks.
 */
export function windowFinalMessages(
  base: Omit<WindowFinalMessage, 'type' | 'rows' | 'views' | 'chunk' | 'chunks'>,
  rows: readonly WindowRow[],
  views: readonly ViewSummary[],
  maxBytes = MAX_MESSAGE_BYTES,
): OutgoingMessage[] {
  // Sized as `{"row":…}` and `{"view":…}` items, as the chunks have always been cut (a replay must cut them the same).
  const items = [
    ...rows.map((row) => `{"row":${JSON.stringify(row)}}`),
    ...views.map((view) => `{"view":${JSON.stringify(view)}}`),
  ];
  const runs = packBySize(items, maxBytes);
  return runs.map((run, chunk) => {
    const runRows: string[] = [];
    const runViews: string[] = [];
    for (const item of run) {
      if (item.startsWith('{"row":')) runRows.push(item.slice(7, -1));
      else runViews.push(item.slice(8, -1));
    }
    const head: Omit<WindowFinalMessage, 'rows' | 'views'> = {
      type: 'viewer_window_final',
      ...base,
      chunk,
      chunks: runs.length,
    };
    return {
      key: aggregatesKey(base.group, base.source_partition),
      value: Buffer.from(
        messageJson(head, [
          ['rows', runRows],
          ['views', runViews],
        ]),
      ),
    };
  });
}
