/**
 * Just enough MPEG-TS (ISO/IEC 13818-1) to cut byte ranges out of recorded `.ts` segments:
 * a demuxer needs the program tables (PAT, then the PMT it points to) before it can read any
 * elementary stream, and a range taken from the middle of a segment may not carry them.
 */
export const TS_PACKET_SIZE = 188;
const SYNC_BYTE = 0x47;
const PAT_PID = 0x0000;
const SDT_PID = 0x0011;

export class MpegTsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MpegTsError';
  }
}

export function packetPid(data: Uint8Array, offset: number): number {
  if (data[offset] !== SYNC_BYTE) throw new MpegTsError(`no MPEG-TS sync byte at offset ${offset}`);
  return ((data[offset + 1]! & 0x1f) << 8) | data[offset + 2]!;
}

function payloadOffset(data: Uint8Array, offset: number): number {
  const adaptation = (data[offset + 3]! >> 4) & 0x3;
  let start = offset + 4;
  if (adaptation === 2 || adaptation === 0) return -1;
  if (adaptation === 3) start += 1 + data[offset + 4]!;
  const unitStart = (data[offset + 1]! & 0x40) !== 0;
  if (unitStart) start += 1 + data[start]!;
  return start;
}

/** PIDs of the program map tables a PAT packet lists (program 0, the network PID, excluded). */
export function pmtPidsFromPat(data: Uint8Array, offset: number): number[] {
  const start = payloadOffset(data, offset);
  if (start < 0 || data[start] !== 0x00) throw new MpegTsError('packet does not hold a program association section');
  const sectionLength = ((data[start + 1]! & 0x0f) << 8) | data[start + 2]!;
  const loopEnd = Math.min(start + 3 + sectionLength - 4, offset + TS_PACKET_SIZE);
  const pids: number[] = [];
  for (let entry = start + 8; entry + 4 <= loopEnd; entry += 4) {
    const programNumber = (data[entry]! << 8) | data[entry + 1]!;
    const pid = ((data[entry + 2]! & 0x1f) << 8) | data[entry + 3]!;
    if (programNumber !== 0) pids.push(pid);
  }
  return pids;
}

/**
 * The PAT and PMT packets from the head of a segment, concatenated: what to put in front of a
 * mid-segment byte range so ffmpeg can demux it. Throws when the head has no complete pair.
 */
export function programTablePackets(head: Uint8Array): Buffer {
  let pat: Uint8Array | undefined;
  let pmtPids: number[] = [];
  const pmts: Uint8Array[] = [];
  for (let offset = 0; offset + TS_PACKET_SIZE <= head.length; offset += TS_PACKET_SIZE) {
    const pid = packetPid(head, offset);
    const packet = head.subarray(offset, offset + TS_PACKET_SIZE);
    if (pid === PAT_PID && !pat) {
      pat = packet;
      pmtPids = pmtPidsFromPat(head, offset);
    } else if (pat && pmtPids.includes(pid) && !pmts.some((p) => packetPid(p, 0) === pid)) {
      pmts.push(packet);
    }
    if (pat && pmtPids.length > 0 && pmts.length === pmtPids.length) return Buffer.concat([pat, ...pmts]);
  }
  throw new MpegTsError(`no PAT and PMT in the first ${head.length} bytes of the segment`);
}

/** PMT PIDs of the first PAT in a segment. */
export function pmtPidsOfSegment(segment: Uint8Array): number[] {
  for (let offset = 0; offset + TS_PACKET_SIZE <= segment.length; offset += TS_PACKET_SIZE) {
    if (packetPid(segment, offset) === PAT_PID) return pmtPidsFromPat(segment, offset);
  }
  throw new MpegTsError('segment has no program association table');
}

export function startsWithProgramAssociation(data: Uint8Array): boolean {
  return data.length >= TS_PACKET_SIZE && packetPid(data, 0) === PAT_PID;
}

/**
 * Where a sub-range that starts with the keyframe at `keyframeOffset` should begin: moved back
 * over the SDT/PAT/PMT packets a muxer writes just before a keyframe, so the range is
 * demuxable on its own (IVS's byte-range playlists are cut at keyframes the same way).
 */
export function rangeStartBeforeKeyframe(
  segment: Uint8Array,
  keyframeOffset: number,
  pmtPids: readonly number[],
): number {
  if (keyframeOffset % TS_PACKET_SIZE !== 0)
    throw new MpegTsError(`keyframe offset ${keyframeOffset} is not on a packet boundary`);
  const tables = new Set([PAT_PID, SDT_PID, ...pmtPids]);
  let start = keyframeOffset;
  while (start >= TS_PACKET_SIZE && tables.has(packetPid(segment, start - TS_PACKET_SIZE))) start -= TS_PACKET_SIZE;
  return start;
}
