import { ChatClient, testToken, type ChatGatewayUnderTest } from '../../chat-gateway/testing/chat-test-kit.ts';

/** Helpers the moderation loop tests share: a viewer who has joined a stream, and ClickHouse rows. */

/** Connects `sub` with `role` on `stream`, joins it, and keeps the client in `clients` to close after. */
export async function joinedViewer(
  gateway: ChatGatewayUnderTest,
  clients: ChatClient[],
  sub: string,
  stream: string,
  role: 'viewer' | 'moderator' = 'viewer',
): Promise<ChatClient> {
  const client = await ChatClient.connect(gateway.url, await testToken(sub, { [stream]: role }));
  clients.push(client);
  await client.join(stream);
  return client;
}

export async function analyticsRows<T>(gateway: ChatGatewayUnderTest, query: string): Promise<T[]> {
  const result = await gateway.platform.context.analytics.client.query({ query, format: 'JSONEachRow' });
  return result.json<T>();
}
