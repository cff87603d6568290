/**
 * A child process of bench:chat holding a share of the room's viewers. It connects them, joins the
 * room, and for every chat message records send-to-receive latency (the sender puts its send
 * time in the text). Talks to the parent over IPC: `ready` once all are joined, `progress` (the
 * deliveries so far) when asked, `report` on `stop`.
 */
import { io, type Socket } from 'socket.io-client';
import { decodeNumber, merge as mergeInto, newHistogram, nowMs, record } from './latency-histogram.ts';

interface Start {
  url: string;
  namespace: string;
  streamId: string;
  tokens: Array<string | null>;
}

const histogram = newHistogram();
const receivedPerMessage = new Map<string, number>();
let deliveries = 0;
let lastDeliveryAt = 0;
const sockets: Socket[] = [];

function onMessage(payload: { text?: string }): void {
  const text = payload?.text ?? '';
  const [tag, sentAt] = text.split(' ');
  if (!tag || !sentAt) return;
  record(histogram, nowMs() - decodeNumber(sentAt) / 1_000);
  receivedPerMessage.set(tag, (receivedPerMessage.get(tag) ?? 0) + 1);
  deliveries++;
  lastDeliveryAt = nowMs();
}

async function connectAll({ url, namespace, streamId, tokens }: Start): Promise<void> {
  const batch = 50;
  for (let start = 0; start < tokens.length; start += batch) {
    await Promise.all(
      tokens.slice(start, start + batch).map(async (token) => {
        const socket = io(`${url}${namespace}`, { transports: ['websocket'], reconnection: false, forceNew: true, auth: token ? { token } : {} });
        sockets.push(socket);
        await new Promise<void>((resolve, reject) => {
          socket.once('connect', () => resolve());
          socket.once('connect_error', reject);
        });
        const joined = (await socket.timeout(30_000).emitWithAck('join', { streamId })) as { ok?: boolean };
        if (joined && joined.ok === false) throw new Error(`join refused: ${JSON.stringify(joined)}`);
        socket.on('message', onMessage);
      }),
    );
  }
}

process.on('message', (message: { type: string } & Partial<Start>) => {
  if (message.type === 'start') {
    connectAll(message as Start).then(
      () => process.send!({ type: 'ready', connected: sockets.length }),
      (error: unknown) => process.send!({ type: 'failed', error: String(error) }),
    );
  } else if (message.type === 'progress') {
    process.send!({ type: 'progress', deliveries });
  } else if (message.type === 'stop') {
    for (const socket of sockets) socket.close();
    const merged = newHistogram();
    mergeInto(merged, histogram);
    process.send!({ type: 'report', deliveries, lastDeliveryAt, histogram: merged, receivedPerMessage: Object.fromEntries(receivedPerMessage) }, () => process.exit(0));
  }
});
