import type { ChatStore } from './chat-store/chat-store.ts';
import { roleOn, roleRank, type ChatIdentity, type ChatRole } from './chat-token.ts';

/** Where a stream's staff is kept: the chat store, beside the bans it protects them from. */
export type StaffRoster = Pick<ChatStore, 'grantStaff' | 'revokeStaff' | 'isStaff' | 'listStaff'>;

/**
 * A stream's staff: the moderators its host or an admin granted (`mod:staff:add`,
 * `PUT /v1/chat/streams/:id/staff/:userId`), kept server-side in the chat store, so every gateway
 * node and every action sees the same list and a restart keeps it (embedded mode writes it to the
 * chat state file with the bans). A grant lasts until it is revoked: unlike the role a user last
 * joined with, it does not lapse when the moderator stays away, so another moderator can never
 * sanction them. Anonymous readers are never staff.
 */
export class StreamStaff {
  constructor(private readonly roster: StaffRoster) {}

  /** The user's role on the stream: their token's, raised to moderator if the stream's staff includes them. */
  async roleOf(identity: ChatIdentity, streamId: string): Promise<ChatRole | null> {
    const byToken = roleOn(identity, streamId);
    if (identity.anonymous || roleRank(byToken) >= roleRank('moderator')) return byToken;
    return (await this.isModerator(streamId, identity.userId)) ? 'moderator' : byToken;
  }

  isModerator(streamId: string, userId: string): Promise<boolean> {
    return this.roster.isStaff(streamId, userId);
  }

  grant(streamId: string, userId: string): Promise<void> {
    return this.roster.grantStaff(streamId, userId);
  }

  /** True if the user was staff. */
  revoke(streamId: string, userId: string): Promise<boolean> {
    return this.roster.revokeStaff(streamId, userId);
  }

  list(streamId: string): Promise<string[]> {
    return this.roster.listStaff(streamId);
  }
}
