/**
 * @module Reads the server name (SNI, RFC 6066 §3) from a TLS ClientHello without terminating TLS:
 * the tunnel peeks at the client's first bytes, checks the name, then forwards them untouched.
 * Tolerates a ClientHello split over several records (RFC 8446 §5.1) and over several reads.
 */

/** The most client bytes buffered while looking for the end of the ClientHello. */
export const MAX_CLIENT_HELLO_BYTES = 16 * 1024;

export type ClientHelloResult =
  /** More bytes are needed. */
  | { kind: 'incomplete' }
  /** A whole ClientHello; `serverName` is its host_name, absent when it sent none. */
  | { kind: 'hello'; serverName: string | undefined }
  /** Not a TLS handshake, a malformed one, or one larger than {@link MAX_CLIENT_HELLO_BYTES}. */
  | { kind: 'invalid'; reason: 'not_tls' | 'malformed' | 'too_large' };

const RECORD_HANDSHAKE = 0x16;
const HANDSHAKE_CLIENT_HELLO = 0x01;
const EXT_SERVER_NAME = 0x0000;
const NAME_TYPE_HOST = 0x00;

class Malformed extends Error {}

/** A bounds-checked reader: every read past the end throws, so no length field can over-read. */
class Reader {
  constructor(
    private readonly buf: Buffer,
    private pos = 0,
    private readonly end = buf.length,
  ) {}
  get left(): number {
    return this.end - this.pos;
  }
  private need(n: number): void {
    if (n > this.left) throw new Malformed();
  }
  u8(): number {
    this.need(1);
    return this.buf[this.pos++] as number;
  }
  u16(): number {
    this.need(2);
    const v = this.buf.readUInt16BE(this.pos);
    this.pos += 2;
    return v;
  }
  skip(n: number): void {
    this.need(n);
    this.pos += n;
  }
  /** A sub-reader over the next `n` bytes, consumed here. */
  sub(n: number): Reader {
    this.need(n);
    const r = new Reader(this.buf, this.pos, this.pos + n);
    this.pos += n;
    return r;
  }
  bytes(n: number): Buffer {
    this.need(n);
    const b = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return b;
  }
}

/** Joins the payloads of the leading handshake records (the last may still be partial). */
function handshakeBytes(data: Buffer): { payload: Buffer } {
  const parts: Buffer[] = [];
  let pos = 0;
  while (pos < data.length) {
    if (data.length - pos < 5) {
      break;
    }
    if (data[pos] !== RECORD_HANDSHAKE) {
      if (parts.length === 0) throw new Malformed();
      break; // a later non-handshake record: the hello must already be whole (checked by the caller)
    }
    const length = data.readUInt16BE(pos + 3);
    if (length === 0) throw new Malformed();
    if (data.length - pos - 5 < length) {
      parts.push(data.subarray(pos + 5));
      break;
    }
    parts.push(data.subarray(pos + 5, pos + 5 + length));
    pos += 5 + length;
  }
  return { payload: Buffer.concat(parts) };
}

/** The host_name in a server_name extension body, or undefined. */
function serverNameOf(ext: Reader): string | undefined {
  const list = ext.sub(ext.u16());
  while (list.left > 0) {
    const type = list.u8();
    const name = list.bytes(list.u16());
    if (type === NAME_TYPE_HOST) {
      const text = name.toString('latin1');
      // RFC 6066: ASCII host name, no trailing dot; anything else is not a name we can compare.
      if (text === '' || !/^[\x21-\x7e]+$/.test(text)) throw new Malformed();
      return text.toLowerCase();
    }
  }
  return undefined;
}

/**
 * Parses what the client has sent so far. Call again with more bytes on `incomplete`.
 * @example parseClientHello(firstBytes) //=> { kind: 'hello', serverName: 'api.example.com' }
 */
export function parseClientHello(data: Buffer): ClientHelloResult {
  if (data.length > 0 && data[0] !== RECORD_HANDSHAKE) return { kind: 'invalid', reason: 'not_tls' };
  try {
    const { payload } = handshakeBytes(data);
    if (payload.length >= 4) {
      if (payload[0] !== HANDSHAKE_CLIENT_HELLO) return { kind: 'invalid', reason: 'not_tls' };
      const length = payload.readUIntBE(1, 3);
      if (length + 4 > MAX_CLIENT_HELLO_BYTES) return { kind: 'invalid', reason: 'too_large' };
      if (payload.length >= length + 4)
        return { kind: 'hello', serverName: helloServerName(payload.subarray(4, 4 + length)) };
    }
    if (data.length >= MAX_CLIENT_HELLO_BYTES) return { kind: 'invalid', reason: 'too_large' };
    return { kind: 'incomplete' };
  } catch (error) {
    if (error instanceof Malformed) return { kind: 'invalid', reason: 'malformed' };
    throw error;
  }
}

function helloServerName(body: Buffer): string | undefined {
  const r = new Reader(body);
  r.skip(2 + 32); // legacy_version, random
  r.skip(r.u8()); // legacy_session_id
  r.skip(r.u16()); // cipher_suites
  r.skip(r.u8()); // legacy_compression_methods
  if (r.left === 0) return undefined; // no extensions at all
  const exts = r.sub(r.u16());
  let found: string | undefined;
  let seen = false;
  while (exts.left > 0) {
    const type = exts.u16();
    const ext = exts.sub(exts.u16());
    if (type === EXT_SERVER_NAME) {
      // RFC 8446 §4.2: an extension appears at most once; two would make the name ambiguous.
      if (seen) throw new Malformed();
      seen = true;
      found = serverNameOf(ext);
    }
  }
  return found;
}
