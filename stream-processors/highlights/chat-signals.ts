/**
 * What one chat message says about excitement: whether it holds a hype term or an emote. The
 * open-source chat-spike projects key on emote bursts (GastonGit's Hot-Twitch-Clips) and message
 * rate; viewers spamming "CLIP IT" is the classic sign.
 */

/** Twitch/BTTV/7TV emotes viewers post when something happens (exact, case-sensitive tokens). */
export const HYPE_EMOTES: ReadonlySet<string> = new Set([
  'PogChamp',
  'Pog',
  'PogU',
  'POGGERS',
  'Poggers',
  'PogBones',
  'KEKW',
  'LUL',
  'LULW',
  'OMEGALUL',
  'Kreygasm',
  'HYPERS',
  'monkaS',
  'monkaW',
  'monkaGIGA',
  'WutFace',
  'EZ',
  'Clap',
  'GIGACHAD',
  'catJAM',
  'PauseChamp',
  'Jebaited',
  'NotLikeThis',
  'BibleThump',
  'PepeHands',
  'Sadge',
  'OMEGADANCE',
  'peepoClap',
  'widepeepoHappy',
  'FeelsStrongMan',
  'TwitchUnity',
  'KomodoHype',
  'CurseLit',
  'GlitchCat',
  'SeemsGood',
  'HeyGuys',
  'DinoDance',
  'Kappa',
  'ICANT',
  'Aware',
  'xdd',
]);

/** Hype words and phrases, matched case-insensitively on word boundaries (see elongationForms). */
const HYPE_PHRASES = [
  'clip it',
  'clip that',
  'clipped',
  'no way',
  'lets go',
  "let's go",
  'lfg',
  'omg',
  'oh my god',
  'wtf',
  'holy',
  'insane',
  'hype',
  'pog',
  'pogg',
  'poggers',
  'gg',
  'ggs',
  'goat',
  'clutch',
  'what a play',
  'lol',
  'lmao',
  'lmfao',
  'rofl',
  'wow',
  'noo',
  'yess',
  'sheesh',
  'no shot',
  'unreal',
  'nuts',
  'cracked',
];

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

const HYPE_PATTERN = new RegExp(
  `(?:^|[^\\p{L}\\p{N}])(?:${HYPE_PHRASES.map(escape).join('|')})(?=$|[^\\p{L}\\p{N}])`,
  'iu',
);
/** Pictographic emoji (🔥😂😱🤯👏…): a burst of them reads as a reaction. */
const EMOJI_PATTERN = /\p{Extended_Pictographic}/u;

/**
 * Elongated words match in one of two forms: runs of a letter cut to two ("noooo" → "noo",
 * "GGGG" → "gg") or to one ("OMGGGG" → "omg", "looool" → "lol").
 */
function elongationForms(text: string): [string, string] {
  return [text.replace(/(\p{L})\1{2,}/gu, '$1$1'), text.replace(/(\p{L})\1+/gu, '$1')];
}

export interface MessageSignals {
  hypeTerm: boolean;
  emote: boolean;
}

export function messageSignals(text: string): MessageSignals {
  const emote = text.split(/\s+/).some((token) => HYPE_EMOTES.has(token)) || EMOJI_PATTERN.test(text);
  return { hypeTerm: elongationForms(text).some((form) => HYPE_PATTERN.test(form)), emote };
}

export function isHype(text: string): boolean {
  const signals = messageSignals(text);
  return signals.hypeTerm || signals.emote;
}
