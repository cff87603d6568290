import type { ChatCluster } from './chat-clusters.ts';
import { askingSentence } from './question-signals.ts';

/** One suggestion for the host, before it becomes a `HostPrompt` record. */
export interface Suggestion {
  prompt: string;
  rationale: string;
  sourceMessageIds: string[];
  /** Display names only. */
  askers: string[];
  priority: number;
}

export const MAX_PROMPT_LENGTH = 500;
export const MAX_RATIONALE_LENGTH = 1_000;
/** A prompt names at most this many askers and cites at most this many messages (the schema's bounds). */
export const MAX_SOURCES = 50;

/** 1–5 from how many different viewers are behind it: one viewer is a 2, five or more a 5. */
export function priorityFor(uniqueAskers: number): number {
  return Math.min(5, Math.max(1, uniqueAskers < 2 ? 2 : uniqueAskers < 3 ? 3 : uniqueAskers < 5 ? 4 : 5));
}

const viewers = (n: number) => (n === 1 ? '1 viewer' : `${n} viewers`);

/**
 * Suggestions from the clusters alone, for when no model is configured, over budget or failing:
 * the question as a viewer asked it, or the word chat keeps coming back to.
 */
export function heuristicSuggestions(clusters: readonly ChatCluster[], limit: number, windowMs: number): Suggestion[] {
  const seconds = Math.round(windowMs / 1_000);
  return clusters.slice(0, limit).map((cluster) => {
    const repeats = cluster.messages.length > cluster.uniqueAskers ? ` (${cluster.messages.length} messages)` : '';
    const prompt =
      cluster.kind === 'question'
        ? `Viewers are asking: “${askingSentence(cluster.representative.text)}”`
        : `Chat keeps talking about “${cluster.terms[0]}”: say something about it?`;
    const rationale =
      cluster.kind === 'question'
        ? `${viewers(cluster.uniqueAskers)} asked this${repeats} in the last ${seconds} s.`
        : `${viewers(cluster.uniqueAskers)} mentioned it${repeats} in the last ${seconds} s.`;
    return {
      prompt: prompt.slice(0, MAX_PROMPT_LENGTH),
      rationale,
      sourceMessageIds: cluster.messages.slice(0, MAX_SOURCES).map((m) => m.messageId),
      askers: cluster.askers.slice(0, MAX_SOURCES),
      priority: priorityFor(cluster.uniqueAskers),
    };
  });
}
