import { describe, expect, it } from 'vitest';
import { applyPolicyPatch, defaultChannelSettings } from './channel-settings.ts';
import { ChatModerator, compileChannelRules } from './moderate-message.ts';
import type { ChannelTerm } from './term-rules.ts';

const NOW = 1_800_000_000_000;
const moderator = new ChatModerator();
const term = (
  text: string,
  kind: ChannelTerm['kind'] = 'blocked',
  action: ChannelTerm['action'] = 'block',
): ChannelTerm => ({
  id: `term-${text.replace(/\W/g, '')}`,
  kind,
  text,
  action,
  created_by: 'mod',
  created_at: NOW,
});
const settings = defaultChannelSettings({ anonymousViewers: true });
const rules = compileChannelRules(
  settings,
  [term('spoiler*'), term('ending', 'blocked', 'hold'), term('hoe', 'permitted')],
  NOW,
);

describe('ChatModerator at the default policy (overall level 2)', () => {
  it.each([
    ['a friendly message', 'great stream, what keyboard is that?', 'allow'],
    ['swearing is allowed at level 2', 'holy shit that was close', 'allow'],
    ['a slur is blocked', 'you are a f4ggot', 'block'],
    ['a threat is held', 'i will find you', 'hold'],
    ['self-harm encouragement is held', 'just kys', 'hold'],
    ['a blocked term is blocked', 'no spoilers!', 'block'],
    ['a blocked term set to hold is held', 'the ending was sad', 'hold'],
    ['a permitted term is never caught', 'my garden hoe broke', 'allow'],
    ['a link is held', 'go to freecoins.xyz', 'hold'],
    ['zalgo is blocked', 'h̸̡̢̧̛̛e̷̢̢̢̢̛l̷̢̢̢̢p̵̢̢̢̢', 'hold'],
  ] as const)('%s', (_name, text, decision) => {
    expect(moderator.moderate(text, rules).decision).toBe(decision);
  });

  it('lets a permitted link through and reports what it found', () => {
    const outcome = moderator.moderate('clip at clips.example.com', rules, { linkPermitted: true });
    expect(outcome).toMatchObject({
      decision: 'allow',
      findings: [],
      deciding: [],
      folded: 'clip at clips example com',
    });
  });

  it('stricter channels block what default channels allow', () => {
    const strict = compileChannelRules(
      {
        ...settings,
        policy: applyPolicyPatch(applyPolicyPatch(settings.policy, { overall_level: 4 }), { levels: { profanity: 4 } }),
      },
      [],
      NOW,
    );
    expect(moderator.moderate('holy shit', strict)).toMatchObject({
      decision: 'hold',
      deciding: [{ rule: 'profanity.word', detail: 'shit' }],
    });
    expect(moderator.moderate('i will find you', strict).decision).toBe('block');
  });
});
