import { describe, expect, it } from 'vitest';
import { isHype, messageSignals } from './chat-signals.ts';

describe('messageSignals', () => {
  it.each([
    ['CLIP IT', { hypeTerm: true, emote: false }],
    ['clip that!!!', { hypeTerm: true, emote: false }],
    ['OMGGGGG', { hypeTerm: true, emote: false }],
    ['noooooo', { hypeTerm: true, emote: false }],
    ['GGGG', { hypeTerm: true, emote: false }],
    ["LET'S GOOOO", { hypeTerm: true, emote: false }],
    ['looool', { hypeTerm: true, emote: false }],
    ['PogChamp PogChamp', { hypeTerm: false, emote: true }],
    ['that was insane KEKW', { hypeTerm: true, emote: true }],
    ['🔥🔥🔥', { hypeTerm: false, emote: true }],
    ['what time is the next stream?', { hypeTerm: false, emote: false }],
    ['the eggs are ready', { hypeTerm: false, emote: false }],
    ['goaty', { hypeTerm: false, emote: false }],
    ['kappa', { hypeTerm: false, emote: false }],
  ])('%s', (text, signals) => {
    expect(messageSignals(text)).toEqual(signals);
    expect(isHype(text)).toBe(signals.hypeTerm || signals.emote);
  });
});
