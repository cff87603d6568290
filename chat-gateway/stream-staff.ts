import type { LiveState } from '../core/live-state/live-state.ts';
import { roleOn, roleRank, type ChatIdentity, type ChatRole } from './chat-token.ts';

/**
 * A stream's staff: the moderators its host or an admin granted (`mod:staff:add`,
 * `PUT /v1/chat/streams/:id/staff/:userId`), kept server-side in live state so every gateway node
 * and every action sees the same list. A grant lasts until it is revoked: unlike the role a user
 * last joined with, it does not lapse when the moderator stays away, so another moderator can
 * never sanction them. Anonymous readers are never staff.
 */
export class StreamStaff {
  constructor(private readonly liveState: LiveState) {}

  /** The user's role on the stream: their token's, raised to moderator if the stream's staff includes them. */
  async roleOf(identity: ChatIdentity, streamId: string): Promise<ChatRole | null> {
    const byToken = roleOn(identity, streamId);
    if (identity.anonymous || roleRank(byToken) >= roleRank('moderator')) return byToken;
    return (await this.isModerator(streamId, identity.userId)) ? 'moderator' : byToken;
  }

  isModerator(streamId: string, userId: string): Promise<boolean> {
    return this.liveState.hasMember(staffKey(streamId), userId);
  }

  grant(streamId: string, userId: string): Promise<void> {
    return this.liveState.addMembers(staffKey(streamId), [userId]);
  }

  /** True if the user was staff. */
  async revoke(streamId: string, userId: string): Promise<boolean> {
    return (await this.liveState.removeMembers(staffKey(streamId), [userId])) > 0;
  }

  list(streamId: string): Promise<string[]> {
    return this.liveState.members(staffKey(streamId));
  }
}

export const staffKey = (streamId: string) => `chat:staff:${streamId}`;
