import { DUPLICATE_WINDOW_MS, isNearDuplicate } from '../../core/moderation/chat-modes.ts';
import { foldForMatching } from '../../core/moderation/text-folding.ts';
import { SeededRandom } from './seeded-random.ts';

/**
 * Scripted chatters for a live stream: who says what when. Pure and seeded, like the viewer
 * scripts: ordinary chat at a steady rate, questions for the host (several askers per common
 * question, so host prompts have material), spam (links, self-promotion, shouting, a line sent
 * twice), abuse (threats and self-harm encouragement the inline heuristics hold, directed insults
 * they let through for a moderator to remove), and hype spikes: most of the room posting hype
 * terms and emotes within a few seconds, the pattern the highlight detector looks for.
 *
 * The script keeps to the gateway's rules so every line means what its kind says: no chatter
 * exceeds the flood limit, and no chatter repeats itself within the duplicate window unless the
 * line is a deliberate repeat (`repeatOf`). Abuse uses synthetic lines, not the labelled data
 * sets, which live outside the repository and hold real slurs.
 */
export const CHAT_LINE_KINDS = ['chat', 'question', 'spam', 'abuse', 'hype'] as const;
export type ChatLineKind = (typeof CHAT_LINE_KINDS)[number];

export const PERSONAS = ['regular', 'curious', 'spammer', 'troll'] as const;
export type Persona = (typeof PERSONAS)[number];

export interface ScriptedChatter {
  userId: string;
  name: string;
  persona: Persona;
}

export interface ScriptedChatLine {
  /** Offset from the script's start, ms. */
  atMs: number;
  /** Index into `chatters`. */
  chatter: number;
  kind: ChatLineKind;
  text: string;
  /** Set on a line that repeats the chatter's earlier line at this index: the gateway refuses it as a duplicate. */
  repeatOf?: number;
}

export interface ChatScript {
  chatters: ScriptedChatter[];
  /** In time order. */
  lines: ScriptedChatLine[];
}

export interface ChatScriptOptions {
  chatters: number;
  durationMs: number;
  seed: number;
  /** Prefix of user ids, so runs do not share flood limits or sanctions. */
  runId?: string;
  /** Offsets of hype spikes; each lasts `hypeSpikeMs`. */
  hypeSpikesAtMs?: readonly number[];
  hypeSpikeMs?: number;
  /** Ordinary chat across the room, outside spikes. */
  messagesPerSecond?: number;
  questionEveryMs?: number;
  spamEveryMs?: number;
  abuseEveryMs?: number;
}

/** Twitch's default flood limit is 20 messages per 30 s; the script stays well under it. */
const FLOOD_WINDOW_MS = 30_000;
const MAX_LINES_PER_FLOOD_WINDOW = 12;
/** A person needs a moment between two lines outside a spike. */
const MIN_GAP_MS = 3_000;

const ORDINARY = [
  'hi everyone',
  'hello from Berlin',
  'evening all, just got here',
  'good morning from Tokyo',
  'hey chat',
  'the audio sounds really clean today',
  'love the colours on this stream',
  'first time here, this is cool',
  'the test pattern is weirdly relaxing',
  'nice, the stream is super smooth',
  'back from dinner, what did I miss',
  'greetings from São Paulo',
  'this beep is my new favourite song',
  'chat is cozy today',
  'just vibing here',
  'the bars look extra crisp in 720p',
  'brb getting coffee',
  'ok I am back',
  'saw the clip from yesterday, great one',
  'this is my background stream while I work',
  'the tone keeps me focused honestly',
  'hello hello',
  'sending good vibes',
  'the latency is impressive',
  'quality switched to 360p for me, still fine',
  'watching on my phone on the train',
  'long time lurker, first message',
  'can confirm the tone is a perfect 1 kHz',
  'those colour bars never get old',
  'ok this is oddly calming',
] as const;

/** Common questions are asked by several people in different words. */
const QUESTIONS = [
  ['what keyboard do you use?', 'which keyboard is that?', 'keyboard model please?'],
  ['when is the next stream?', 'are you streaming tomorrow too?', 'what is the schedule this week?'],
  ['how long have you been streaming?', 'how many years have you been doing this?'],
  ['what camera is this?', 'which camera do you use for the stream?'],
  ['will there be a Q&A later?', 'can we do questions at the end?'],
  ['what software do you stream with?', 'is this OBS or something else?'],
  ['how do you get the latency so low?', 'why is the delay so short on this stream?'],
] as const;

const SPAM = [
  'free skins at skinsfree.xyz',
  'check out my channel, I stream every day',
  'sub4sub anyone? I always sub back',
  'cheap followers here: bit.ly/fast-followers',
  'HELLO EVERYONE FOLLOW ME NOW PLEASE',
  'win a gift card at giftcards-winner.top',
] as const;

/** Threats and self-harm encouragement (held by the default policy); directed insults (allowed by it, removed by a moderator). */
const ABUSE = [
  'i will find you',
  'just kys',
  'go drink bleach',
  'you are so stupid',
  'you are such a loser',
  'ur a clown and everyone knows it',
] as const;

const HYPE = [
  "let's gooo",
  'PogChamp',
  'clip it!',
  'no way',
  'omg omg',
  'KEKW',
  'that was insane',
  'sheesh 🔥',
  'HYPERS',
  'what a play',
  'clutch!',
  'LUL',
  'no shot',
  'unreal',
  'clip that',
  'POGGERS',
  'holy moly',
  'wow wow wow',
  'Kreygasm',
  'omggg did that just happen',
  'GG',
  'catJAM',
  'sheeesh',
  'lmao what',
] as const;

export function planChatScript(options: ChatScriptOptions): ChatScript {
  const random = new SeededRandom(options.seed);
  const runId = options.runId ?? options.seed.toString(36);
  const chatters = castChatters(options.chatters, runId, random);
  const builder = new ScriptBuilder(chatters.length);
  const spikeMs = options.hypeSpikeMs ?? 6_000;
  const spikes = (options.hypeSpikesAtMs ?? []).filter((at) => at >= 0 && at < options.durationMs);
  const inSpike = (at: number) => spikes.some((start) => at >= start && at < start + spikeMs);
  const byPersona = (...personas: Persona[]) => chatters.flatMap((c, i) => (personas.includes(c.persona) ? [i] : []));
  const talkers = byPersona('regular', 'curious');
  const askers = byPersona('curious', 'regular');

  // Spikes first: they matter most, and the rest of the chat fits around them.
  const hypers = byPersona('regular', 'curious', 'spammer');
  for (const start of spikes) {
    // Everyone reacts at once, most of them more than once: the burst has to stand out against the baseline's noise.
    for (const chatter of hypers) {
      builder.tryAdd(random, { atMs: start + random.int(0, spikeMs / 3), chatter, kind: 'hype' }, HYPE, {
        spike: true,
      });
      builder.tryAdd(
        random,
        { atMs: start + random.int(spikeMs / 3, (2 * spikeMs) / 3), chatter, kind: 'hype' },
        HYPE,
        { spike: true },
      );
      if (random.chance(0.4))
        builder.tryAdd(
          random,
          { atMs: start + random.int((2 * spikeMs) / 3, spikeMs - 1), chatter, kind: 'hype' },
          HYPE,
          { spike: true },
        );
    }
  }

  const perSecond = options.messagesPerSecond ?? 1;
  for (let second = 0; second * 1_000 < options.durationMs; second++) {
    const at = second * 1_000;
    if (inSpike(at)) continue;
    // Poisson-ish: the whole-number part every second, the fraction by chance.
    const count = Math.floor(perSecond) + (random.chance(perSecond % 1) ? 1 : 0);
    for (let m = 0; m < count; m++) {
      builder.tryAdd(random, { atMs: at + random.int(0, 999), chatter: random.pick(talkers), kind: 'chat' }, ORDINARY);
    }
  }

  everyAbout(random, options.questionEveryMs ?? 8_000, options.durationMs, (at) => {
    if (inSpike(at)) return;
    builder.tryAdd(random, { atMs: at, chatter: random.pick(askers), kind: 'question' }, random.pick(QUESTIONS));
  });

  const spammers = byPersona('spammer');
  everyAbout(random, options.spamEveryMs ?? 15_000, options.durationMs, (at) => {
    if (inSpike(at)) return;
    const chatter = random.pick(spammers);
    const index = builder.tryAdd(random, { atMs: at, chatter, kind: 'spam' }, SPAM);
    // Spammers paste the same line again a few seconds later.
    if (index !== undefined && random.chance(0.5)) builder.addRepeat(index, at + random.int(2_000, 6_000));
  });

  const trolls = byPersona('troll');
  everyAbout(random, options.abuseEveryMs ?? 20_000, options.durationMs, (at) => {
    if (inSpike(at)) return;
    builder.tryAdd(random, { atMs: at, chatter: random.pick(trolls), kind: 'abuse' }, ABUSE);
  });

  return { chatters, lines: builder.lines().filter((line) => line.atMs < options.durationMs) };
}

/** One spike every `everyMs` from `firstAtMs`, each early enough to be heard before the end. */
export function hypeSpikeTimes(
  durationMs: number,
  { firstAtMs, everyMs, spikeMs = 6_000 }: { firstAtMs: number; everyMs: number; spikeMs?: number },
): number[] {
  const times: number[] = [];
  for (let at = firstAtMs; at + spikeMs <= durationMs; at += everyMs) times.push(at);
  return times;
}

/** About one in ten chatters spams and one in ten trolls (at least one of each), a quarter ask questions. */
function castChatters(count: number, runId: string, random: SeededRandom): ScriptedChatter[] {
  if (count < 4) throw new RangeError('a chat script needs at least 4 chatters');
  const spammers = Math.max(1, Math.round(count / 10));
  const trolls = Math.max(1, Math.round(count / 10));
  const curious = Math.max(1, Math.round(count / 4));
  const personas: Persona[] = Array.from({ length: count }, (_, i) =>
    i < spammers
      ? 'spammer'
      : i < spammers + trolls
        ? 'troll'
        : i < spammers + trolls + curious
          ? 'curious'
          : 'regular',
  );
  // Shuffled so a persona is not given away by the user number.
  for (let i = personas.length - 1; i > 0; i--) {
    const j = random.int(0, i);
    [personas[i], personas[j]] = [personas[j]!, personas[i]!];
  }
  return personas.map((persona, i) => ({
    userId: `chatter-${runId}-${i}`,
    name: `${random.pick(NAME_STEMS)}${random.int(1, 99)}`,
    persona,
  }));
}

const NAME_STEMS = [
  'pixel',
  'nova',
  'echo',
  'moss',
  'juniper',
  'orbit',
  'quill',
  'tango',
  'ember',
  'harbor',
  'fable',
  'lumen',
  'sable',
  'willow',
  'cobalt',
] as const;

function everyAbout(random: SeededRandom, everyMs: number, durationMs: number, at: (offsetMs: number) => void): void {
  for (
    let t = random.int(everyMs / 4, everyMs);
    t < durationMs;
    t += random.int(Math.round(everyMs * 0.6), Math.round(everyMs * 1.4))
  )
    at(t);
}

/** Accumulates lines while keeping each chatter under the flood limit and free of accidental duplicates. */
class ScriptBuilder {
  private readonly all: ScriptedChatLine[] = [];
  private readonly byChatter: ScriptedChatLine[][];

  constructor(chatters: number) {
    this.byChatter = Array.from({ length: chatters }, () => []);
  }

  /** Adds the line with a text from `texts` the chatter has not (nearly) said within the duplicate window; the index, or undefined when it does not fit. */
  tryAdd(
    random: SeededRandom,
    line: Omit<ScriptedChatLine, 'text'>,
    texts: readonly string[],
    { spike = false } = {},
  ): number | undefined {
    const own = this.byChatter[line.chatter]!;
    const floodCount = own.filter((l) => Math.abs(l.atMs - line.atMs) < FLOOD_WINDOW_MS).length;
    if (floodCount >= MAX_LINES_PER_FLOOD_WINDOW) return undefined;
    if (!spike && own.some((l) => Math.abs(l.atMs - line.atMs) < MIN_GAP_MS)) return undefined;
    const recent = own
      .filter((l) => Math.abs(l.atMs - line.atMs) < DUPLICATE_WINDOW_MS)
      .map((l) => foldForMatching(l.text));
    const fresh = texts.filter((text) => !isNearDuplicate(foldForMatching(text), recent));
    if (fresh.length === 0) return undefined;
    const added: ScriptedChatLine = { ...line, text: random.pick(fresh) };
    own.push(added);
    this.all.push(added);
    return this.all.length - 1;
  }

  addRepeat(index: number, atMs: number): void {
    const original = this.all[index]!;
    const repeat: ScriptedChatLine = {
      atMs,
      chatter: original.chatter,
      kind: original.kind,
      text: original.text,
      repeatOf: index,
    };
    this.byChatter[original.chatter]!.push(repeat);
    this.all.push(repeat);
  }

  /** Sorted by time; `repeatOf` renumbered to the sorted positions. */
  lines(): ScriptedChatLine[] {
    const order = this.all
      .map((line, index) => ({ line, index }))
      .sort((a, b) => a.line.atMs - b.line.atMs || a.index - b.index);
    const position = new Map(order.map(({ index }, i) => [index, i]));
    return order.map(({ line }) =>
      line.repeatOf === undefined ? line : { ...line, repeatOf: position.get(line.repeatOf)! },
    );
  }
}
