import { describe, expect, it } from 'vitest';
import {
  countEmotes,
  findLinks,
  isAllowedHost,
  isEmoteOnly,
  linkHost,
  measureShape,
  spamFindings,
} from './spam-signals.ts';

const rules = (text: string, options?: Parameters<typeof spamFindings>[1]) =>
  spamFindings(text, options).map((f) => `${f.rule}:${f.severity}`);

describe('spamFindings', () => {
  it.each([
    ['an ordinary message', 'what camera do you use for the stream?', []],
    ['short shouting is fine', 'GG WP', []],
    ['mostly capitals', 'THIS IS THE BEST PLAY EVER honestly', ['spam.caps:2']],
    ['all capitals, long', 'THIS IS THE BEST PLAY I HAVE EVER SEEN IN MY LIFE', ['spam.caps:3']],
    ['symbol spam', '!!!!!!!!!!!!!!!! ??????? %%%%% lol', ['spam.symbols:3', 'spam.repetition:2']],
    ['some symbols', 'ok #### $$$ ))) (((', ['spam.symbols:2']],
    ['emote spam', '🔥'.repeat(12), ['spam.emotes:2']],
    ['shortcode emote spam', ':pog: '.repeat(26), ['spam.emotes:3', 'spam.repetition:3']],
    ['zalgo', 'h̸̡̢̧̛̛e̷̢̢̢̢̛l̷̢̢̢̢p̵̢̢̢̢', ['spam.zalgo:4']],
    ['Vietnamese diacritics are not zalgo', 'Tiếng Việt rất đẹp, cảm ơn bạn nhiều', []],
    ['stretched letters', 'nooooooooooooooooooo way', ['spam.repetition:2']],
    ['repeated words', 'lol '.repeat(9), ['spam.repetition:2']],
    ['mention flood', '@a1 @b2 @c3 @d4 @e5 hi', ['spam.mentions:2']],
    ['an e-mail address is not a mention flood or a link', 'mail me at fan@example.com', []],
    ['a link', 'free stuff at https://spam.example/win', ['spam.links:3']],
    ['a bare domain', 'go to freecoins.xyz now', ['spam.links:3']],
    ['an obfuscated domain', 'visit freecoins dot com', ['spam.links:3']],
    ['abbreviations and versions are not links', 'e.g. v1.2 is out, i.e. node.js', []],
    ['a domain with spaced dots', 'visit mysite . com today', ['spam.links:3']],
    ['a bare watch path', 'see /watch?v=vtaRGgvGtWQ', ['spam.links:3']],
    ['self-promotion', 'Hey guys check out my channel please', ['spam.promotion:3']],
    ['sub for sub', 'sub4sub anyone?', ['spam.promotion:3']],
    ['sub back', 'nice, I will subscribe back', ['spam.promotion:3']],
    ['talking about subscribing is not promotion', 'I just subscribed to this channel, love it', []],
    ['a sentence ending before a word is not a domain', 'that was great . so good', []],
  ])('%s', (_name, text, expected) => {
    expect(rules(text)).toEqual(expected);
  });

  it('lets links to allowed domains and permitted senders through', () => {
    expect(rules('clip: https://clips.twitch.tv/abc', { allowedLinkDomains: ['twitch.tv'] })).toEqual([]);
    expect(rules('see https://example.org', { linkPermitted: true })).toEqual([]);
    expect(rules('see https://nottwitch.tv', { allowedLinkDomains: ['twitch.tv'] })).toEqual(['spam.links:3']);
  });
});

describe('measures', () => {
  it('measures the shape of a message', () => {
    expect(measureShape('ABc d!!')).toMatchObject({ letters: 4, upper: 2, symbols: 2, visible: 6, longestCharRun: 2 });
  });

  it.each([
    ['PogChamp 🔥 :wave:', 2 + 1],
    ['no emotes here', 0],
    ['🇺🇸 flag', 1],
    ['👨‍👩‍👧 family', 1],
  ])('counts emotes in %j', (text, expected) => {
    expect(countEmotes(text, new Set(['PogChamp']))).toBe(expected);
  });

  it.each([
    ['🔥🔥 :wave: Kappa', true],
    ['🔥 nice', false],
    ['', false],
    ['   ', false],
  ])('isEmoteOnly(%j) = %s', (text, expected) => {
    expect(isEmoteOnly(text, new Set(['Kappa']))).toBe(expected);
  });

  it('finds links and their hosts', () => {
    expect(findLinks('a https://www.Example.com/x?y b www.test.org c bit.ly/abc')).toEqual([
      'https://www.Example.com/x?y',
      'www.test.org',
      'bit.ly/abc',
    ]);
    expect(linkHost('https://www.Clips.Example.com:443/x')).toBe('clips.example.com');
    expect(linkHost('spam dot com')).toBe('spam.com');
    expect(isAllowedHost('clips.twitch.tv', ['twitch.tv'])).toBe(true);
    expect(isAllowedHost('eviltwitch.tv', ['twitch.tv'])).toBe(false);
  });
});
