import { connect } from 'node:net';

/**
 * HTTP/1.1 over a bare socket, for what fetch refuses to send: a body that trickles in, a
 * Content-Length that lies, bytes that are not UTF-8 in odd places.
 */
export interface RawAnswer {
  status: number;
  headers: Record<string, string>;
  body: string;
}

export function rawRequest(
  port: number,
  head: string,
  body: { chunks: Buffer[]; pauseAfterMs?: number },
  { timeoutMs = 30_000 }: { timeoutMs?: number } = {},
): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    const received: Buffer[] = [];
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no answer within ${timeoutMs} ms to ${head.split('\r\n')[0]}`));
    }, timeoutMs);
    socket.on('connect', () => {
      socket.write(head);
      for (const chunk of body.chunks) socket.write(chunk);
      // Left open on purpose when pausing: the server must give up on its own.
      if (body.pauseAfterMs === undefined) socket.end();
    });
    socket.on('data', (chunk) => received.push(chunk));
    socket.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    socket.on('close', () => {
      clearTimeout(timer);
      const text = Buffer.concat(received).toString('utf8');
      const [headPart = '', ...rest] = text.split('\r\n\r\n');
      const [statusLine = '', ...headerLines] = headPart.split('\r\n');
      const status = Number(statusLine.split(' ')[1]);
      if (!status) {
        reject(new Error(`not an HTTP answer: ${JSON.stringify(text.slice(0, 200))}`));
        return;
      }
      const headers = Object.fromEntries(
        headerLines.map((l) => [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 1).trim()]),
      );
      resolve({ status, headers, body: rest.join('\r\n\r\n') });
    });
  });
}
