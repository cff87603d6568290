import { clickHouseStat, type BoardSpec, type PanelSpec } from './board-model.ts';

/**
 * The pipeline's health from the services' Prometheus metrics (core/metrics.ts, `livepulse_*`),
 * plus how fresh ClickHouse is. Every metric named here is checked against the running
 * services' registry in the boards' integration test.
 */
const RATE = '[$__rate_interval]';

const prometheus = (
  title: string,
  description: string,
  unit: string,
  queries: Array<[expr: string, legend: string]>,
  width = 8,
): PanelSpec => ({
  title,
  description,
  kind: 'timeseries',
  unit,
  width,
  height: 8,
  targets: queries.map(([expr, legend]) => ({ source: 'prometheus', expr, legend })),
});

const p95 = (histogram: string, by: string) =>
  `histogram_quantile(0.95, sum by (le${by ? `, ${by}` : ''}) (rate(${histogram}_bucket${RATE})))`;

const freshness = (title: string, description: string, sql: string, column: string): PanelSpec =>
  clickHouseStat(title, description, sql, column, { unit: 's' });

export const pipelineHealth: BoardSpec = {
  uid: 'livepulse-pipeline',
  file: 'pipeline-health.json',
  title: 'Livepulse / Pipeline health',
  description:
    'Lag, throughput, dead letters, errors and latency of the collector, processors, sinks, chat and clip worker.',
  tags: ['livepulse', 'operations'],
  refresh: '30s',
  time: { from: 'now-1h', to: 'now' },
  variables: [],
  annotations: [],
  rows: [
    {
      title: 'Consumer lag',
      panels: [
        prometheus(
          'Consumer lag',
          "Messages each consumer group has yet to read, per topic (every member reports its group's offsets, so the max per partition is taken).",
          'short',
          [
            [
              'sum by (group, topic) (max by (group, topic, partition) (livepulse_bus_consumer_lag_messages))',
              '{{group}} {{topic}}',
            ],
          ],
          24,
        ),
      ],
    },
    {
      title: 'Lag and freshness',
      panels: [
        prometheus(
          'Watermark lag',
          "Wall clock minus each partition's event-time watermark in the viewer-analytics processor.",
          's',
          [['max by (partition) (livepulse_viewer_analytics_watermark_lag_seconds)', 'partition {{partition}}']],
          12,
        ),
        freshness(
          'Newest window row',
          'Seconds since the newest viewer window row was emitted into ClickHouse.',
          "SELECT dateDiff('second', max(emitted_at), now64(3)) AS seconds_since_last_window FROM viewer_windows WHERE $__timeFilter(window_start)",
          'seconds_since_last_window',
        ),
        freshness(
          'Newest chat message',
          'Seconds since the newest chat message stored in ClickHouse was sent.',
          "SELECT dateDiff('second', max(sent_at), now64(3)) AS seconds_since_last_message FROM chat_messages WHERE $__timeFilter(sent_at)",
          'seconds_since_last_message',
        ),
      ],
    },
    {
      title: 'Throughput',
      panels: [
        prometheus('Collector', 'Events the collector stored on the bus, per second.', 'ops', [
          [`sum by (source) (rate(livepulse_ingest_events_accepted_total${RATE}))`, '{{source}}'],
        ]),
        prometheus('Viewer analytics', 'Player events the processor handled, per second, by outcome.', 'ops', [
          [`sum by (outcome) (rate(livepulse_viewer_analytics_events_total${RATE}))`, '{{outcome}}'],
        ]),
        prometheus('Sinks', 'Rows written per second, by sink and table.', 'ops', [
          [`sum by (sink, table) (rate(livepulse_sink_rows_written_total${RATE}))`, '{{sink}} {{table}}'],
        ]),
        prometheus('Chat', 'Chat messages accepted per second, by heuristic decision.', 'ops', [
          [`sum by (decision) (rate(livepulse_chat_messages_total${RATE}))`, '{{decision}}'],
        ]),
        prometheus('Highlights and clips', 'Highlights published and clip events, per second.', 'ops', [
          [`sum by (trigger) (rate(livepulse_highlights_detected_total${RATE}))`, 'highlight {{trigger}}'],
          [`sum by (status) (rate(livepulse_clip_events_total${RATE}))`, 'clip {{status}}'],
        ]),
        prometheus('Windows closed', 'Final window results published per second.', 'ops', [
          [`sum(rate(livepulse_viewer_analytics_windows_closed_total${RATE}))`, 'windows'],
        ]),
      ],
    },
    {
      title: 'Dead letters and errors',
      panels: [
        prometheus(
          'Dead letters',
          'Input kept on dead-letters instead of processed, per second.',
          'ops',
          [
            [`sum by (source) (rate(livepulse_ingest_dead_letters_total${RATE}))`, 'collector {{source}}'],
            [
              `sum by (reason) (rate(livepulse_viewer_analytics_side_output_total${RATE}))`,
              'viewer analytics {{reason}}',
            ],
            [`sum by (sink) (rate(livepulse_sink_invalid_messages_total${RATE}))`, 'sink {{sink}}'],
          ],
          6,
        ),
        prometheus(
          'Rejected',
          'Events and chat messages refused, per second, by reason.',
          'ops',
          [
            [`sum by (reason) (rate(livepulse_ingest_events_rejected_total${RATE}))`, 'collector {{reason}}'],
            [`sum by (reason) (rate(livepulse_chat_rejections_total${RATE}))`, 'chat {{reason}}'],
          ],
          6,
        ),
        prometheus(
          'Quarantined',
          'Messages a consumer group could not handle after its retries, moved to dead-letters so the partition goes on (docs/operations.md, "Quarantine"); and failed batch runs by kind: transient ones wait for the dependency, deterministic ones are retried, then quarantined.',
          'short',
          [
            [
              `sum by (group, topic) (increase(livepulse_bus_quarantined_messages_total${RATE}))`,
              'quarantined {{group}} {{topic}}',
            ],
            [
              `sum by (group, kind) (increase(livepulse_bus_handler_failures_total${RATE}))`,
              'failed {{kind}} {{group}}',
            ],
          ],
          6,
        ),
        prometheus(
          'Errors',
          'Collector 5xx answers, failed bus publishes from chat, and failed clip job attempts, per second.',
          'ops',
          [
            [`sum by (route) (rate(livepulse_ingest_requests_total{status=~"5.."}${RATE}))`, 'collector 5xx {{route}}'],
            [`sum by (topic) (rate(livepulse_chat_publish_failures_total${RATE}))`, 'chat publish {{topic}}'],
            [
              `sum by (outcome) (rate(livepulse_clip_job_attempts_total{outcome=~"retried|failed"}${RATE}))`,
              'clip job {{outcome}}',
            ],
          ],
          6,
        ),
      ],
    },
    {
      title: 'Dead letters in ClickHouse',
      panels: [
        {
          title: 'Dead letters by source and reason',
          description:
            'What the clickhouse-sink copied from the dead-letters topic in the time range (newest first); replay from the topic (docs/operations.md).',
          kind: 'table',
          width: 24,
          height: 8,
          targets: [
            {
              source: 'clickhouse',
              format: 'table',
              sql: 'SELECT topic AS source_topic, substring(reason, 1, 200) AS reason_text, count() AS letters, max(failed_at) AS last_failed_at FROM dead_letters WHERE $__timeFilter(failed_at) GROUP BY source_topic, reason_text ORDER BY last_failed_at DESC LIMIT 50',
              columns: { source_topic: 'string', reason_text: 'string', letters: 'number', last_failed_at: 'time' },
            },
          ],
        },
      ],
    },
    {
      title: 'Latency (p95)',
      panels: [
        prometheus(
          'Collector requests',
          '95th percentile request time by route.',
          's',
          [[p95('livepulse_ingest_request_duration_seconds', 'route'), '{{route}}']],
          6,
        ),
        prometheus(
          'Bus publish',
          '95th percentile time until the bus acknowledged a collector publish.',
          's',
          [[p95('livepulse_ingest_bus_publish_duration_seconds', 'topic'), '{{topic}}']],
          6,
        ),
        prometheus(
          'Processor batches',
          '95th percentile time to handle one viewer-analytics batch, state included.',
          's',
          [[p95('livepulse_viewer_analytics_batch_seconds', ''), 'viewer analytics']],
          6,
        ),
        prometheus(
          'Sink batches',
          '95th percentile time to write one bus batch, by sink.',
          's',
          [[p95('livepulse_sink_batch_seconds', 'sink'), '{{sink}}']],
          6,
        ),
      ],
    },
  ],
};
