/**
 * A child process of bench:chat holding a share of the room's viewers. It connects them, joins the
 * room, and for every chat message records send-to-receive latency (the sender puts its send
 * time in the text). Talks to the parent over IPC: `ready` once all are joined, `progress` (the
 * deliveries so far) when asked, `report` on `stop`.
 *
 * The viewers speak the Socket.IO v5 / Engine.IO v4 wire protocol directly over `ws` instead of
 * through socket.io-client: 2,000 full clients cost more CPU than the server they measure, and on
 * a small machine the bench would time its own clients. The frames are the ones a browser client
 * exchanges: open → namespace CONNECT with auth → `join` with an ack → events; pings answered.
 */
import WebSocket from 'ws';
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
const sockets: WebSocket[] = [];
/** The text of a chat `message` event: `<tag> <sent-at>`; a regex, so no JSON parse per delivery. */
const MESSAGE_TEXT = /"text":"([^ "]+) ([^"]+)"/;

function onChatEvent(frame: string): void {
  const match = MESSAGE_TEXT.exec(frame);
  if (!match) return;
  const [, tag, sentAt] = match;
  record(histogram, nowMs() - decodeNumber(sentAt!) / 1_000);
  receivedPerMessage.set(tag!, (receivedPerMessage.get(tag!) ?? 0) + 1);
  deliveries++;
  lastDeliveryAt = nowMs();
}

/** One viewer: resolves once the server has acknowledged its `join`. */
function connectViewer({ url, namespace, streamId }: Start, token: string | null): Promise<void> {
  const socket = new WebSocket(`${url.replace(/^http/, 'ws')}/socket.io/?EIO=4&transport=websocket`, {
    perMessageDeflate: false,
  });
  sockets.push(socket);
  const eventPrefix = `42${namespace},`;
  return new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('viewer did not join within 30 s')), 30_000);
    socket.on('error', reject);
    socket.on('message', (data: Buffer) => {
      const frame = data.toString();
      if (frame.startsWith(eventPrefix)) return onChatEvent(frame);
      if (frame === '2') return socket.send('3'); // Engine.IO ping → pong
      if (frame[0] === '0') return socket.send(`40${namespace},${JSON.stringify(token ? { token } : {})}`); // open → CONNECT
      if (frame.startsWith(`40${namespace},`))
        return socket.send(`42${namespace},1${JSON.stringify(['join', { streamId }])}`);
      if (frame.startsWith(`44${namespace},`)) return reject(new Error(`connect refused: ${frame}`));
      if (frame.startsWith(`43${namespace},1`)) {
        clearTimeout(timer);
        const [ack] = JSON.parse(frame.slice(`43${namespace},1`.length)) as [{ ok?: boolean }];
        return ack?.ok === false ? reject(new Error(`join refused: ${frame}`)) : resolve();
      }
    });
  });
}

async function connectAll(start: Start): Promise<void> {
  const batch = 50;
  for (let from = 0; from < start.tokens.length; from += batch) {
    await Promise.all(start.tokens.slice(from, from + batch).map((token) => connectViewer(start, token)));
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
    for (const socket of sockets) socket.terminate();
    const merged = newHistogram();
    mergeInto(merged, histogram);
    process.send!(
      {
        type: 'report',
        deliveries,
        lastDeliveryAt,
        histogram: merged,
        receivedPerMessage: Object.fromEntries(receivedPerMessage),
      },
      () => process.exit(0),
    );
  }
});
