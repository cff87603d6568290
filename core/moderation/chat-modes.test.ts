import { describe, expect, it } from 'vitest';
import { defaultChannelSettings, type ChatModes } from './channel-settings.ts';
import { isNearDuplicate, modeRejection, similarity, uniqueChatFingerprint, type ChatSender } from './chat-modes.ts';
import { foldForMatching } from './text-folding.ts';

const NOW = 1_800_000_000_000;
const base = defaultChannelSettings({ anonymousViewers: true }).modes;
const viewer: ChatSender = { privileged: false, subscriber: false };

describe('modeRejection', () => {
  it.each([
    ['no modes', {}, viewer, 'hi', null],
    ['subscribers-only, not a subscriber', { subscribers_only: true }, viewer, 'hi', 'subscribers_only'],
    ['subscribers-only, a subscriber', { subscribers_only: true }, { ...viewer, subscriber: true }, 'hi', null],
    ['followers-only, not following', { followers_only_minutes: 0 }, viewer, 'hi', 'followers_only'],
    [
      'followers-only, following too briefly',
      { followers_only_minutes: 10 },
      { ...viewer, followedAt: NOW - 5 * 60_000 },
      'hi',
      'followers_only',
    ],
    [
      'followers-only, following long enough',
      { followers_only_minutes: 10 },
      { ...viewer, followedAt: NOW - 11 * 60_000 },
      'hi',
      null,
    ],
    ['emote-only, words', { emote_only: true }, viewer, 'hi 🔥', 'emote_only'],
    ['emote-only, emotes', { emote_only: true }, viewer, '🔥 Kappa', null],
    [
      'moderators are exempt',
      { subscribers_only: true, emote_only: true },
      { ...viewer, privileged: true },
      'hi',
      null,
    ],
  ] as Array<[string, Partial<ChatModes>, ChatSender, string, string | null]>)(
    '%s',
    (_name, modes, sender, text, expected) => {
      expect(modeRejection({ ...base, ...modes }, sender, text, new Set(['Kappa']), NOW)).toBe(expected);
    },
  );
});

describe('unique chat and duplicates', () => {
  it('gives every spelling of a message the same fingerprint', () => {
    const prints = ['HELLO there!!', 'hello  there', 'h e l l o there', 'heeello there'].map((t) =>
      uniqueChatFingerprint(foldForMatching(t)),
    );
    expect(new Set(prints).size).toBe(1);
    expect(uniqueChatFingerprint(foldForMatching('hello where'))).not.toBe(prints[0]);
  });

  it.each([
    ['identical', 'buy my stuff', 'buy my stuff', 1],
    ['too short', 'a', 'a b', 0],
  ])('similarity of %s texts', (_name, a, b, expected) => {
    expect(similarity(a, b)).toBe(expected);
  });

  it('scores unrelated texts low', () => {
    expect(similarity('good game', 'what camera')).toBeLessThan(0.3);
  });

  it('catches near-copies with a character added', () => {
    expect(
      isNearDuplicate('follow my channel for free stuff now', [
        'follow my channel for free stuff now!'.replace('!', ' x'),
      ]),
    ).toBe(true);
    expect(isNearDuplicate('follow my channel', ['what a great game'])).toBe(false);
  });
});
