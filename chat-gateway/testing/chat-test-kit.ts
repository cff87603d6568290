import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { io as connectSocket, type Socket as ClientSocket } from 'socket.io-client';
import { loadConfig, type Config } from '../../core/config.ts';
import { createLogger } from '../../core/logger.ts';
import { startPlatform, type RunningPlatform, type ServiceDefinition } from '../../core/platform.ts';
import { waitFor } from '../../test/wait-for.ts';
import { mintChatToken, type ChatRole } from '../../core/chat/chat-token.ts';
import { chatGatewayService } from '../service.ts';
import { CHAT_NAMESPACE } from '../../core/chat/protocol.ts';

/** The HS256 secret test gateways verify with. */
export const TEST_JWT_SECRET = 'chat-gateway-test-secret-0123456789abcdef';

export interface ChatGatewayUnderTest {
  url: string;
  platform: RunningPlatform;
  config: Config;
  dataDir: string;
  stop(): Promise<void>;
}

/**
 * Starts the platform in embedded mode with the chat gateway (and any other services) on a free
 * port and a fresh data directory, as `livepulse start chat-gateway` would.
 */
export async function startChatGateway(
  env: Record<string, string> = {},
  { services = [chatGatewayService], dataDir }: { services?: ServiceDefinition[]; dataDir?: string } = {},
): Promise<ChatGatewayUnderTest> {
  const directory = dataDir ?? (await mkdtemp(join(tmpdir(), 'livepulse-chat-test-')));
  const config = loadConfig({
    PORT: '0',
    LOG_LEVEL: 'silent',
    LIVEPULSE_DATA_DIR: directory,
    LIVEPULSE_JWT_SECRET: TEST_JWT_SECRET,
    ...env,
  });
  const platform = await startPlatform(config, services, createLogger('silent'));
  return {
    url: platform.url,
    platform,
    config,
    dataDir: directory,
    async stop() {
      await platform.stop();
      if (!dataDir) await rm(directory, { recursive: true, force: true });
    },
  };
}

export function testToken(
  sub: string,
  roles: Record<string, ChatRole>,
  extra: {
    ttlSeconds?: number;
    name?: string;
    follows?: Record<string, number>;
    subscriptions?: string[];
    secret?: string;
    issuedAt?: number;
  } = {},
) {
  return mintChatToken({
    secret: extra.secret ?? TEST_JWT_SECRET,
    sub,
    name: extra.name ?? sub,
    roles,
    ttlSeconds: extra.ttlSeconds ?? 600,
    ...(extra.follows && { follows: extra.follows }),
    ...(extra.subscriptions && { subscriptions: extra.subscriptions }),
    ...(extra.issuedAt !== undefined && { issuedAt: extra.issuedAt }),
  });
}

/** A socket.io client that records every event it receives, for assertions. */
export class ChatClient {
  readonly received: Array<{ event: string; payload: unknown }> = [];

  private constructor(readonly socket: ClientSocket) {
    socket.onAny((event: string, payload: unknown) => this.received.push({ event, payload }));
  }

  /** Connects and resolves once connected; rejects with the server's `connect_error`. */
  static async connect(
    url: string,
    token?: string,
    options: { auth?: Record<string, unknown>; headers?: Record<string, string> } = {},
  ): Promise<ChatClient> {
    const socket = connectSocket(`${url}${CHAT_NAMESPACE}`, {
      transports: ['websocket'],
      reconnection: false,
      forceNew: true,
      auth: options.auth ?? (token === undefined ? {} : { token }),
      ...(options.headers && { extraHeaders: options.headers }),
    });
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', () => resolve());
      socket.once('connect_error', (error) => {
        socket.close();
        reject(error);
      });
    });
    return new ChatClient(socket);
  }

  request<T = Record<string, unknown>>(event: string, payload?: unknown): Promise<T> {
    const timed = this.socket.timeout(10_000);
    return (payload === undefined ? timed.emitWithAck(event) : timed.emitWithAck(event, payload)) as Promise<T>;
  }

  async join(streamId: string) {
    return this.request<{
      ok: boolean;
      reason?: string;
      history?: Array<{ id: string; text: string }>;
      modes?: Record<string, unknown>;
      role?: string;
      canChat?: boolean;
      viewers?: number;
      sanction?: unknown;
    }>('join', { streamId });
  }

  send(text: unknown, clientMessageId = randomUUID().slice(0, 8)) {
    return this.request<{
      status: string;
      id?: string;
      reason?: string;
      detail?: string;
      retryAfterMs?: number;
      expiresAt?: number;
    }>('message', { text, clientMessageId });
  }

  /** Sends a message the inline heuristics hold for review (a link will do) and returns its id. */
  async sendHeld(text: string): Promise<string> {
    const ack = await this.send(text);
    if (ack.status !== 'held')
      throw new Error(`expected ${JSON.stringify(text)} to be held, got ${JSON.stringify(ack)}`);
    return ack.id!;
  }

  /** The ids of the held messages this (staff) client was shown. */
  heldIds(): string[] {
    return this.events<{ message: { id: string } }>('message:held').map((h) => h.message.id);
  }

  waitForHeld(messageId: string): Promise<unknown> {
    return this.waitForEvent('message:held', (h: { message: { id: string } }) => h.message.id === messageId);
  }

  events<T = Record<string, unknown>>(event: string): T[] {
    return this.received.filter((r) => r.event === event).map((r) => r.payload as T);
  }

  /** Waits for an event matching `predicate` (received before or after the call). */
  waitForEvent<T = Record<string, unknown>>(
    event: string,
    predicate: (payload: T) => boolean = () => true,
    timeoutMs = 10_000,
  ): Promise<T> {
    return waitFor(`"${event}" on ${this.socket.id ?? 'client'}`, () => this.events<T>(event).find(predicate), {
      timeoutMs,
      intervalMs: 10,
    });
  }

  close(): void {
    this.socket.close();
  }
}
