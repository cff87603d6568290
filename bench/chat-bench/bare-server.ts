/**
 * The baseline of bench:chat: a bare socket.io server doing only what a chat room must (join a
 * room, broadcast each message to it, acknowledge the sender), with no authentication,
 * moderation, bus or storage. Prints "listening <port>" when ready.
 */
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import { Server } from 'socket.io';

const http = createServer();
const io = new Server(http, { serveClient: false, maxHttpBufferSize: 16 * 1_024 });
const chat = io.of('/chat');
chat.on('connection', (socket) => {
  let room: string | null = null;
  socket.on('join', ({ streamId }: { streamId: string }, ack: (answer: unknown) => void) => {
    room = `stream:${streamId}`;
    void socket.join(room);
    ack({ ok: true });
  });
  socket.on('message', ({ text }: { text: string }, ack: (answer: unknown) => void) => {
    if (!room) return ack({ status: 'rejected', reason: 'not_joined' });
    const id = randomUUID();
    chat
      .to(room)
      .emit('message', { id, streamId: room.slice(7), userId: socket.id, name: 'bench', text, sentAt: Date.now() });
    ack({ status: 'delivered', id });
  });
});
http.listen(Number(process.env.PORT ?? 0), '127.0.0.1', () => {
  const address = http.address();
  process.stdout.write(`listening ${typeof address === 'object' && address ? address.port : ''}\n`);
});
process.on('SIGTERM', () => {
  void io.close();
  process.exit(0);
});
