import net, { type AddressInfo } from 'node:net';
import tls from 'node:tls';
import { describe, expect, it } from 'vitest';
import { MAX_CLIENT_HELLO_BYTES, parseClientHello } from '../../src/gateway/tunnel/client-hello.js';

/** A real ClientHello from node:tls, captured by a TCP server that never answers. */
async function captureHello(servername: string): Promise<Buffer> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  try {
    const got = new Promise<Buffer>((resolve) => {
      server.once('connection', (socket) => {
        let buf = Buffer.alloc(0);
        socket.on('data', (c: Buffer) => {
          buf = Buffer.concat([buf, c]);
          if (parseClientHello(buf).kind !== 'incomplete') {
            resolve(buf);
            socket.destroy();
          }
        });
      });
    });
    const client = tls.connect({ host: '127.0.0.1', port, servername, rejectUnauthorized: false });
    client.on('error', () => {});
    const hello = await got;
    client.destroy();
    return hello;
  } finally {
    await new Promise((resolve) => server.close(resolve));
  }
}

/** Re-frames one TLS record's handshake payload into records of `size` bytes (RFC 8446 §5.1). */
function fragment(hello: Buffer, size: number): Buffer {
  const payload = hello.subarray(5, 5 + hello.readUInt16BE(3));
  const records: Buffer[] = [];
  for (let i = 0; i < payload.length; i += size) {
    const part = payload.subarray(i, i + size);
    const header = Buffer.from([0x16, 0x03, 0x01, 0, 0]);
    header.writeUInt16BE(part.length, 3);
    records.push(header, part);
  }
  return Buffer.concat(records);
}

describe('parseClientHello', () => {
  it('reads the server name from a real ClientHello', async () => {
    const hello = await captureHello('api.example.test');
    expect(parseClientHello(hello)).toEqual({ kind: 'hello', serverName: 'api.example.test' });
  });

  it('reads it across fragmented records and partial reads', async () => {
    const hello = fragment(await captureHello('api.example.test'), 37);
    for (let cut = 1; cut < hello.length; cut += 13) {
      expect(parseClientHello(hello.subarray(0, cut)).kind).toBe('incomplete');
    }
    expect(parseClientHello(hello)).toEqual({ kind: 'hello', serverName: 'api.example.test' });
  });

  it('reports a ClientHello without a server name as such', async () => {
    // node:tls sends no SNI for an empty servername.
    const hello = await captureHello('');
    expect(parseClientHello(hello)).toEqual({ kind: 'hello', serverName: undefined });
  });

  it('says not_tls for plain HTTP and a non-hello handshake', () => {
    expect(parseClientHello(Buffer.from('GET / HTTP/1.1\r\n'))).toEqual({
      kind: 'invalid',
      reason: 'not_tls',
    });
    expect(parseClientHello(Buffer.from([0x16, 3, 1, 0, 4, 0x02, 0, 0, 0]))).toEqual({
      kind: 'invalid',
      reason: 'not_tls',
    });
  });

  it('refuses a hello whose inner lengths run past its end (malformed), never over-reading', async () => {
    const hello = Buffer.from(await captureHello('api.example.test'));
    // Session id length (after 4 handshake + 2 version + 32 random bytes) claims 255 bytes.
    hello[5 + 4 + 34] = 0xff;
    expect(parseClientHello(hello)).toEqual({ kind: 'invalid', reason: 'malformed' });
  });

  it('refuses a hello claiming more than the bound (too_large), and endless partial records', () => {
    const huge = Buffer.from([0x16, 3, 1, 0x40, 0x00, 0x01, 0x01, 0x00, 0x00]);
    expect(parseClientHello(huge)).toEqual({ kind: 'invalid', reason: 'too_large' });
    const endless = fragment(
      Buffer.concat([
        Buffer.from([0x16, 3, 1, 0x3f, 0xff]),
        Buffer.from([1, 0, 0x3f, 0xfb]),
        Buffer.alloc(0x3ffb),
      ]),
      100,
    );
    expect(endless.length).toBeGreaterThan(MAX_CLIENT_HELLO_BYTES);
    expect(parseClientHello(endless.subarray(0, MAX_CLIENT_HELLO_BYTES + 10))).toMatchObject({
      kind: 'invalid',
    });
  });
});
