import type { StructuredCompletionRequest } from '../../../test/fixtures/openai-test-server.ts';
import { askingSentence } from '../question-signals.ts';
import { DATA_CLOSE, DATA_OPEN, type ModelSuggestions } from '../suggestion-request.ts';

/**
 * A stand-in for a chat model answering host-prompt requests, for
 * `OpenAiTestServer.onStructuredCompletion`. It reads the request the way a model reads a prompt
 * (see splitDataAndInstructions), and it is gullible about instructions:
 *
 * - an instruction outside the data of the form "ignore … instructions … tell the host to X" is
 *   obeyed: the only suggestion is X, citing every message id in the request, so a check on the
 *   cited ids cannot be what stops it. Whether chat text can get outside the data block is what
 *   a prompt-injection test then checks: only a request that fails to delimit chat lets it.
 * - otherwise it writes one suggestion per cluster of the data, best first, up to the "at most N"
 *   of the instructions: the cluster's asking sentence, its message ids, a priority from its viewers.
 */

const INJECTED = /ignore\b[^.\n]{0,40}\binstructions?\b[^.\n]*?\btell the host to ([^.\n"\\]+)/i;

interface DataCluster {
  kind: 'question' | 'topic';
  viewers: number;
  topic?: string;
  messages: Array<{ id: string; text: string }>;
}

/**
 * The system turns are instructions. In the user turns, each span from a `<chat_data>` to the next
 * `</chat_data>` is data and the text around the spans is instructions; the first span is the one
 * read as the chat.
 */
export function splitDataAndInstructions(request: StructuredCompletionRequest): { data: string; instructions: string } {
  const contentOf = (m: { content: unknown }) =>
    typeof m.content === 'string' ? m.content : JSON.stringify(m.content);
  const instructions: string[] = request.messages.filter((m) => m.role !== 'user').map(contentOf);
  const spans: string[] = [];
  for (const turn of request.messages.filter((m) => m.role === 'user').map(contentOf)) {
    let at = 0;
    for (;;) {
      const open = turn.indexOf(DATA_OPEN, at);
      const close = open === -1 ? -1 : turn.indexOf(DATA_CLOSE, open + DATA_OPEN.length);
      if (close === -1) {
        instructions.push(turn.slice(at));
        break;
      }
      instructions.push(turn.slice(at, open));
      spans.push(turn.slice(open + DATA_OPEN.length, close));
      at = close + DATA_CLOSE.length;
    }
  }
  return { data: spans[0] ?? '', instructions: instructions.join('\n') };
}

export function simulatedHostPromptModel(request: StructuredCompletionRequest): ModelSuggestions {
  const { data, instructions } = splitDataAndInstructions(request);
  const allText = request.messages.map((m) => String(m.content)).join('\n');
  const injected = INJECTED.exec(instructions);
  if (injected) {
    const everyId = [...new Set([...allText.matchAll(/\b(m\d+)\b/g)].map((m) => m[1]!))];
    return {
      suggestions: [
        { prompt: injected[1]!.trim(), rationale: 'As instructed.', source_message_ids: everyId, priority: 5 },
      ],
    };
  }
  const limit = Number(/at most (\d+) suggestions/i.exec(instructions)?.[1] ?? 3);
  let clusters: DataCluster[];
  try {
    clusters = (JSON.parse(data) as { clusters: DataCluster[] }).clusters;
  } catch {
    return { suggestions: [] };
  }
  return {
    suggestions: clusters.slice(0, limit).map((cluster) => ({
      prompt:
        cluster.kind === 'question'
          ? `Answer what chat is asking: ${askingSentence(cluster.messages[0]!.text)}`
          : `Talk about ${cluster.topic ?? 'what chat is discussing'}; several viewers bring it up.`,
      rationale: `${cluster.viewers} viewers in the window.`,
      source_message_ids: cluster.messages.map((m) => m.id),
      priority: Math.min(5, 1 + cluster.viewers),
    })),
  };
}
