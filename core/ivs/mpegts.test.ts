import { describe, expect, it } from 'vitest';
import {
  MpegTsError,
  packetPid,
  pmtPidsFromPat,
  pmtPidsOfSegment,
  programTablePackets,
  rangeStartBeforeKeyframe,
  startsWithProgramAssociation,
  TS_PACKET_SIZE,
} from './mpegts.ts';

/** A 188-byte packet: sync byte, PUSI flag, PID, payload-only, then the payload (padded with 0xff). */
function packet(pid: number, payload: number[], unitStart = true): Buffer {
  const bytes = Buffer.alloc(TS_PACKET_SIZE, 0xff);
  bytes[0] = 0x47;
  bytes[1] = (unitStart ? 0x40 : 0) | ((pid >> 8) & 0x1f);
  bytes[2] = pid & 0xff;
  bytes[3] = 0x10;
  Buffer.from(payload).copy(bytes, 4);
  return bytes;
}

/** PAT listing programs → PMT PIDs (pointer field 0, table 0x00, CRC left as zeros). */
function pat(programs: Array<[number, number]>): Buffer {
  const sectionLength = 5 + programs.length * 4 + 4;
  const body = [0x00, 0x00, 0xb0 | ((sectionLength >> 8) & 0x0f), sectionLength & 0xff, 0x00, 0x01, 0xc1, 0x00, 0x00];
  for (const [number, pid] of programs) body.push(number >> 8, number & 0xff, 0xe0 | (pid >> 8), pid & 0xff);
  body.push(0, 0, 0, 0);
  return packet(0, body);
}

const PMT = packet(0x1000, [0x00, 0x02, 0xb0, 0x12]);
const VIDEO = packet(0x100, [0x00, 0x00, 0x01, 0xe0]);
const AUDIO = packet(0x101, [0x00, 0x00, 0x01, 0xc0]);
const SDT = packet(0x11, [0x00, 0x42]);

describe('MPEG-TS program tables', () => {
  it('reads the PMT PIDs of a PAT, skipping the network PID', () => {
    const table = pat([
      [0, 0x10],
      [1, 0x1000],
    ]);
    expect(packetPid(table, 0)).toBe(0);
    expect(pmtPidsFromPat(table, 0)).toEqual([0x1000]);
  });

  it('extracts PAT + PMT from a segment head, whatever comes around them', () => {
    const head = Buffer.concat([SDT, pat([[1, 0x1000]]), VIDEO, PMT, AUDIO]);
    const tables = programTablePackets(head);
    expect(tables.length).toBe(2 * TS_PACKET_SIZE);
    expect([packetPid(tables, 0), packetPid(tables, TS_PACKET_SIZE)]).toEqual([0, 0x1000]);
    expect(pmtPidsOfSegment(head)).toEqual([0x1000]);
  });

  it('refuses a head without the tables, or data that is not MPEG-TS', () => {
    expect(() => programTablePackets(Buffer.concat([VIDEO, AUDIO]))).toThrow(MpegTsError);
    expect(() => programTablePackets(Buffer.alloc(TS_PACKET_SIZE))).toThrow(/no MPEG-TS sync byte/);
  });

  it('moves a keyframe range start back over the tables written just before it', () => {
    const segment = Buffer.concat([SDT, pat([[1, 0x1000]]), PMT, VIDEO, AUDIO, pat([[1, 0x1000]]), PMT, VIDEO, AUDIO]);
    const keyframe = 7 * TS_PACKET_SIZE;
    const start = rangeStartBeforeKeyframe(segment, keyframe, [0x1000]);
    expect(start).toBe(5 * TS_PACKET_SIZE);
    expect(startsWithProgramAssociation(segment.subarray(start))).toBe(true);
    expect(startsWithProgramAssociation(segment.subarray(keyframe))).toBe(false);
    expect(() => rangeStartBeforeKeyframe(segment, 100, [0x1000])).toThrow(/packet boundary/);
  });
});
