import { randomUUID } from 'node:crypto';
import type { Namespace } from 'socket.io';
import { roomOf } from './chat-fanout.ts';
import type { ViewersEvent } from '../core/chat/protocol.ts';

const PEER_EVENT = 'chat:viewer-counts';

const isStreamCount = (entry: unknown): entry is [string, number] =>
  Array.isArray(entry) && entry.length === 2 && typeof entry[0] === 'string' && typeof entry[1] === 'number';
const ROOM_PREFIX = roomOf('');

/**
 * Viewer counts per stream, pushed to each room at most once a second and only when they
 * changed: one coalesced broadcast per room instead of one per join or leave. Each node counts
 * its own sockets; with several nodes they share their counts every tick as a cluster event and
 * add up the others' latest, dropping a node that has been silent for a few ticks (it stopped or
 * died, and its sockets with it).
 */
export class ViewerCounts {
  private readonly nodeId = randomUUID();
  /** Maps, not plain objects: stream ids are clients' choice (`constructor` is a valid one). */
  private readonly peers = new Map<string, { counts: Map<string, number>; at: number }>();
  private readonly emitted = new Map<string, number>();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly nsp: Namespace,
    private readonly options: { clustered: boolean; intervalMs?: number },
  ) {
    if (options.clustered) {
      nsp.on(PEER_EVENT, (nodeId: unknown, counts: unknown) => {
        if (typeof nodeId === 'string' && nodeId !== this.nodeId && Array.isArray(counts)) {
          this.peers.set(nodeId, { counts: new Map(counts.filter(isStreamCount)), at: Date.now() });
        }
      });
    }
  }

  start(): void {
    this.timer = setInterval(() => this.tick(), this.options.intervalMs ?? 1_000);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /** The stream's current total across nodes. */
  count(streamId: string): number {
    return (this.localCounts().get(streamId) ?? 0) + this.peerTotal(streamId, Date.now());
  }

  tick(now = Date.now()): void {
    const local = this.localCounts();
    // Entries, not an object: a decoder would read a `__proto__` key as the object's prototype.
    if (this.options.clustered) this.nsp.serverSideEmit(PEER_EVENT, this.nodeId, [...local]);
    const streams = new Set(local.keys());
    for (const [nodeId, peer] of this.peers) {
      if (now - peer.at > this.peerTtlMs()) this.peers.delete(nodeId);
      else for (const streamId of peer.counts.keys()) streams.add(streamId);
    }
    for (const streamId of this.emitted.keys()) streams.add(streamId);
    for (const streamId of streams) {
      const total = (local.get(streamId) ?? 0) + this.peerTotal(streamId, now);
      if (this.emitted.get(streamId) === total) continue;
      if (total === 0) this.emitted.delete(streamId);
      else this.emitted.set(streamId, total);
      // Only this node's sockets: every node tells its own viewers the same total.
      if (local.get(streamId))
        this.nsp.local.to(roomOf(streamId)).emit('viewers', { streamId, count: total } satisfies ViewersEvent);
    }
  }

  private peerTtlMs(): number {
    return 3.5 * (this.options.intervalMs ?? 1_000);
  }

  private peerTotal(streamId: string, now: number): number {
    let total = 0;
    for (const peer of this.peers.values())
      if (now - peer.at <= this.peerTtlMs()) total += peer.counts.get(streamId) ?? 0;
    return total;
  }

  private localCounts(): Map<string, number> {
    const counts = new Map<string, number>();
    for (const [room, sockets] of this.nsp.adapter.rooms) {
      if (room.startsWith(ROOM_PREFIX)) counts.set(room.slice(ROOM_PREFIX.length), sockets.size);
    }
    return counts;
  }
}
