import { describe, expect, it } from 'vitest';
import {
  applyPolicyPatch,
  autoModPolicyPatchValidator,
  channelSettingsValidator,
  chatModesPatchValidator,
  defaultChannelSettings,
  levelsForOverall,
  setShieldMode,
} from './channel-settings.ts';

describe('channel settings', () => {
  it('defaults are valid and use the overall level 2 preset', () => {
    const settings = defaultChannelSettings({ anonymousViewers: true });
    expect(channelSettingsValidator.check(settings)).toBe(true);
    expect(settings.policy.levels).toEqual({ identity: 3, aggression: 2, sexual: 2, profanity: 0, spam: 2 });
  });

  it.each([
    [0, { identity: 0, aggression: 0, sexual: 0, profanity: 0 }],
    [1, { identity: 2, aggression: 1, sexual: 1, profanity: 0 }],
    [4, { identity: 4, aggression: 4, sexual: 4, profanity: 3 }],
  ])('overall level %i sets the graded categories and leaves spam alone', (overall, expected) => {
    expect(levelsForOverall(overall, 1)).toEqual({ ...expected, spam: 1 });
  });

  it('a channel may list reclaimed terms: validated, de-duplicated, and optional in settings stored before they existed', () => {
    const settings = defaultChannelSettings({ anonymousViewers: true });
    expect(settings.policy.reclaimed_terms).toBeUndefined();
    expect(autoModPolicyPatchValidator.check({ reclaimed_terms: ['dyke', 'queer'] })).toBe(true);
    expect(autoModPolicyPatchValidator.check({ reclaimed_terms: ['Dyke!'] })).toBe(false);
    const policy = applyPolicyPatch(settings.policy, { reclaimed_terms: ['dyke', 'dyke', 'queer'] });
    expect(policy.reclaimed_terms).toEqual(['dyke', 'queer']);
    expect(channelSettingsValidator.check({ ...settings, policy })).toBe(true);
  });

  it('an overall level resets categories; a category change clears the overall level (Twitch semantics)', () => {
    const policy = defaultChannelSettings({ anonymousViewers: false }).policy;
    const strict = applyPolicyPatch(policy, { overall_level: 4 });
    expect(strict).toMatchObject({ overall_level: 4, levels: { identity: 4, profanity: 3 } });
    const custom = applyPolicyPatch(strict, { levels: { profanity: 0 } });
    expect(custom).toMatchObject({ overall_level: null, levels: { identity: 4, profanity: 0 } });
    expect(applyPolicyPatch(strict, { levels: { spam: 4 } }).overall_level).toBe(4);
    expect(applyPolicyPatch(policy, { allowed_link_domains: ['Twitch.TV', 'twitch.tv'] }).allowed_link_domains).toEqual(
      ['twitch.tv'],
    );
  });

  it('shield mode tightens without loosening and restores exactly', () => {
    const base = defaultChannelSettings({ anonymousViewers: true });
    const before = {
      ...base,
      modes: { ...base.modes, slow_mode_seconds: 30 },
      policy: applyPolicyPatch(base.policy, { levels: { identity: 4 } }),
    };
    const shielded = setShieldMode(before, true);
    expect(shielded.modes).toMatchObject({
      shield: true,
      unique_chat: true,
      slow_mode_seconds: 30,
      followers_only_minutes: 10,
    });
    expect(shielded.policy.levels).toEqual({ identity: 4, aggression: 3, sexual: 3, profanity: 3, spam: 3 });
    expect(channelSettingsValidator.check(shielded)).toBe(true);
    expect(setShieldMode(shielded, true)).toBe(shielded);
    expect(setShieldMode(shielded, false)).toEqual(before);
  });

  it.each([
    [{ slow_mode_seconds: 30 }, true],
    [{ shield: true }, false],
    [{}, false],
    [{ slow_mode_seconds: -1 }, false],
    [{ emote_only: 'yes' }, false],
    [{ role: 'admin' }, false],
  ])('validates a modes patch %j', (patch, valid) => {
    expect(chatModesPatchValidator.check(patch)).toBe(valid);
  });

  it.each([
    [{ overall_level: 3 }, true],
    [{ levels: { spam: 4 } }, true],
    [{ levels: { spam: 5 } }, false],
    [{ levels: { violence: 1 } }, false],
    [{ allowed_link_domains: ['not a domain'] }, false],
  ])('validates a policy patch %j', (patch, valid) => {
    expect(autoModPolicyPatchValidator.check(patch)).toBe(valid);
  });
});
