import { randomUUID } from 'node:crypto';
import { OpenAI } from 'openai';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { MessageBatch } from '../../core/bus/bus.ts';
import { EmbeddedBus } from '../../core/bus/embedded-bus.ts';
import { MemoryLiveState } from '../../core/live-state/memory-live-state.ts';
import { createLogger } from '../../core/logger.ts';
import { Metrics } from '../../core/metrics.ts';
import { chatVerdictValidator, type ChatMessage } from '../../core/schemas/chat.ts';
import { TOPICS } from '../../core/topics.ts';
import { OpenAiTestServer } from '../../test/fixtures/openai-test-server.ts';
import { AiModerationProcessor, verdictFor } from './ai-moderation-processor.ts';
import { AutoClassifier } from '../../core/ai/auto-classifier.ts';
import { CircuitBreaker } from '../../core/ai/circuit-breaker.ts';
import type { Classification, ContentClassifier } from '../../core/ai/content-classifier.ts';
import { GuardChatClassifier } from '../../core/ai/guard-chat-classifier.ts';
import { MinuteBudget } from '../../core/ai/minute-budget.ts';
import { OpenAiModerationClassifier } from '../../core/ai/openai-moderation-classifier.ts';

const NOW = Date.now();
let offset = 0;
function chat(
  text: string,
  decision: ChatMessage['heuristic_decision'] = 'allow',
  flags: ChatMessage['flags'] = [],
  sentAt = NOW,
): ChatMessage {
  return {
    schema_v: 1,
    message_id: randomUUID(),
    stream_id: 'stream-1',
    user_id: 'u1',
    display_name: 'U',
    text,
    sent_at: sentAt,
    heuristic_decision: decision,
    flags,
  };
}
function batch(...records: Array<ChatMessage | string>): MessageBatch {
  const first = offset;
  const messages = records.map((record) => ({
    topic: TOPICS.chatMessages,
    partition: 0,
    offset: String(offset++),
    key: 'stream-1',
    value: Buffer.from(typeof record === 'string' ? record : JSON.stringify(record)),
    headers: {},
    timestamp: NOW,
  }));
  return {
    topic: TOPICS.chatMessages,
    partition: 0,
    messages,
    firstOffset: String(first),
    lastOffset: String(offset - 1),
  };
}

let server: OpenAiTestServer;
const buses: EmbeddedBus[] = [];

beforeAll(async () => {
  server = await OpenAiTestServer.start({ apiKey: 'sk-test' });
});
afterEach(async () => {
  await Promise.all(buses.splice(0).map((b) => b.close()));
});
afterAll(async () => {
  await server.close();
});

function setup(
  options: {
    classifier?: (client: OpenAI) => ContentClassifier;
    budget?: number;
    timeoutMs?: number;
    maxRetries?: number;
    failureThreshold?: number;
  } = {},
) {
  const client = new OpenAI({
    apiKey: 'sk-test',
    baseURL: server.url,
    timeout: options.timeoutMs ?? 2_000,
    maxRetries: options.maxRetries ?? 0,
  });
  const bus = new EmbeddedBus({
    defaultPartitions: 1,
    maxRetainedMessages: 10_000,
    publish: { lingerMs: 0, maxBatchMessages: 100, maxBufferedMessages: 10_000 },
  });
  buses.push(bus);
  const metrics = new Metrics();
  const breaker = new CircuitBreaker({ failureThreshold: options.failureThreshold ?? 3, cooldownMs: 60_000 });
  const processor = new AiModerationProcessor({
    bus,
    classifier: options.classifier?.(client) ?? new OpenAiModerationClassifier(client, 'omni-moderation-latest'),
    breaker,
    budget: new MinuteBudget(new MemoryLiveState(), options.budget ?? 1_000, `budget-${randomUUID()}`),
    batchSize: 32,
    holdTimeoutMs: 60_000,
    metrics,
    logger: createLogger('silent'),
  });
  const outcome = async (name: string) =>
    (await metrics.registry.getSingleMetric('livepulse_ai_moderation_messages_total')!.get()).values.find(
      (v) => v.labels.outcome === name,
    )?.value ?? 0;
  return { processor, bus, breaker, outcome };
}

describe('verdictFor', () => {
  const flagged = { flagged: true, categories: [{ name: 'harassment', score: 0.93 }] };
  const clean = { flagged: false, categories: [] };
  const only = (name: string): Classification => ({ flagged: true, categories: [{ name, score: 0.8 }] });
  it.each([
    ['a delivered message the AI flags is removed', chat('x'), flagged, 'remove'],
    ['a delivered clean message needs nothing', chat('x'), clean, null],
    [
      'a held message the AI flags is denied',
      chat('x', 'hold', [{ category: 'aggression.threat', score: 1 }]),
      flagged,
      'deny',
    ],
    [
      'a held message the AI clears is released',
      chat('x', 'hold', [{ category: 'aggression.threat', score: 1 }]),
      clean,
      'release',
    ],
    [
      'a held message flagged only for a category no chat policy has is released',
      chat('x', 'hold', [{ category: 'identity.classifier', score: 0.75 }]),
      only('illicit'),
      'release',
    ],
    ['a delivered message flagged only for illicit content stays', chat('x'), only('illicit'), null],
    [
      'a held message the guard model calls hate is denied',
      chat('x', 'hold', [{ category: 'identity.classifier', score: 0.75 }]),
      only('hate'),
      'deny',
    ],
    [
      'a message held for a link waits for a moderator',
      chat('x', 'hold', [{ category: 'spam.links', score: 0.75 }]),
      clean,
      null,
    ],
    [
      'a message held for a blocked term waits for a moderator',
      chat('x', 'hold', [
        { category: 'terms.hold', score: 1 },
        { category: 'profanity.word', score: 0.25 },
      ]),
      clean,
      null,
    ],
  ] as const)('%s', (_name, message, result, action) => {
    expect(verdictFor(message, result)?.action ?? null).toBe(action);
  });
});

describe('AiModerationProcessor with the OpenAI SDK against a local server', () => {
  it('classifies a batch in one /moderations request with array input and publishes verdicts', async () => {
    const { processor, bus } = setup();
    const delivered = chat('you idiot');
    const fine = chat('great stream');
    const heldThreat = chat('i will find you', 'hold', [{ category: 'aggression.threat', score: 1 }]);
    const heldHate = chat('i hate you so much', 'hold', [{ category: 'aggression.insult', score: 0.5 }]);
    const blocked = chat('blocked already', 'block', [{ category: 'identity.slur', score: 1 }]);
    const before = server.requestsTo('moderations').length;
    const verdicts = await processor.handleBatch(batch(delivered, fine, heldThreat, heldHate, blocked), NOW);

    const requests = server.requestsTo('moderations').slice(before);
    expect(requests).toHaveLength(1);
    // Held messages are classified first; blocked ones not at all.
    expect(requests[0]!.body).toEqual({
      model: 'omni-moderation-latest',
      input: ['i will find you', 'i hate you so much', 'you idiot', 'great stream'],
    });
    expect(verdicts.map((v) => [v.message_id, v.action])).toEqual([
      [heldThreat.message_id, 'release'],
      [heldHate.message_id, 'deny'],
      [delivered.message_id, 'remove'],
    ]);
    for (const v of verdicts) expect(chatVerdictValidator.check(v)).toBe(true);
    expect(verdicts[2]).toMatchObject({
      source: 'ai',
      actor_id: 'omni-moderation-latest',
      reason: 'AI: harassment',
      flags: [{ category: 'ai.harassment', score: 0.9 }],
      target_user_id: 'u1',
    });

    const published: unknown[] = [];
    const subscription = await bus.subscribe({
      groupId: 'check',
      topics: [TOPICS.chatVerdicts],
      handleBatch: (b) => {
        published.push(...b.messages);
        return Promise.resolve();
      },
    });
    await expect.poll(() => published.length).toBe(3);
    await subscription.stop();
  });

  it('retries a failed request (the SDK backs off) and then succeeds', async () => {
    const { processor } = setup({ maxRetries: 2 });
    server.failNext('moderations', { status: 500 }, { status: 429, headers: { 'retry-after-ms': '10' } });
    const before = server.requestsTo('moderations').length;
    const verdicts = await processor.handleBatch(batch(chat('you idiot')), NOW);
    expect(server.requestsTo('moderations').length - before).toBe(3);
    expect(verdicts.map((v) => v.action)).toEqual(['remove']);
  });

  it('gives up on a request past its timeout: no verdict, the heuristics stand, the batch completes', async () => {
    const { processor, outcome } = setup({ timeoutMs: 300 });
    server.failNext('moderations', { hang: true });
    const started = Date.now();
    expect(await processor.handleBatch(batch(chat('you idiot')), NOW)).toEqual([]);
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(await outcome('skipped_error')).toBe(1);
  });

  it('opens the circuit after repeated failures and stops calling the server', async () => {
    const { processor, breaker, outcome } = setup({ failureThreshold: 2 });
    server.failNext('moderations', { status: 503 }, { status: 503 });
    await processor.handleBatch(batch(chat('a')), NOW);
    await processor.handleBatch(batch(chat('b')), NOW);
    expect(breaker.state).toBe('open');
    const before = server.requestsTo('moderations').length;
    expect(await processor.handleBatch(batch(chat('you idiot'), chat('c')), NOW)).toEqual([]);
    expect(server.requestsTo('moderations').length).toBe(before);
    expect(await outcome('skipped_circuit_open')).toBe(2);
  });

  it('keeps to the per-minute budget, held messages first', async () => {
    const { processor, outcome } = setup({ budget: 2 });
    // The budget counts per calendar minute: both batches must fall in the same one.
    const at = Math.floor(NOW / 60_000) * 60_000 + 1_000;
    const held = chat('i will find you', 'hold', [{ category: 'aggression.threat', score: 1 }], at);
    const before = server.requestsTo('moderations').length;
    await processor.handleBatch(batch(chat('one', 'allow', [], at), chat('two', 'allow', [], at), held), at);
    expect((server.requestsTo('moderations')[before]!.body as { input: string[] }).input).toEqual([
      'i will find you',
      'one',
    ]);
    expect(await processor.handleBatch(batch(chat('three', 'allow', [], at + 1_000)), at + 1_000)).toEqual([]);
    expect(await outcome('skipped_budget')).toBe(2);
  });

  it('skips stale messages and dead-letters invalid records', async () => {
    const { processor, bus, outcome } = setup();
    const before = server.requestsTo('moderations').length;
    await processor.handleBatch(
      batch(
        chat('old', 'allow', [], NOW - 10 * 60_000),
        chat('held too long', 'hold', [], NOW - 2 * 60_000),
        '{not json',
        JSON.stringify({ schema_v: 1 }),
      ),
      NOW,
    );
    expect(server.requestsTo('moderations').length).toBe(before);
    expect(await outcome('skipped_stale')).toBe(2);
    const letters: string[] = [];
    const subscription = await bus.subscribe({
      groupId: 'dl',
      topics: [TOPICS.deadLetters],
      handleBatch: (b) => {
        letters.push(...b.messages.map((m) => m.headers['x-reason']!));
        return Promise.resolve();
      },
    });
    await expect.poll(() => letters).toEqual(['chat message is invalid', 'chat message is invalid']);
    await subscription.stop();
  });

  it('falls back to a guard model over chat completions when the server has no /moderations', async () => {
    const ollama = await OpenAiTestServer.start({ moderations: false });
    ollama.onChatCompletion((request) =>
      String(request.messages.at(-1)?.content).includes('idiot') ? 'unsafe\nS15' : 'safe',
    );
    try {
      const client = new OpenAI({ apiKey: 'ollama', baseURL: ollama.url, maxRetries: 0 });
      const auto = new AutoClassifier(
        new OpenAiModerationClassifier(client, 'omni-moderation-latest'),
        new GuardChatClassifier(client, 'llama-guard3:1b', 4),
        createLogger('silent'),
      );
      const { processor } = setup({ classifier: () => auto });
      const verdicts = await processor.handleBatch(batch(chat('you idiot'), chat('hello')), NOW);
      expect(verdicts).toMatchObject([
        { action: 'remove', actor_id: 'llama-guard3:1b', flags: [{ category: 'ai.harassment', score: 1 }] },
      ]);
      expect(ollama.requestsTo('moderations')).toHaveLength(1);
      expect(ollama.requestsTo('chat')).toHaveLength(2);
      await processor.handleBatch(batch(chat('again')), NOW);
      expect(ollama.requestsTo('moderations')).toHaveLength(1);
      expect(auto.kind).toBe('guard-chat');
    } finally {
      await ollama.close();
    }
  });
});
