import { randomUUID } from 'node:crypto';
import type { Bus } from '../core/bus/bus.ts';
import type { LiveState } from '../core/live-state/live-state.ts';
import {
  applyPolicyPatch,
  setShieldMode,
  type AutoModPolicy,
  type AutoModPolicyPatch,
  type ChannelSettings,
  type ChatModes,
  type ChatModesPatch,
} from '../core/moderation/channel-settings.ts';
import {
  InvalidTermError,
  MAX_TERMS_PER_CHANNEL,
  validateTerm,
  type ChannelTerm,
} from '../core/moderation/term-rules.ts';
import type { ChannelRulesCache } from './channel-rules-cache.ts';
import type { ChatFanout } from './chat-fanout.ts';
import type { ChatMetrics } from './chat-metrics.ts';
import type { ChatStore, Sanction } from '../core/chat/chat-store/chat-store.ts';
import {
  canConfigurePolicy,
  canModerate,
  CHAT_ROLES,
  highestRole,
  roleOn,
  roleRank,
  type ChatIdentity,
  type ChatRole,
} from '../core/chat/chat-token.ts';
import type { HeldMessages } from './held-messages.ts';
import { liveKeys } from './message-intake.ts';
import { StreamStaff } from '../core/chat/stream-staff.ts';
import type {
  AddTermRequest,
  BanRequest,
  DeleteMessageRequest,
  HeldMessageView,
  PermitRequest,
  RejectionReason,
  RemoveTermRequest,
  ReviewRequest,
  StaffRequest,
  TimeoutRequest,
  UnbanRequest,
} from '../core/chat/protocol.ts';
import { publishVerdict } from '../core/moderation/verdict-records.ts';

export class ModerationActionError extends Error {
  constructor(
    readonly reason: Extract<RejectionReason, 'forbidden' | 'not_found' | 'invalid_term' | 'invalid_payload'>,
    message: string,
  ) {
    super(message);
    this.name = 'ModerationActionError';
  }
}

const forbidden = (message: string) => new ModerationActionError('forbidden', message);
const VIEWER_ROLE_TTL_MS = 24 * 60 * 60_000;
/** CHAT_HISTORY_SIZE's ceiling: a deleted message's author is looked up in the whole history kept. */
const HISTORY_LOOKUP = 500;
const DEFAULT_PERMIT_SECONDS = 60;

/**
 * Every moderator tool, shared by the socket.io events and the HTTP API: authorise the actor on
 * the stream, audit the action on `chat.verdicts` (who, what, when, why) before it takes effect,
 * apply it to the shared store, and tell the clients. A role comes from the actor's verified
 * token or from the stream's staff (moderators its host or an admin granted, kept server-side);
 * a moderator cannot sanction (time out, ban, delete the messages of) the host, an admin, another
 * moderator or themselves.
 */
export class ModeratorActions {
  private readonly staff: StreamStaff;

  constructor(
    private readonly deps: {
      store: ChatStore;
      liveState: LiveState;
      bus: Bus;
      fanout: ChatFanout;
      held: HeldMessages;
      rules: ChannelRulesCache;
      defaults: () => ChannelSettings;
      metrics: ChatMetrics;
    },
  ) {
    this.staff = new StreamStaff(deps.store);
  }

  /** The user's role on the stream: their token's, raised to moderator if the stream's staff includes them. */
  roleOf(identity: ChatIdentity, streamId: string): Promise<ChatRole | null> {
    return this.staff.roleOf(identity, streamId);
  }

  async deleteMessage(
    actor: ChatIdentity,
    streamId: string,
    request: DeleteMessageRequest,
  ): Promise<{ removed: boolean }> {
    const role = await this.requireModerator(actor, streamId);
    const reason = request.reason ?? 'removed by a moderator';
    // A held message is not in the room yet: deleting it is denying it.
    const denied = await this.deps.held.resolve(streamId, request.messageId, 'deny', {
      source: 'moderator',
      actorId: actor.userId,
      reason,
    });
    if (denied) return this.done('deny', { removed: true });
    const message = (await this.deps.store.recentHistory(streamId, HISTORY_LOOKUP)).find(
      (m) => m.id === request.messageId,
    );
    if (message && message.userId !== actor.userId)
      await this.requireOutranks(actor, role, streamId, message.userId, message.role);
    await this.audit(actor, role, streamId, { action: 'remove', messageId: request.messageId, reason });
    const removed = await this.deps.store.removeFromHistory(streamId, { messageId: request.messageId });
    this.deps.fanout.removed(streamId, { id: request.messageId, reason });
    return this.done('remove', { removed: removed.length > 0 });
  }

  timeout(actor: ChatIdentity, streamId: string, request: TimeoutRequest): Promise<{ sanction: Sanction }> {
    const durationMs = request.durationSeconds * 1_000;
    return this.sanction(
      actor,
      streamId,
      request.userId,
      'timeout',
      Date.now() + durationMs,
      request.reason ?? 'timed out by a moderator',
      durationMs,
    );
  }

  ban(actor: ChatIdentity, streamId: string, request: BanRequest): Promise<{ sanction: Sanction }> {
    return this.sanction(actor, streamId, request.userId, 'ban', null, request.reason ?? 'banned by a moderator');
  }

  async unban(actor: ChatIdentity, streamId: string, request: UnbanRequest): Promise<{ lifted: boolean }> {
    const role = await this.requireModerator(actor, streamId);
    const reason = 'lifted by a moderator';
    await this.audit(actor, role, streamId, { action: 'unban', targetUserId: request.userId, reason });
    const lifted = await this.deps.store.deleteSanction(streamId, request.userId);
    if (lifted) this.deps.fanout.userTimeout(streamId, { userId: request.userId, kind: 'lifted', until: null, reason });
    return this.done('unban', { lifted });
  }

  approve(actor: ChatIdentity, streamId: string, request: ReviewRequest): Promise<{ id: string }> {
    return this.review(actor, streamId, request, 'release');
  }

  deny(actor: ChatIdentity, streamId: string, request: ReviewRequest): Promise<{ id: string }> {
    return this.review(actor, streamId, request, 'deny');
  }

  /** Nightbot/Fossabot `!permit`: the user may post links for `seconds` (default 60). */
  async permit(
    actor: ChatIdentity,
    streamId: string,
    request: PermitRequest,
  ): Promise<{ userId: string; expiresAt: number }> {
    const role = await this.requireModerator(actor, streamId);
    const seconds = request.seconds ?? DEFAULT_PERMIT_SECONDS;
    await this.audit(actor, role, streamId, {
      action: 'permit',
      targetUserId: request.userId,
      reason: `links allowed for ${seconds} s`,
      durationMs: seconds * 1_000,
    });
    await this.deps.liveState.set(liveKeys.linkPermit(streamId, request.userId), actor.userId, seconds * 1_000);
    return this.done('permit', { userId: request.userId, expiresAt: Date.now() + seconds * 1_000 });
  }

  async listHeld(actor: ChatIdentity, streamId: string): Promise<{ held: HeldMessageView[] }> {
    await this.requireModerator(actor, streamId);
    const held = await this.deps.store.listHeld(streamId, Date.now());
    return { held: held.map(({ message, reasons, heldAt, expiresAt }) => ({ message, reasons, heldAt, expiresAt })) };
  }

  async listSanctions(actor: ChatIdentity, streamId: string): Promise<{ sanctions: Sanction[] }> {
    await this.requireModerator(actor, streamId);
    return { sanctions: await this.deps.store.listSanctions(streamId, Date.now()) };
  }

  async listTerms(actor: ChatIdentity, streamId: string): Promise<{ terms: ChannelTerm[] }> {
    await this.requireModerator(actor, streamId);
    const now = Date.now();
    const terms = await this.deps.store.listTerms(streamId);
    return {
      terms: terms
        .filter((t) => t.expires_at === undefined || t.expires_at > now)
        .sort((a, b) => a.created_at - b.created_at),
    };
  }

  async addTerm(actor: ChatIdentity, streamId: string, request: AddTermRequest): Promise<{ term: ChannelTerm }> {
    const role = await this.requireModerator(actor, streamId);
    const now = Date.now();
    const term: ChannelTerm = {
      id: randomUUID(),
      kind: request.kind,
      text: request.text,
      action: request.action ?? 'block',
      created_by: actor.userId,
      created_at: now,
      ...(request.expiresInSeconds !== undefined && { expires_at: now + request.expiresInSeconds * 1_000 }),
    };
    try {
      await validateTerm(term);
    } catch (error) {
      if (error instanceof InvalidTermError) throw new ModerationActionError('invalid_term', error.message);
      throw error;
    }
    if ((await this.deps.store.listTerms(streamId)).length >= MAX_TERMS_PER_CHANNEL) {
      throw new ModerationActionError(
        'invalid_term',
        `the channel already has ${MAX_TERMS_PER_CHANNEL} terms; remove some first`,
      );
    }
    await this.audit(actor, role, streamId, {
      action: termAction(term),
      reason: `${term.kind} term added`,
      details: { op: 'add', term },
    });
    if (!(await this.deps.store.putTerm(streamId, term, MAX_TERMS_PER_CHANNEL))) {
      throw new ModerationActionError(
        'invalid_term',
        `the channel already has ${MAX_TERMS_PER_CHANNEL} terms; remove some first`,
      );
    }
    this.channelChanged(streamId);
    return this.done(termAction(term), { term });
  }

  async removeTerm(actor: ChatIdentity, streamId: string, request: RemoveTermRequest): Promise<{ term: ChannelTerm }> {
    const role = await this.requireModerator(actor, streamId);
    const existing = (await this.deps.store.listTerms(streamId)).find((t) => t.id === request.termId);
    if (!existing) throw new ModerationActionError('not_found', `no term ${request.termId} on this stream`);
    await this.audit(actor, role, streamId, {
      action: termAction(existing),
      reason: `${existing.kind} term removed`,
      details: { op: 'remove', term: existing },
    });
    await this.deps.store.deleteTerm(streamId, request.termId);
    this.channelChanged(streamId);
    return this.done(termAction(existing), { term: existing });
  }

  async getSettings(actor: ChatIdentity, streamId: string): Promise<ChannelSettings> {
    await this.requireModerator(actor, streamId);
    return (await this.deps.rules.get(streamId)).settings;
  }

  async setModes(actor: ChatIdentity, streamId: string, patch: ChatModesPatch): Promise<{ modes: ChatModes }> {
    const role = await this.requireModerator(actor, streamId);
    await this.audit(actor, role, streamId, { action: 'modes', reason: 'chat modes changed', details: patch });
    const settings = await this.updateSettings(streamId, (s) => ({ ...s, modes: { ...s.modes, ...patch } }));
    this.deps.fanout.modes(streamId, settings.modes);
    return this.done('modes', { modes: settings.modes });
  }

  async setShield(
    actor: ChatIdentity,
    streamId: string,
    enabled: boolean,
  ): Promise<{ modes: ChatModes; policy: AutoModPolicy }> {
    const role = await this.requireModerator(actor, streamId);
    await this.audit(actor, role, streamId, {
      action: 'modes',
      reason: enabled ? 'shield mode on' : 'shield mode off',
      details: { shield: enabled },
    });
    const settings = await this.updateSettings(streamId, (s) => setShieldMode(s, enabled));
    this.deps.fanout.modes(streamId, settings.modes);
    return this.done('modes', { modes: settings.modes, policy: settings.policy });
  }

  async setPolicy(
    actor: ChatIdentity,
    streamId: string,
    patch: AutoModPolicyPatch,
  ): Promise<{ policy: AutoModPolicy }> {
    const role = this.requireHost(actor, streamId, 'change AutoMod levels');
    await this.audit(actor, role, streamId, { action: 'policy', reason: 'AutoMod policy changed', details: patch });
    const settings = await this.updateSettings(streamId, (s) => ({ ...s, policy: applyPolicyPatch(s.policy, patch) }));
    return this.done('policy', { policy: settings.policy });
  }

  /** Twitch's `/mod`: the host or an admin makes a user a moderator of the stream. */
  async grantStaff(
    actor: ChatIdentity,
    streamId: string,
    request: StaffRequest,
  ): Promise<{ userId: string; role: 'moderator' }> {
    const role = this.requireHost(actor, streamId, 'grant moderator rights');
    if (request.userId.startsWith('anon:'))
      throw new ModerationActionError('invalid_payload', 'anonymous readers cannot be staff');
    await this.audit(actor, role, streamId, {
      action: 'staff',
      targetUserId: request.userId,
      reason: 'made a moderator',
      details: { op: 'grant', role: 'moderator' },
    });
    await this.staff.grant(streamId, request.userId);
    return this.done('staff', { userId: request.userId, role: 'moderator' });
  }

  /** Twitch's `/unmod`: only grants are revoked; a role in the user's token stays the token issuer's to change. */
  async revokeStaff(actor: ChatIdentity, streamId: string, request: StaffRequest): Promise<{ revoked: boolean }> {
    const role = this.requireHost(actor, streamId, 'revoke moderator rights');
    await this.audit(actor, role, streamId, {
      action: 'staff',
      targetUserId: request.userId,
      reason: 'no longer a moderator',
      details: { op: 'revoke' },
    });
    const revoked = await this.staff.revoke(streamId, request.userId);
    if (revoked) {
      // The role they joined with came from the grant; their next join records their token's.
      await this.deps.liveState.delete(liveKeys.lastRole(streamId, request.userId));
      this.deps.fanout.staffRevoked(streamId, request.userId);
    }
    return this.done('staff', { revoked });
  }

  async listStaff(actor: ChatIdentity, streamId: string): Promise<{ moderators: string[] }> {
    await this.requireModerator(actor, streamId);
    return { moderators: await this.staff.list(streamId) };
  }

  private async sanction(
    actor: ChatIdentity,
    streamId: string,
    userId: string,
    kind: Sanction['kind'],
    until: number | null,
    reason: string,
    durationMs?: number,
  ): Promise<{ sanction: Sanction }> {
    const role = await this.requireModerator(actor, streamId);
    await this.requireOutranks(actor, role, streamId, userId);
    await this.audit(actor, role, streamId, {
      action: kind,
      targetUserId: userId,
      reason,
      ...(durationMs !== undefined && { durationMs }),
    });
    const sanction: Sanction = { kind, user_id: userId, until, reason, by: actor.userId, at: Date.now() };
    await this.deps.store.putSanction(streamId, sanction);
    // As on Twitch, a banned or timed-out user's recent messages leave the chat.
    await this.deps.store.removeFromHistory(streamId, { userId });
    this.deps.fanout.userTimeout(streamId, { userId, kind, until, reason });
    return this.done(kind, { sanction });
  }

  private async review(
    actor: ChatIdentity,
    streamId: string,
    request: ReviewRequest,
    action: 'release' | 'deny',
  ): Promise<{ id: string }> {
    await this.requireModerator(actor, streamId);
    const held = await this.deps.held.resolve(streamId, request.messageId, action, {
      source: 'moderator',
      actorId: actor.userId,
      ...(request.reason !== undefined && { reason: request.reason }),
    });
    if (!held)
      throw new ModerationActionError(
        'not_found',
        `message ${request.messageId} is not awaiting review (already decided, or expired)`,
      );
    return this.done(action, { id: request.messageId });
  }

  private async requireModerator(actor: ChatIdentity, streamId: string): Promise<ChatRole> {
    const role = await this.roleOf(actor, streamId);
    if (!canModerate(role)) throw forbidden(`moderating stream ${streamId} needs the moderator, host or admin role`);
    return role!;
  }

  /** Host and admin powers come from the token only: staff are moderators, never hosts. */
  private requireHost(actor: ChatIdentity, streamId: string, what: string): ChatRole {
    const role = roleOn(actor, streamId);
    if (!canConfigurePolicy(role)) throw forbidden(`only the host or an admin may ${what}`);
    return role!;
  }

  /**
   * The target's role is the highest of: staff (a grant never lapses), the role they last joined
   * the stream with, and the badge on the message being deleted; a user never seen is a viewer.
   */
  private async requireOutranks(
    actor: ChatIdentity,
    actorRole: ChatRole,
    streamId: string,
    targetUserId: string,
    badge?: ChatRole,
  ): Promise<void> {
    if (targetUserId === actor.userId) throw forbidden('you cannot sanction yourself');
    const [stored, isStaff] = await Promise.all([
      this.deps.liveState.get(liveKeys.lastRole(streamId, targetUserId)),
      this.staff.isModerator(streamId, targetUserId),
    ]);
    const joinedAs = (CHAT_ROLES as readonly string[]).includes(stored ?? '') ? (stored as ChatRole) : null;
    const targetRole = highestRole('viewer', joinedAs, isStaff ? 'moderator' : null, badge) ?? 'viewer';
    if (roleRank(targetRole) >= roleRank(actorRole)) throw forbidden(`a ${actorRole} cannot sanction a ${targetRole}`);
  }

  private audit(
    actor: ChatIdentity,
    role: ChatRole,
    streamId: string,
    input: {
      action: Parameters<typeof publishVerdict>[1]['action'];
      reason: string;
      messageId?: string;
      targetUserId?: string;
      durationMs?: number;
      details?: unknown;
    },
  ) {
    return publishVerdict(this.deps.bus, {
      ...input,
      streamId,
      source: 'moderator',
      actorId: actor.userId,
      flags: [{ category: `role.${role}` }],
    });
  }

  private updateSettings(
    streamId: string,
    change: (current: ChannelSettings) => ChannelSettings,
  ): Promise<ChannelSettings> {
    return this.deps.store
      .updateSettings(streamId, this.deps.defaults(), change)
      .finally(() => this.channelChanged(streamId));
  }

  private channelChanged(streamId: string): void {
    this.deps.rules.invalidate(streamId);
    this.deps.fanout.settingsChanged(streamId);
  }

  private done<T>(action: string, result: T): T {
    this.deps.metrics.moderatorActions.inc({ action });
    return result;
  }
}

const termAction = (term: ChannelTerm) => (term.kind === 'blocked' ? 'blocked_terms' : 'permitted_terms');

/**
 * Remembers the role a user joined a stream with, for `requireOutranks`: a moderator's, host's or
 * admin's until they join with another, so their protection does not lapse while they are away;
 * a viewer's for a day.
 */
export function rememberRole(liveState: LiveState, streamId: string, userId: string, role: ChatRole): Promise<void> {
  const key = liveKeys.lastRole(streamId, userId);
  return canModerate(role) ? liveState.set(key, role) : liveState.set(key, role, VIEWER_ROLE_TTL_MS);
}
