import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { kafkaClusterId } from './service-definitions.ts';

describe('kafkaClusterId', () => {
  it('is 16 bytes in unpadded base64url', () => {
    const id = kafkaClusterId();
    expect(id).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(Buffer.from(id, 'base64url')).toHaveLength(16);
  });

  it('draws again rather than start with "-", which the storage tool reads as an option', () => {
    // 0xf8 is 111110.. in bits: base64url digit 62, which is "-".
    const draws = [Buffer.alloc(16, 0xf8), Buffer.alloc(16, 0x7c)];
    const random = (size: number) => draws.shift() ?? randomBytes(size);
    expect(Buffer.alloc(16, 0xf8).toString('base64url')).toMatch(/^-/);
    const id = kafkaClusterId(random);
    expect(id).toBe(Buffer.alloc(16, 0x7c).toString('base64url'));
    expect(draws).toEqual([]);
  });
});
