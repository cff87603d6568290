/**
 * The framing both local model files share: a 4-character magic, a little-endian uint32 header
 * length, a JSON header, then the weights. Each format checks its own header fields and body.
 */

export function encodeModelFile(magic: string, header: object, body: Uint8Array): Buffer {
  const json = Buffer.from(JSON.stringify(header), 'utf8');
  const prefix = Buffer.alloc(8);
  prefix.write(magic, 0, 'latin1');
  prefix.writeUInt32LE(json.length, 4);
  return Buffer.concat([prefix, json, body]);
}

/** The parsed header and the body's bytes; `fail` makes the format's own error from a reason. */
export function decodeModelFile(
  magic: string,
  bytes: Uint8Array,
  fail: (reason: string) => Error,
): { header: Record<string, unknown>; body: Buffer } {
  const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (buffer.length < 8 || buffer.toString('latin1', 0, 4) !== magic) throw fail(`missing the ${magic} magic`);
  const headerLength = buffer.readUInt32LE(4);
  if (8 + headerLength > buffer.length) throw fail(`header of ${headerLength} bytes runs past the end of the file`);
  let header: unknown;
  try {
    header = JSON.parse(buffer.toString('utf8', 8, 8 + headerLength));
  } catch (error) {
    throw fail(`header is not JSON (${(error as Error).message})`);
  }
  if (typeof header !== 'object' || header === null) throw fail('header is not a JSON object');
  return { header: header as Record<string, unknown>, body: buffer.subarray(8 + headerLength) };
}

/** Fails unless each named header field is a finite number. */
export function requireFiniteFields(
  header: Record<string, unknown>,
  fields: readonly string[],
  fail: (reason: string) => Error,
): void {
  for (const field of fields) {
    const value = header[field];
    if (typeof value !== 'number' || !Number.isFinite(value))
      throw fail(`header field ${field} is not a finite number`);
  }
}
