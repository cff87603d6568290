import type { ModerationDecision } from '../schemas/chat.ts';
import type { CategoryLevels, ChannelSettings } from './channel-settings.ts';
import { committedHateClassifier, type HateClassifier } from './classifier/hate-classifier.ts';
import { applyContext, targetedHarmFindings } from './context-rules.ts';
import type { Finding } from './findings.ts';
import { OffensiveLanguageDetector } from './offensive-language.ts';
import { decide } from './policy.ts';
import { spamFindings } from './spam-signals.ts';
import { TermSet, type ChannelTerm } from './term-rules.ts';
import { foldForMatching, foldLatin, toMatchingLatin } from './text-folding.ts';

/**
 * Local moderation as one pure step: a message and its channel's compiled rules in, a decision
 * (allow / hold / block) with the findings behind it out. Shared by the chat gateway (before
 * delivery), the host-prompt guard, the evaluation and the benchmark.
 *
 * Order: the heuristics (channel terms, word lists, hostility and targeted-harm phrases, spam),
 * then the context rules (homonyms, reclaimed use, negation, counter-speech) on what they found,
 * then the local classifier, whose finding (`identity.classifier`) holds a message for review; the
 * policy turns the findings into the decision. The AI stage later releases or denies what was held
 * and removes what it flags among the delivered (docs/moderation.md, "How the layers combine").
 */

/** A channel's settings and terms compiled for the hot path; rebuild when they change. */
export interface ChannelRules {
  levels: CategoryLevels;
  blockedTerms: TermSet;
  permittedTerms: TermSet;
  channelEmotes: ReadonlySet<string>;
  allowedLinkDomains: readonly string[];
  /** Slurs the channel lets members use of themselves (reclaimed use); none when absent. */
  reclaimedTerms?: ReadonlySet<string>;
}

export function compileChannelRules(
  settings: ChannelSettings,
  terms: readonly ChannelTerm[],
  now: number,
): ChannelRules {
  return {
    levels: settings.policy.levels,
    blockedTerms: new TermSet(
      terms.filter((t) => t.kind === 'blocked'),
      now,
    ),
    permittedTerms: new TermSet(
      terms.filter((t) => t.kind === 'permitted'),
      now,
    ),
    channelEmotes: new Set(settings.policy.channel_emotes),
    allowedLinkDomains: settings.policy.allowed_link_domains,
    reclaimedTerms: new Set(settings.policy.reclaimed_terms ?? []),
  };
}

const NO_TERMS: ReadonlySet<string> = new Set();

export interface ModerationOutcome {
  decision: ModerationDecision;
  /** Everything any rule found, including findings the channel's levels allow. */
  findings: Finding[];
  /** The findings that decided (empty when allowed). */
  deciding: Finding[];
  /** `foldForMatching(text)`, for unique-chat and duplicate checks. */
  folded: string;
}

export class ChatModerator {
  /** `hateClassifier` null runs the rules alone (the evaluation's heuristics-only layer). */
  constructor(
    private readonly offensiveLanguage = new OffensiveLanguageDetector(),
    private readonly hateClassifier: Pick<HateClassifier, 'finding'> | null = committedHateClassifier(),
  ) {}

  moderate(
    text: string,
    rules: ChannelRules,
    { linkPermitted = false }: { linkPermitted?: boolean } = {},
  ): ModerationOutcome {
    const latin = toMatchingLatin(text);
    const folded = foldLatin(latin);
    const found: Finding[] = [];

    for (const term of rules.blockedTerms.matches(text, folded)) {
      found.push({ rule: `terms.${term.action}`, severity: 4, detail: term.text });
    }
    for (const finding of this.offensiveLanguage.detect(latin, folded)) {
      // Twitch's permitted terms: words AutoMod must never catch in this channel.
      const permitted =
        finding.detail !== undefined &&
        rules.permittedTerms.size > 0 &&
        rules.permittedTerms.matches(finding.detail, foldForMatching(finding.detail)).length > 0;
      if (!permitted) found.push(finding);
    }
    found.push(...targetedHarmFindings(folded));
    const classified = this.hateClassifier?.finding(folded);
    if (classified) found.push(classified);
    const findings = applyContext(found, text, folded, { reclaimedTerms: rules.reclaimedTerms ?? NO_TERMS });
    findings.push(
      ...spamFindings(text, {
        channelEmotes: rules.channelEmotes,
        allowedLinkDomains: rules.allowedLinkDomains,
        linkPermitted,
      }),
    );

    const { decision, deciding } = decide(findings, rules.levels);
    return { decision, findings, deciding, folded };
  }
}
