import { describe, expect, it } from 'vitest';
import { applyPolicyPatch, defaultChannelSettings } from './channel-settings.ts';
import { applyContext, isCounterSpeech, targetedHarmFindings } from './context-rules.ts';
import { ChatModerator, compileChannelRules } from './moderate-message.ts';
import { foldForMatching } from './text-folding.ts';

const NOW = 1_800_000_000_000;
const settings = defaultChannelSettings({ anonymousViewers: true });
const defaultRules = compileChannelRules(settings, [], NOW);
const reclaiming = compileChannelRules(
  { ...settings, policy: applyPolicyPatch(settings.policy, { reclaimed_terms: ['dyke', 'fag'] }) },
  [],
  NOW,
);
const strict = compileChannelRules(
  { ...settings, policy: applyPolicyPatch(settings.policy, { levels: { identity: 4 } }) },
  [],
  NOW,
);
const rulesOnly = new ChatModerator(undefined, null);
const withClassifier = new ChatModerator();

describe('targetedHarmFindings', () => {
  it.each([
    ["people like her don't deserve to live", 'aggression.death_wish'],
    ['we should wipe them all out', 'aggression.targeted_threat'],
    ['kill all the gays', 'aggression.targeted_threat'],
    ['someone needs to gas the jews', 'aggression.targeted_threat'],
    ['we gotta deport and kill all of them', 'aggression.targeted_threat'],
    ['muslims should all die', 'aggression.death_wish'],
    ['they are vermin', 'identity.dehumanising'],
    ['immigrants are just parasites', 'identity.dehumanising'],
    // "Those people" names a group without a group word; the model reads these as neutral.
    ['those people are animals', 'identity.dehumanising'],
    ['these people are nothing more than vermin', 'identity.dehumanising'],
    ['refugees breed like rats', 'identity.dehumanising'],
    ['they should go back where they came from', 'identity.derogation'],
    ['go back to your own country', 'identity.derogation'],
    ['muslims should all go back to their own countries', 'identity.derogation'],
    ['typical of those people to be that dumb', 'identity.derogation'],
    ['these people are always so lazy', 'identity.derogation'],
  ])('%j → %s', (text, rule) => {
    expect(targetedHarmFindings(foldForMatching(text)).map((f) => f.rule)).toEqual([rule]);
  });

  it.each([
    // Negation of harm.
    'nobody should ever be hurt for who they are',
    'we should never hurt them',
    'no one wants to kill all the gays, that is insane',
    "you don't deserve to die",
    // A game chat's violence is not aimed at a group.
    'we need to kill them before they take the dragon',
    'we should beat them in the finals',
    'the boss should die in two hits',
    'these guys are animals at this game',
    'these people are amazing at this game',
    'go back to your base and heal',
    'i want to go back where we came from and loot the chest',
    'how did he go back to his country unchecked?',
    'refugees want to go back to their country when the war ends',
    'typical lag spike',
  ])('finds no harm in %j', (text) => {
    expect(targetedHarmFindings(foldForMatching(text))).toEqual([]);
  });
});

describe('isCounterSpeech', () => {
  it.each([
    ["he said 'go back to your country', which is bigoted", true],
    ['whoever says they would hurt her should be punished', true],
    ['calling women "kitchen appliances" is sexist and not ok', true],
    ['she called me a f*g, reported her', true],
    ['Using racist terms like that is nasty and not ok. Pls stop.', true],
    ['that is racist', false],
    ['they said hi', false],
  ])('%j → %s', (text, expected) => {
    expect(isCounterSpeech(text, foldForMatching(text))).toBe(expected);
  });
});

describe('applyContext', () => {
  const none = { reclaimedTerms: new Set<string>() };
  it('lowers a quoted slur to a hold and drops hostility in counter-speech', () => {
    const text = 'he called her a dyke and said "i will kill you", which is homophobic';
    const findings = [
      { rule: 'identity.slur', severity: 3 as const, detail: 'dyke' },
      { rule: 'aggression.threat', severity: 4 as const, detail: 'i wil kil you' },
      { rule: 'identity.classifier', severity: 3 as const, detail: 'p=0.80' },
    ];
    expect(applyContext(findings, text, foldForMatching(text), none)).toEqual([
      { rule: 'identity.slur', severity: 2, detail: 'dyke' },
    ]);
  });

  it('keeps everything when nothing in the context says otherwise', () => {
    const findings = [{ rule: 'identity.slur', severity: 4 as const, detail: 'fag' }];
    expect(applyContext(findings, 'you fag', 'you fag', none)).toEqual(findings);
  });
});

describe('ChatModerator with the context rules and the classifier, at the default policy', () => {
  it.each([
    // The implicit hate, no listed word.
    ["people like her don't deserve to live", 'hold'],
    ['we should wipe them all out', 'hold'],
    ['typical of those people to be that dumb', 'hold'],
    // Counter-speech and quotation.
    ['whoever says they would hurt her should be punished', 'allow'],
    ["he said 'i'll kill you', which is not ok", 'allow'],
    ["he said 'go back to your country', which is bigoted", 'allow'],
    ['someone called me a chink today, reported him', 'hold'],
    // Negation of harm.
    ['nobody should ever be hurt for who they are', 'allow'],
    ['we should never hurt them', 'allow'],
    // Homonyms.
    ['faggots and peas with gravy for dinner', 'allow'],
    ['going out for a fag break', 'allow'],
    ['the coon hound treed a raccoon', 'allow'],
    ['there is a chink in his armour', 'allow'],
    ['the dyke held back the flood', 'allow'],
    ['changed the tranny fluid in my car', 'allow'],
    ['spic and span kitchen', 'allow'],
    // Plural and inflected forms of listed words.
    ['kikes', 'block'],
    ['trannies everywhere', 'block'],
    ['filthy faggots', 'block'],
    ['retards', 'hold'],
    // Targeted threats, and a game's violence that is not one.
    ['kill all the gays', 'hold'],
    ['we need to kill them before they take the dragon', 'allow'],
    // Not reclaimable in a channel that did not choose it.
    ['as a dyke myself i love this', 'hold'],
  ] as const)('%j → %s', (text, decision) => {
    expect(withClassifier.moderate(text, defaultRules).decision).toBe(decision);
  });

  it('lets a channel reclaim a term for members speaking of themselves, never when aimed at someone', () => {
    expect(withClassifier.moderate('as a dyke myself i love this', reclaiming).decision).toBe('allow');
    expect(withClassifier.moderate("i'm a proud fag lol", reclaiming).decision).toBe('allow');
    expect(withClassifier.moderate('you dyke', reclaiming).decision).toBe('hold');
    expect(withClassifier.moderate('shut up fag', reclaiming).decision).toBe('block');
  });

  // The word lists alone: whether the classifier holds the message as well is its own call.
  it.each([
    ['wassup my nigga', 'allow', 'hold'],
    ['my niggas pulled up', 'allow', 'hold'],
    ['shut up nigger', 'block', 'block'],
    ['my nigga called him a nigger', 'block', 'block'],
  ] as const)(
    'the vernacular spelling is not the slur by itself: %j → %s, %s at the strictest identity level',
    (text, byDefault, strictly) => {
      expect(rulesOnly.moderate(text, defaultRules).decision).toBe(byDefault);
      expect(rulesOnly.moderate(text, strict).decision).toBe(strictly);
    },
  );

  it('holds implicit hate the rules cannot see through the classifier alone', () => {
    const text = 'jews are greedy and control the banks';
    expect(rulesOnly.moderate(text, defaultRules).decision).toBe('allow');
    expect(withClassifier.moderate(text, defaultRules)).toMatchObject({
      decision: 'hold',
      deciding: [{ rule: 'identity.classifier' }],
    });
  });
});
