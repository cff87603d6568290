import type { Metrics } from '../core/metrics.ts';

/** The gateway's Prometheus metrics, declared once. */
export function chatMetrics(metrics: Metrics) {
  return {
    messages: metrics.counter('chat_messages_total', 'Chat messages accepted, by heuristic decision', ['decision']),
    rejections: metrics.counter('chat_rejections_total', 'Chat messages and events refused, by reason', ['reason']),
    heldResolved: metrics.counter('chat_held_resolved_total', 'Held messages resolved, by action and by whom', [
      'action',
      'by',
    ]),
    moderatorActions: metrics.counter('chat_moderator_actions_total', 'Moderator actions applied, by action', [
      'action',
    ]),
    aiVerdicts: metrics.counter('chat_ai_verdicts_applied_total', 'AI verdicts the gateway applied, by action', [
      'action',
    ]),
    commands: metrics.counter('chat_commands_total', 'Chat commands run, by command', ['command']),
    staffEvents: metrics.counter(
      'chat_staff_events_total',
      "Prompts and clip events delivered to streams' staff rooms, by event",
      ['event'],
    ),
    promptFeedback: metrics.counter('chat_prompt_feedback_total', 'Host prompt feedback stored, by action', ['action']),
    connections: metrics.gauge('chat_connections', 'Open chat sockets on this node'),
    connectRejections: metrics.counter('chat_connect_rejections_total', 'Chat connections refused, by reason', [
      'reason',
    ]),
    disconnectsForAbuse: metrics.counter('chat_abuse_disconnects_total', 'Sockets dropped for flooding events'),
    publishFailures: metrics.counter('chat_publish_failures_total', 'Bus publishes that failed, by topic', ['topic']),
    heuristicsSeconds: metrics.histogram(
      'chat_heuristics_seconds',
      'Inline heuristics time per message',
      [],
      [0.00001, 0.00005, 0.0001, 0.0005, 0.001, 0.005],
    ),
  };
}

export type ChatMetrics = ReturnType<typeof chatMetrics>;
