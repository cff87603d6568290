import { Type, type Static } from '@sinclair/typebox';
import { createValidator } from '../schemas/validate.ts';
import { POLICY_CATEGORIES, type PolicyCategory } from './findings.ts';

/**
 * Per-channel chat settings: the chat modes viewers see and the AutoMod-style policy the
 * heuristics apply. One document per stream, changed only by its moderators.
 */

const Level = Type.Integer({ minimum: 0, maximum: 4 });

/** Twitch's chat settings, plus anonymous read-only viewing. */
export const ChatModes = Type.Object(
  {
    /** Seconds a non-moderator waits between messages; 0 = off. IRC `/slow` defaults to 120. */
    slow_mode_seconds: Type.Integer({ minimum: 0, maximum: 3_600 }),
    /** Minimum follow age in minutes, 0 = any follower; null = off. Twitch allows up to 3 months. */
    followers_only_minutes: Type.Union([Type.Null(), Type.Integer({ minimum: 0, maximum: 129_600 })]),
    subscribers_only: Type.Boolean(),
    /** Only messages made entirely of emotes. */
    emote_only: Type.Boolean(),
    /** R9K: a message identical (after folding) to one sent in the channel recently is rejected. */
    unique_chat: Type.Boolean(),
    /** Viewers without a token (or without a role on this stream) may read, never write. */
    anonymous_viewers: Type.Boolean(),
    /** Shield mode is on; the settings to restore are kept beside (see ChannelSettings). */
    shield: Type.Boolean(),
  },
  { additionalProperties: false, $id: 'ChatModes' },
);
export type ChatModes = Static<typeof ChatModes>;

export const CategoryLevels = Type.Object(
  Object.fromEntries(POLICY_CATEGORIES.map((c) => [c, Level])) as Record<PolicyCategory, typeof Level>,
  { additionalProperties: false },
);
export type CategoryLevels = Static<typeof CategoryLevels>;

/** A word as the word lists name it: lowercase letters, e.g. "dyke", "queer". */
const ReclaimedTerm = Type.String({ minLength: 2, maxLength: 30, pattern: '^[a-z]+$' });

export const AutoModPolicy = Type.Object(
  {
    /** The preset last chosen; null once a single category was changed (as Twitch does). */
    overall_level: Type.Union([Type.Null(), Level]),
    levels: CategoryLevels,
    /** Link hosts that never count as spam (subdomains included), e.g. "clips.twitch.tv". */
    allowed_link_domains: Type.Array(
      Type.String({ minLength: 3, maxLength: 253, pattern: '^[a-z0-9.-]+\\.[a-z]{2,}$' }),
      { maxItems: 100 },
    ),
    /** The channel's emote names, for emote-only mode and emote spam. */
    channel_emotes: Type.Array(Type.String({ minLength: 2, maxLength: 32, pattern: '^[A-Za-z0-9_]+$' }), {
      maxItems: 500,
    }),
    /**
     * Slurs this channel's community has reclaimed: not caught when a member uses one of themselves
     * ("as a dyke myself"), still caught when aimed at someone. Absent in settings stored before it existed.
     */
    reclaimed_terms: Type.Optional(Type.Array(ReclaimedTerm, { maxItems: 50 })),
  },
  { additionalProperties: false, $id: 'AutoModPolicy' },
);
export type AutoModPolicy = Static<typeof AutoModPolicy>;

export const ChannelSettings = Type.Object(
  {
    modes: ChatModes,
    policy: AutoModPolicy,
    /** While Shield mode is on: what turning it off restores. */
    before_shield: Type.Union([
      Type.Null(),
      Type.Object(
        { modes: ChatModes, levels: CategoryLevels, overall_level: Type.Union([Type.Null(), Level]) },
        { additionalProperties: false },
      ),
    ]),
  },
  { additionalProperties: false, $id: 'ChannelSettings' },
);
export type ChannelSettings = Static<typeof ChannelSettings>;

/** What a moderator may change in one request: any subset of the modes except `shield`. */
export const ChatModesPatch = Type.Partial(Type.Omit(ChatModes, ['shield']), {
  additionalProperties: false,
  minProperties: 1,
});
export type ChatModesPatch = Static<typeof ChatModesPatch>;

export const AutoModPolicyPatch = Type.Object(
  {
    overall_level: Type.Optional(Level),
    levels: Type.Optional(Type.Partial(CategoryLevels, { additionalProperties: false })),
    allowed_link_domains: Type.Optional(AutoModPolicy.properties.allowed_link_domains),
    channel_emotes: Type.Optional(AutoModPolicy.properties.channel_emotes),
    reclaimed_terms: Type.Optional(Type.Array(ReclaimedTerm, { maxItems: 50 })),
  },
  { additionalProperties: false, minProperties: 1 },
);
export type AutoModPolicyPatch = Static<typeof AutoModPolicyPatch>;

export const channelSettingsValidator = createValidator(ChannelSettings);
export const chatModesPatchValidator = createValidator(ChatModesPatch);
export const autoModPolicyPatchValidator = createValidator(AutoModPolicyPatch);

/**
 * What an overall level sets each category to. Twitch does not publish its mapping; its own
 * example (overall 3 → bullying 2, swearing 0) shows categories differ, and ours follows that
 * shape: discrimination first, swearing last. Spam is not part of the overall level.
 */
const PRESETS: Record<Exclude<PolicyCategory, 'spam'>, readonly number[]> = {
  identity: [0, 2, 3, 4, 4],
  aggression: [0, 1, 2, 3, 4],
  sexual: [0, 1, 2, 3, 4],
  profanity: [0, 0, 0, 1, 3],
};

export function levelsForOverall(overall: number, spam: number): CategoryLevels {
  return {
    identity: PRESETS.identity[overall]!,
    aggression: PRESETS.aggression[overall]!,
    sexual: PRESETS.sexual[overall]!,
    profanity: PRESETS.profanity[overall]!,
    spam,
  };
}

export const DEFAULT_OVERALL_LEVEL = 2;
export const DEFAULT_SPAM_LEVEL = 2;

export function defaultChannelSettings({ anonymousViewers }: { anonymousViewers: boolean }): ChannelSettings {
  return {
    modes: {
      slow_mode_seconds: 0,
      followers_only_minutes: null,
      subscribers_only: false,
      emote_only: false,
      unique_chat: false,
      anonymous_viewers: anonymousViewers,
      shield: false,
    },
    policy: {
      overall_level: DEFAULT_OVERALL_LEVEL,
      levels: levelsForOverall(DEFAULT_OVERALL_LEVEL, DEFAULT_SPAM_LEVEL),
      allowed_link_domains: [],
      channel_emotes: [],
    },
    before_shield: null,
  };
}

/** Applies a moderator's policy change: an overall level resets the categories, a category clears the overall level. */
export function applyPolicyPatch(policy: AutoModPolicy, patch: AutoModPolicyPatch): AutoModPolicy {
  let next: AutoModPolicy = { ...policy, levels: { ...policy.levels } };
  if (patch.overall_level !== undefined) {
    next = {
      ...next,
      overall_level: patch.overall_level,
      levels: levelsForOverall(patch.overall_level, next.levels.spam),
    };
  }
  if (patch.levels) {
    const changesGraded = Object.keys(patch.levels).some((category) => category !== 'spam');
    next = {
      ...next,
      levels: { ...next.levels, ...patch.levels },
      overall_level: changesGraded ? null : next.overall_level,
    };
  }
  if (patch.allowed_link_domains)
    next = { ...next, allowed_link_domains: [...new Set(patch.allowed_link_domains.map((d) => d.toLowerCase()))] };
  if (patch.channel_emotes) next = { ...next, channel_emotes: [...new Set(patch.channel_emotes)] };
  if (patch.reclaimed_terms) next = { ...next, reclaimed_terms: [...new Set(patch.reclaimed_terms)] };
  return next;
}

/** Shield mode's preset: followers of 10+ minutes only, 10 s slow mode, unique chat, every category at 3 or more. */
export const SHIELD_PRESET = { followersOnlyMinutes: 10, slowModeSeconds: 10, minimumLevel: 3 } as const;

/**
 * Turns Shield mode on or off. On: remembers the current modes and levels and tightens them (never
 * loosening a stricter setting). Off: restores exactly what was there before. Idempotent.
 */
export function setShieldMode(settings: ChannelSettings, on: boolean): ChannelSettings {
  if (on === settings.modes.shield) return settings;
  if (!on) {
    const before = settings.before_shield;
    if (!before) return { ...settings, modes: { ...settings.modes, shield: false } };
    return {
      modes: { ...before.modes, shield: false },
      policy: { ...settings.policy, levels: before.levels, overall_level: before.overall_level },
      before_shield: null,
    };
  }
  const { modes, policy } = settings;
  const raise = (level: number) => Math.max(level, SHIELD_PRESET.minimumLevel);
  return {
    modes: {
      ...modes,
      shield: true,
      unique_chat: true,
      slow_mode_seconds: Math.max(modes.slow_mode_seconds, SHIELD_PRESET.slowModeSeconds),
      followers_only_minutes: Math.max(modes.followers_only_minutes ?? 0, SHIELD_PRESET.followersOnlyMinutes),
    },
    policy: {
      ...policy,
      overall_level: null,
      levels: Object.fromEntries(POLICY_CATEGORIES.map((c) => [c, raise(policy.levels[c])])) as CategoryLevels,
    },
    before_shield: { modes, levels: policy.levels, overall_level: policy.overall_level },
  };
}
