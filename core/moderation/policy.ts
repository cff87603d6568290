import type { ModerationDecision } from '../schemas/chat.ts';
import type { CategoryLevels } from './channel-settings.ts';
import { categoryOfRule, type Finding, type Severity } from './findings.ts';

/**
 * How a category level (0–4) turns a finding's severity (1–4) into allow / hold / block.
 *
 * Level L acts on severities of 5 − L and above, so level 1 catches only the most severe findings
 * and level 4 everything. What it catches is held for review, and blocked outright once the
 * severity is two steps past the threshold: level 3 blocks severity 4, level 4 blocks 3 and 4,
 * levels 1 and 2 never block. Twitch's AutoMod only ever holds; blocking the clear cases at the
 * strict levels keeps a moderator queue short in a fast chat.
 *
 * A channel's blocked term decides by itself (`terms.block` / `terms.hold`), outside the levels.
 */
export function actionFor(severity: Severity, level: number): ModerationDecision {
  if (level <= 0) return 'allow';
  const threshold = 5 - level;
  if (severity < threshold) return 'allow';
  return severity >= threshold + 2 ? 'block' : 'hold';
}

const RANK: Record<ModerationDecision, number> = { allow: 0, hold: 1, block: 2 };

export interface PolicyDecision {
  decision: ModerationDecision;
  /** The findings that produced the decision (empty when allowed). */
  deciding: Finding[];
}

export function decide(findings: readonly Finding[], levels: CategoryLevels): PolicyDecision {
  let decision: ModerationDecision = 'allow';
  let deciding: Finding[] = [];
  for (const finding of findings) {
    const category = categoryOfRule(finding.rule);
    let action: ModerationDecision;
    if (category === 'terms') action = finding.rule === 'terms.hold' ? 'hold' : 'block';
    else if (category === undefined || category === 'ai') continue;
    else action = actionFor(finding.severity, levels[category]);
    if (action === 'allow') continue;
    if (RANK[action] > RANK[decision]) {
      decision = action;
      deciding = [finding];
    } else if (action === decision) {
      deciding.push(finding);
    }
  }
  return { decision, deciding };
}
