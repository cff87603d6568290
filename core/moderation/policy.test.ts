import { describe, expect, it } from 'vitest';
import type { CategoryLevels } from './channel-settings.ts';
import type { Severity } from './findings.ts';
import { actionFor, decide } from './policy.ts';

describe('actionFor', () => {
  // Rows: level 0–4; columns: severity 1–4.
  it.each([
    [0, ['allow', 'allow', 'allow', 'allow']],
    [1, ['allow', 'allow', 'allow', 'hold']],
    [2, ['allow', 'allow', 'hold', 'hold']],
    [3, ['allow', 'hold', 'hold', 'block']],
    [4, ['hold', 'hold', 'block', 'block']],
  ] as const)('level %i', (level, expected) => {
    expect(([1, 2, 3, 4] as Severity[]).map((severity) => actionFor(severity, level))).toEqual(expected);
  });
});

describe('decide', () => {
  const levels: CategoryLevels = { identity: 3, sexual: 2, aggression: 2, profanity: 0, spam: 2 };

  it.each([
    ['nothing found', [], 'allow', []],
    ['swearing at profanity level 0', [{ rule: 'profanity.word', severity: 1 }], 'allow', []],
    ['a slur at identity level 3', [{ rule: 'identity.slur', severity: 4 }], 'block', ['identity.slur']],
    ['a link at spam level 2', [{ rule: 'spam.links', severity: 3 }], 'hold', ['spam.links']],
    ['a held blocked term', [{ rule: 'terms.hold', severity: 4 }], 'hold', ['terms.hold']],
    [
      'the strictest finding wins',
      [
        { rule: 'spam.links', severity: 3 },
        { rule: 'terms.block', severity: 4 },
        { rule: 'spam.caps', severity: 3 },
      ],
      'block',
      ['terms.block'],
    ],
    [
      'all findings at the deciding action are reasons',
      [
        { rule: 'spam.links', severity: 3 },
        { rule: 'spam.caps', severity: 3 },
      ],
      'hold',
      ['spam.links', 'spam.caps'],
    ],
    [
      'AI and unknown findings do not decide here',
      [
        { rule: 'ai.harassment', severity: 4 },
        { rule: 'other', severity: 4 },
      ],
      'allow',
      [],
    ],
  ] as const)('%s', (_name, findings, decision, deciding) => {
    const result = decide(findings, levels);
    expect(result.decision).toBe(decision);
    expect(result.deciding.map((f) => f.rule)).toEqual(deciding);
  });
});
