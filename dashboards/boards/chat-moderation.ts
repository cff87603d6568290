import { clickHouseStat, clickHouseTable, type BoardSpec } from './board-model.ts';
import { creatorVariable, STREAM_SCOPE, streamsVariable } from './scope-filters.ts';

/** Chat and its moderation: the message log (chat_messages) and the audit log (chat_moderation_events), read FINAL so a replayed batch counts once. */
const MESSAGES = `FROM chat_messages FINAL WHERE $__timeFilter(sent_at) AND ${STREAM_SCOPE}`;
const VERDICTS = `FROM chat_moderation_events FINAL WHERE $__timeFilter(decided_at) AND ${STREAM_SCOPE}`;

export const chatModeration: BoardSpec = {
  uid: 'livepulse-chat-moderation',
  file: 'chat-moderation.json',
  title: 'Livepulse / Chat and moderation',
  description:
    'Chat velocity and chatters, what the heuristics held or blocked, moderator and AI actions, and the audit log.',
  tags: ['livepulse', 'live', 'moderation'],
  refresh: '5s',
  time: { from: 'now-1h', to: 'now' },
  variables: [creatorVariable, streamsVariable],
  annotations: [],
  rows: [
    {
      title: 'Totals',
      panels: [
        clickHouseStat('Messages', 'Chat messages accepted.', `SELECT count() AS messages ${MESSAGES}`, 'messages'),
        clickHouseStat(
          'Chatters',
          'Distinct users who sent a message.',
          `SELECT uniqExact(user_id) AS chatters ${MESSAGES}`,
          'chatters',
        ),
        clickHouseStat(
          'Held or blocked',
          'Messages the inline heuristics did not allow at once.',
          `SELECT countIf(heuristic_decision != 'allow') AS held_or_blocked ${MESSAGES}`,
          'held_or_blocked',
        ),
        clickHouseStat(
          'Moderation actions',
          'Verdicts and moderator actions.',
          `SELECT count() AS actions ${VERDICTS}`,
          'actions',
        ),
      ],
    },
    {
      title: 'Over time',
      panels: [
        {
          title: 'Messages per minute by heuristic decision',
          description: 'allow, hold or block, as the gateway decided inline.',
          kind: 'timeseries',
          unit: 'short',
          width: 12,
          height: 8,
          minInterval: '10s',
          stackedBars: true,
          targets: [
            {
              source: 'clickhouse',
              format: 'time_series',
              sql: `SELECT $__timeInterval(sent_at) AS time, toString(heuristic_decision) AS decision, count() * 60 / ($__interval_s) AS messages_per_minute
${MESSAGES}
GROUP BY time, decision ORDER BY time, decision`,
              columns: { time: 'time', decision: 'string', messages_per_minute: 'number' },
            },
          ],
        },
        {
          title: 'Chatters',
          description: 'Distinct users sending messages in each interval.',
          kind: 'timeseries',
          unit: 'short',
          width: 12,
          height: 8,
          minInterval: '10s',
          targets: [
            {
              source: 'clickhouse',
              format: 'time_series',
              sql: `SELECT $__timeInterval(sent_at) AS time, uniqExact(user_id) AS chatters
${MESSAGES}
GROUP BY time ORDER BY time`,
              columns: { time: 'time', chatters: 'number' },
            },
          ],
        },
        {
          title: 'Moderation actions by source',
          description: 'What moderators, the heuristics and the AI stage did, by action.',
          kind: 'timeseries',
          unit: 'short',
          width: 24,
          height: 8,
          minInterval: '10s',
          stackedBars: true,
          targets: [
            {
              source: 'clickhouse',
              format: 'time_series',
              sql: `SELECT $__timeInterval(decided_at) AS time, concat(toString(source), ': ', toString(action)) AS action, count() AS actions
${VERDICTS}
GROUP BY time, action ORDER BY time, action`,
              columns: { time: 'time', action: 'string', actions: 'number' },
            },
          ],
        },
      ],
    },
    {
      title: 'Details',
      panels: [
        clickHouseTable(
          'Flagged categories',
          'Rule and classifier categories that fired on messages.',
          `SELECT category, count() AS messages
FROM chat_messages FINAL ARRAY JOIN flag_categories AS category
WHERE $__timeFilter(sent_at) AND ${STREAM_SCOPE}
GROUP BY category ORDER BY messages DESC, category LIMIT 20`,
          { category: 'string', messages: 'number' },
          8,
        ),
        clickHouseTable(
          'Top chatters',
          'Users with the most messages.',
          `SELECT user_id, any(display_name) AS display_name, count() AS messages
${MESSAGES}
GROUP BY user_id ORDER BY messages DESC, user_id LIMIT 20`,
          { user_id: 'string', display_name: 'string', messages: 'number' },
          8,
        ),
        clickHouseTable(
          'Moderation audit log',
          'Every verdict and action, newest first: who, what, when, why.',
          `SELECT decided_at AS time, stream_id, toString(source) AS source, toString(action) AS action, actor_id, target_user_id, message_id, reason, duration_ms / 1000 AS duration_s
${VERDICTS}
ORDER BY decided_at DESC LIMIT 200`,
          {
            time: 'time',
            stream_id: 'string',
            source: 'string',
            action: 'string',
            actor_id: 'string',
            target_user_id: 'string',
            message_id: 'string',
            reason: 'string',
            duration_s: 'number',
          },
          8,
        ),
      ],
    },
  ],
};
