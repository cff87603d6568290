import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';

/**
 * A TCP proxy in front of one real server that can lose the server's answers: while dropping,
 * every request still reaches the server and is carried out, but the connection is cut as soon
 * as the answer comes back, as when a broker's reply is lost on the network or the broker goes
 * down between writing a batch and acknowledging it.
 */
export class AnswerDroppingProxy {
  private dropping = false;
  private readonly sockets = new Set<Socket>();
  private readonly server: Server;

  private constructor(target: { host: string; port: number }) {
    this.server = createServer((client) => this.relay(client, target));
  }

  static async start(target: { host: string; port: number }): Promise<AnswerDroppingProxy> {
    const proxy = new AnswerDroppingProxy(target);
    await new Promise<void>((resolve, reject) => {
      proxy.server.once('error', reject);
      proxy.server.listen(0, '127.0.0.1', resolve);
    });
    return proxy;
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  /** From now on, answers are lost and the connection that carried the request is cut. */
  dropAnswers(): void {
    this.dropping = true;
  }

  passAnswers(): void {
    this.dropping = false;
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise((resolve) => this.server.close(resolve));
  }

  private relay(client: Socket, target: { host: string; port: number }): void {
    const upstream = connect(target);
    const cut = () => {
      client.destroy();
      upstream.destroy();
    };
    for (const socket of [client, upstream]) {
      this.sockets.add(socket);
      socket.on('close', () => {
        this.sockets.delete(socket);
        cut();
      });
      socket.on('error', cut);
    }
    client.on('data', (chunk) => upstream.write(chunk));
    upstream.on('data', (chunk) => {
      if (this.dropping) cut();
      else client.write(chunk);
    });
  }
}
