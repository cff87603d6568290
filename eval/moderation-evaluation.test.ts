import { OpenAI } from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GuardChatClassifier } from '../core/ai/guard-chat-classifier.ts';
import { OpenAiModerationClassifier } from '../core/ai/openai-moderation-classifier.ts';
import { OpenAiTestServer } from '../test/fixtures/openai-test-server.ts';
import { CsvColumnError, labeledCsv } from './labeled-datasets.ts';
import { evaluate } from './moderation.eval.ts';
import { combinedWithAi, figures, localFlags } from './moderation-layers.ts';

const CSV = [
  'message,verdict,kind',
  '"we should wipe them all out",hateful,threat',
  '"people like her don\'t deserve to live",hateful,threat',
  '"jews are greedy and control the banks",hateful,stereotype',
  '"great stream, what keyboard is that?",fine,chat',
  '"nobody should ever be hurt for who they are",fine,counter',
  '"whoever says they would hurt her should be punished",fine,counter',
  '"",fine,empty',
].join('\n');
const labeling = { textColumn: 'message', labelColumn: 'verdict', positiveLabel: 'hateful', categoryColumn: 'kind' };

describe('labeledCsv', () => {
  it('reads an operator CSV by column names, skipping empty texts', () => {
    const rows = labeledCsv(CSV, labeling);
    expect(rows).toHaveLength(6);
    expect(rows[0]).toEqual({ text: 'we should wipe them all out', positive: true, category: 'data/threat' });
    expect(rows.filter((r) => r.positive)).toHaveLength(3);
  });

  it('names a missing column and the ones there are', () => {
    expect(() => labeledCsv(CSV, { ...labeling, labelColumn: 'label' })).toThrow(CsvColumnError);
    expect(() => labeledCsv(CSV, { ...labeling, labelColumn: 'label' })).toThrow(
      /no column "label"; its columns are "message", "verdict", "kind"/,
    );
  });
});

describe('figures and the local + AI combination', () => {
  it.each([
    [[true, true, false, false], [true, false, true, false], { recall: 0.5, fpr: 0.5, precision: 0.5 }],
    [[true, false], [false, false], { recall: 0, fpr: 0, precision: 0 }],
  ])('positives %j flagged %j', (positive, flagged, expected) => {
    const rows = positive.map((p) => ({ text: 'x', positive: p, category: 'c' }));
    expect(figures(rows, flagged)).toMatchObject(expected);
  });

  const outcome = (decision: 'allow' | 'hold' | 'block', rules: string[]) => ({
    decision,
    findings: [],
    deciding: rules.map((rule) => ({ rule, severity: 3 as const })),
    folded: '',
  });
  it.each([
    ['blocked stays blocked', outcome('block', ['identity.slur']), false, true],
    ['held by the classifier, AI clears: released', outcome('hold', ['identity.classifier']), false, false],
    ['held by the classifier, AI flags: denied', outcome('hold', ['identity.classifier']), true, true],
    ['held for a link, AI clears: waits for a moderator', outcome('hold', ['spam.links']), false, true],
    ['delivered, AI flags: removed', outcome('allow', []), true, true],
  ])('%s', (_name, local, ai, flagged) => {
    expect(combinedWithAi(local, ai)).toBe(flagged);
  });
});

describe('localFlags', () => {
  it.each([
    // Held in chat by the channel's content filters, but no verdict of hate.
    ['they sell dildos at that shop', false],
    ['the rape trial starts on monday', false],
    // Slurs, threats and implicit hate are.
    ['kikes', true],
    ['i will kill you', true],
    ['we should wipe them all out', true],
  ])('%j is a hate verdict of the inline layers: %s', async (text, flagged) => {
    expect((await localFlags([{ text, positive: flagged, category: 'c' }])).flags.local).toEqual([flagged]);
  });
});

describe('evaluate', () => {
  let server: OpenAiTestServer;
  beforeAll(async () => {
    server = await OpenAiTestServer.start({ apiKey: 'sk-eval', flagWords: ['wipe', 'greedy', 'deserve to live'] });
    server.onChatCompletion((request) =>
      /wipe|live|greedy/.test(String(request.messages.at(-1)?.content)) ? 'unsafe\nS10' : 'safe',
    );
  });
  afterAll(async () => {
    await server.close();
  });

  it('reports every local layer, the trap shares and, last, a JSON-ready summary', async () => {
    const { lines, summary } = await evaluate(labeledCsv(CSV, labeling), { title: 'operator set' });
    expect(lines[0]).toBe('## operator set (6 rows, 3 hateful)');
    expect(summary).toMatchObject({
      rows: 6,
      layers: { rules: { recall: 0.6667 }, local: { recall: 1, fpr: 0, precision: 1 } },
    });
    expect(Object.keys(summary.layers as object)).toEqual(['rules', 'classifier', 'local', 'encoder', 'local+encoder']);
  });

  it.each([
    ['openai', (client: OpenAI) => new OpenAiModerationClassifier(client, 'omni-moderation-latest'), 'moderations'],
    ['chat', (client: OpenAI) => new GuardChatClassifier(client, 'llama-guard3:1b', 2), 'chat'],
  ] as const)('measures the %s backend through the real SDK against the local server', async (_name, make, route) => {
    const client = new OpenAI({ apiKey: 'sk-eval', baseURL: server.url, maxRetries: 0 });
    const before = server.requestsTo(route).length;
    const { summary } = await evaluate(labeledCsv(CSV, labeling), { title: 'with AI', ai: make(client), aiSample: 6 });
    expect(server.requestsTo(route).length).toBeGreaterThan(before);
    expect(summary.ai_sample).toMatchObject({
      rows: 6,
      layers: { ai: { recall: expect.any(Number) as unknown }, 'local+ai': { recall: 1, fpr: 0 } },
    });
  });
});
