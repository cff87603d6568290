import { similarity } from '../../core/moderation/chat-modes.ts';
import { foldForMatching } from '../../core/moderation/text-folding.ts';
import { contentTerms, isQuestion, wordsOf } from './question-signals.ts';

/**
 * The heuristic core of host prompts: a window of chat that passed moderation in, ranked clusters
 * out. Questions that say the same thing (near-duplicates, or the same topic words) merge into one
 * cluster; chat that is not a question but keeps coming back to one word, from several viewers,
 * forms a topic cluster. Clusters rank by how many different viewers are behind them.
 */

export interface WindowMessage {
  messageId: string;
  userId: string;
  displayName: string;
  text: string;
  sentAt: number;
}

export interface ChatCluster {
  kind: 'question' | 'topic';
  /** What a topic cluster is about, as chat spells it; for questions, the shared content terms (folded). */
  terms: string[];
  /** The first message of the cluster: what the host would read out. */
  representative: WindowMessage;
  messages: WindowMessage[];
  /** Distinct senders, by user id. */
  uniqueAskers: number;
  /** Display names of the distinct senders, in order of their first message. */
  askers: string[];
  score: number;
}

export interface ClusterSettings {
  /** Bigram similarity (0–1) of folded text at which two questions are the same question. */
  mergeSimilarity: number;
  /** Share of content terms two questions must have in common to merge (Jaccard, 0–1). */
  mergeTermOverlap: number;
  /** Distinct viewers a word needs before it is a topic. */
  minTopicAskers: number;
}

export const DEFAULT_CLUSTER_SETTINGS: ClusterSettings = {
  mergeSimilarity: 0.75,
  mergeTermOverlap: 0.6,
  minTopicAskers: 3,
};

/** Weights of the ranking: distinct viewers matter most, repeats a little, questions over topics. */
const ASKER_WEIGHT = 3;
const QUESTION_BONUS = 2;

interface Candidate {
  message: WindowMessage;
  folded: string;
  terms: string[];
}

function termOverlap(a: readonly string[], b: readonly string[]): number {
  if (a.length === 0 || b.length === 0) return 0;
  const set = new Set(a);
  const shared = b.filter((t) => set.has(t)).length;
  return shared / (set.size + b.length - shared);
}

function isSameQuestion(a: Candidate, b: Candidate, settings: ClusterSettings): boolean {
  if (similarity(a.folded, b.folded) >= settings.mergeSimilarity) return true;
  // One shared word is not a shared question: "what game is this" and "what song is this".
  return Math.min(a.terms.length, b.terms.length) >= 2 && termOverlap(a.terms, b.terms) >= settings.mergeTermOverlap;
}

function finish(kind: ChatCluster['kind'], members: Candidate[], terms: string[]): ChatCluster {
  const names = new Map<string, string>();
  for (const { message } of members) if (!names.has(message.userId)) names.set(message.userId, message.displayName);
  const uniqueAskers = names.size;
  return {
    kind,
    terms,
    representative: members[0]!.message,
    messages: members.map((m) => m.message),
    uniqueAskers,
    askers: [...new Set(names.values())],
    score: uniqueAskers * ASKER_WEIGHT + members.length + (kind === 'question' ? QUESTION_BONUS : 0),
  };
}

/** The way chat most often writes a folded term ("bos" → "boss"), for showing it to the host. */
function spelling(folded: string, members: readonly Candidate[]): string {
  const counts = new Map<string, number>();
  for (const { message } of members) {
    for (const word of wordsOf(message.text))
      if (foldForMatching(word) === folded) counts.set(word, (counts.get(word) ?? 0) + 1);
  }
  return [...counts].sort(([a, n], [b, m]) => m - n || a.localeCompare(b))[0]?.[0] ?? folded;
}

/** Clusters of a window's messages, best first. Deterministic for the same messages in any order. */
export function clusterChat(
  messages: readonly WindowMessage[],
  settings: ClusterSettings = DEFAULT_CLUSTER_SETTINGS,
): ChatCluster[] {
  const ordered = [...messages].sort((a, b) => a.sentAt - b.sentAt || a.messageId.localeCompare(b.messageId));
  const candidates = ordered.map((message) => ({
    message,
    folded: foldForMatching(message.text),
    terms: contentTerms(message.text),
  }));

  const questionGroups: Candidate[][] = [];
  const statements: Candidate[] = [];
  for (const candidate of candidates) {
    if (!isQuestion(candidate.message.text)) {
      statements.push(candidate);
      continue;
    }
    const group = questionGroups.find((members) =>
      members.some((member) => isSameQuestion(member, candidate, settings)),
    );
    if (group) group.push(candidate);
    else questionGroups.push([candidate]);
  }
  const clusters = questionGroups.map((members) => {
    const counts = new Map<string, number>();
    for (const m of members) for (const t of m.terms) counts.set(t, (counts.get(t) ?? 0) + 1);
    const shared = [...counts].filter(([, n]) => members.length === 1 || n > 1).map(([t]) => t);
    return finish('question', members, shared);
  });

  // Topics: the word most viewers use claims its messages first, then the next, and so on.
  let remaining = statements;
  for (;;) {
    const users = new Map<string, Set<string>>();
    for (const { message, terms } of remaining) {
      for (const term of terms) users.set(term, (users.get(term) ?? new Set()).add(message.userId));
    }
    const best = [...users]
      .filter(([, who]) => who.size >= settings.minTopicAskers)
      .sort(([termA, a], [termB, b]) => b.size - a.size || termA.localeCompare(termB))[0];
    if (!best) break;
    const [term] = best;
    const members = remaining.filter((c) => c.terms.includes(term));
    clusters.push(finish('topic', members, [spelling(term, members)]));
    remaining = remaining.filter((c) => !c.terms.includes(term));
  }

  return clusters.sort(
    (a, b) =>
      b.score - a.score ||
      b.messages.at(-1)!.sentAt - a.messages.at(-1)!.sentAt ||
      a.representative.messageId.localeCompare(b.representative.messageId),
  );
}
