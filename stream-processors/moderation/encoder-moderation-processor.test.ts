import { describe, expect, it } from 'vitest';
import { encoderAction } from './encoder-moderation-processor.ts';

describe('encoderAction', () => {
  it.each([
    ['delivered, flagged: removed from every screen', 'allow', [], true, 'remove'],
    ['delivered, not flagged: stands', 'allow', [], false, null],
    ['delivered with a finding the channel allows, flagged: removed', 'allow', ['profanity.word'], true, 'remove'],
    ['held by the n-gram model alone, cleared: released', 'hold', ['identity.classifier'], false, 'release'],
    [
      'held by the n-gram model alone, flagged: waits for the AI or a moderator',
      'hold',
      ['identity.classifier'],
      true,
      null,
    ],
    [
      'held by a rule and the n-gram model, cleared: the rule still holds it',
      'hold',
      ['identity.classifier', 'aggression.targeted_threat'],
      false,
      null,
    ],
    ['held for a link, cleared: waits for a moderator', 'hold', ['spam.links'], false, null],
    ['blocked: never touched', 'block', ['identity.slur'], true, null],
  ] as const)('%s', (_name, decision, rules, flagged, action) => {
    expect(encoderAction(decision, rules, flagged)).toBe(action);
  });
});
