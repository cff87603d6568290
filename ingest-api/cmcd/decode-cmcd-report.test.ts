import { describe, expect, it } from 'vitest';
import { decodeCmcdReport, MAX_CMCD_LINE_LENGTH, TooManyCmcdLinesError } from './decode-cmcd-report.ts';
import { deterministicUuid } from './deterministic-uuid.ts';

const good = 'cid="stream-9",e=ps,sf=h,sid="sess-1",sn=2,sta=s,ts=1795446745627,v=2';
const goodInterval =
  'bl=(4000),br=(2500),cid="stream-9",e=t,mtp=(5000),sid="sess-1",sn=3,st=l,sta=p,ts=1795446745628,v=2';

describe('decodeCmcdReport', () => {
  it('decodes newline-separated event lines, as hls.js and CML send them', () => {
    const report = decodeCmcdReport(`${good}\n${goodInterval}`, 300);
    expect(report.rejected).toEqual([]);
    expect(report.lines.map((l) => l.data)).toEqual([
      { cid: 'stream-9', e: 'ps', sf: 'h', sid: 'sess-1', sn: 2, sta: 's', ts: 1795446745627, v: 2 },
      {
        bl: [4000],
        br: [2500],
        cid: 'stream-9',
        e: 't',
        mtp: [5000],
        sid: 'sess-1',
        sn: 3,
        st: 'l',
        sta: 'p',
        ts: 1795446745628,
        v: 2,
      },
    ]);
  });

  it('accepts CRLF and skips blank lines', () => {
    expect(decodeCmcdReport(`${good}\r\n\r\n${goodInterval}\r\n`, 300).lines.map((l) => l.index)).toEqual([0, 1]);
  });

  it.each([
    ['garbage', 'not cmcd at all!', '/', /structured-field/],
    ['a __proto__ key', '__proto__=1,e=t', '/', /structured-field/],
    ['no event type', 'sid="s",ts=1795446745627,v=2', '/e', /requires the "e" key/],
    ['no timestamp', 'e=t,sid="s",v=2', '/ts', /requires the "ts" key/],
    ['version 1', 'e=t,sid="s",ts=1795446745627', '/v', /"v" key/],
    ['an unknown state', 'e=ps,sid="s",sta=zz,ts=1795446745627,v=2', '/sta', /invalid token/],
    ['a numeric session id', 'e=t,sid=1,ts=1795446745627,v=2', '/sid', /must be a string/],
    ['a fractional timestamp', 'e=t,sid="s",ts=1.5,v=2', '/ts', /integer/],
    ['an unknown key', 'e=t,sid="s",ts=1795446745627,v=2,zz=1', '/zz', /Unknown CMCD key/],
    ['an endless line', `e=t,sid="${'x'.repeat(MAX_CMCD_LINE_LENGTH)}"`, '/', /longer than/],
  ])('rejects %s on its own line', (_what, bad, path, message) => {
    const report = decodeCmcdReport(`${good}\n${bad}`, 300);
    expect(report.lines.map((l) => l.index)).toEqual([0]);
    expect(report.rejected).toHaveLength(1);
    expect(report.rejected[0]!.index).toBe(1);
    expect(report.rejected[0]!.errors[0]!.path).toBe(path);
    expect(report.rejected[0]!.errors[0]!.message).toMatch(message);
  });

  it('refuses a report with more lines than a request may carry', () => {
    expect(() => decodeCmcdReport(Array(4).fill(good).join('\n'), 3)).toThrow(TooManyCmcdLinesError);
  });
});

describe('deterministicUuid', () => {
  it('is a stable, well-formed UUID per name', () => {
    const id = deterministicUuid('shop|sess-1|3|1795446745627|t|heartbeat|0');
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(deterministicUuid('shop|sess-1|3|1795446745627|t|heartbeat|0')).toBe(id);
    expect(deterministicUuid('shop|sess-1|4|1795446745627|t|heartbeat|0')).not.toBe(id);
  });
});
