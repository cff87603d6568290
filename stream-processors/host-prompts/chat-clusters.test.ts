import { describe, expect, it } from 'vitest';
import { clusterChat, type WindowMessage } from './chat-clusters.ts';
import { askingSentence, contentTerms, isQuestion } from './question-signals.ts';

const T0 = Date.parse('2026-05-01T20:00:00Z');
let seq = 0;
function msg(user: string, text: string, at = T0 + seq * 1_000): WindowMessage {
  seq++;
  return { messageId: `msg-${seq}`, userId: `user-${user}`, displayName: user.toUpperCase(), text, sentAt: at };
}

describe('isQuestion', () => {
  it.each([
    ['what game is this?', true],
    ['what game is this', true],
    ['how do you aim so well', true],
    ['is the merch store open', true],
    ["what's the song", true],
    ['anyone know the song name', true],
    ['any tips for the boss', true],
    ['pls explain the build', true],
    ['the giveaway is tonight?', true],
    ['??', false],
    ['what', false],
    ['gg well played', false],
    ['this build is insane', false],
    ['!clip what a shot?', false],
    ['', false],
  ])('%j → %s', (text, expected) => {
    expect(isQuestion(text)).toBe(expected);
  });
});

describe('askingSentence and contentTerms', () => {
  it.each([
    ['wow. what time is the giveaway? lol', 'what time is the giveaway?'],
    ['first? second question here?', 'second question here?'],
    ['how do you aim', 'how do you aim'],
  ])('asking sentence of %j is %j', (text, expected) => {
    expect(askingSentence(text)).toBe(expected);
  });

  it('keeps topic words, folded, without stopwords or numbers', () => {
    expect(contentTerms('What is the GIVEAWAY code for 2026??')).toEqual(['giveaway', 'code']);
    expect(contentTerms('is the m3rch store open')).toEqual(['merch', 'store', 'open']);
  });
});

describe('clusterChat', () => {
  it('merges near-duplicate questions and counts each asker once', () => {
    const messages = [
      msg('ana', 'what time is the giveaway?'),
      msg('bo', 'What time is the giveaway??'),
      msg('ana', 'what time is the giveaway'),
      msg('cy', 'when is the giveaway time?'),
      msg('dee', 'what song is this?'),
    ];
    const [giveaway, song] = clusterChat(messages);
    expect(giveaway).toMatchObject({
      kind: 'question',
      uniqueAskers: 3,
      askers: ['ANA', 'BO', 'CY'],
      representative: { text: 'what time is the giveaway?' },
    });
    expect(giveaway!.messages).toHaveLength(4);
    expect(song).toMatchObject({ kind: 'question', uniqueAskers: 1, askers: ['DEE'] });
  });

  it('keeps questions that share one word apart', () => {
    const clusters = clusterChat([msg('a', 'what game is this?'), msg('b', 'what song is this?')]);
    expect(clusters.map((c) => c.representative.text).sort()).toEqual(['what game is this?', 'what song is this?']);
  });

  it.each([
    [
      'three viewers using one word make a topic',
      ['the boss fight was insane', 'that boss is brutal', 'boss music slaps'],
      ['boss'],
    ],
    ['two viewers do not', ['the boss fight was insane', 'that boss is brutal', 'gg'], []],
  ])('%s', (_name, texts, topics) => {
    const clusters = clusterChat(texts.map((text, i) => msg(`u${i}`, text)));
    expect(clusters.filter((c) => c.kind === 'topic').map((c) => c.terms[0])).toEqual(topics);
  });

  it('one user repeating a word is not a topic', () => {
    expect(clusterChat([msg('a', 'boss boss'), msg('a', 'boss again'), msg('a', 'the boss')])).toEqual([]);
  });

  it('ranks by distinct askers first, then repeats, questions above topics at equal support', () => {
    const messages = [
      msg('a', 'what song is this?'),
      msg('b', 'what song is this'),
      msg('c', 'when is the next stream?'),
      msg('d', 'when is the next stream?'),
      msg('e', 'when is the next stream?'),
      msg('f', 'this raid is wild'),
      msg('g', 'raid time'),
      msg('h', 'raid hype'),
      msg('i', 'who made the overlay?'),
      msg('i', 'who made the overlay?'),
    ];
    const ranked = clusterChat(messages);
    expect(ranked.map((c) => [c.kind, c.uniqueAskers, c.messages.length])).toEqual([
      ['question', 3, 3],
      ['topic', 3, 3],
      ['question', 2, 2],
      ['question', 1, 2],
    ]);
    expect(ranked[0]!.score).toBeGreaterThan(ranked[1]!.score);
  });

  it('gives the same clusters whatever order the messages arrive in', () => {
    const messages = [
      msg('a', 'what song is this?'),
      msg('b', 'what song is this'),
      msg('c', 'raid raid'),
      msg('d', 'raid'),
      msg('e', 'the raid'),
    ];
    expect(clusterChat([...messages].reverse())).toEqual(clusterChat(messages));
  });
});
