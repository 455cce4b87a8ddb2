import net, { type Socket } from 'node:net';
import type { Credential } from '../../src/config/credential.js';
import { contentDigest, signRequest } from '../../src/signing/index.js';

export interface Upgraded {
  status: 101;
  socket: Socket;
  headers: string;
  /** Bytes that arrived right behind the 101's headers. */
  rest: Buffer;
}
export interface Refused {
  status: number;
  headers: string;
  body: string;
}
export type TunnelAnswer = Upgraded | Refused;

/** The answer as an open tunnel; throws with the refusal when it is not one. */
export function upgraded(answer: TunnelAnswer): Upgraded {
  if (!('socket' in answer)) throw new Error(`expected 101, got ${answer.status}: ${answer.body}`);
  return answer;
}

/** The answer as a refusal; destroys and throws when a tunnel was opened instead. */
export function refused(answer: TunnelAnswer): Refused & { code: string } {
  if ('socket' in answer) {
    answer.socket.destroy();
    throw new Error('expected a refusal, got 101');
  }
  return { ...answer, code: (JSON.parse(answer.body) as { error: { code: string } }).error.code };
}

/** Opens a signed tunnel over a raw socket: POST /v1/tunnel with Upgrade: sphyr-tunnel. */
export function openTunnel(opts: {
  gatewayUrl: string;
  credential: Credential;
  agentId: string;
  target: string;
  /** Sign with this key instead, to tamper. */
  signKey?: Uint8Array;
}): Promise<TunnelAnswer> {
  const url = new URL('/v1/tunnel', opts.gatewayUrl);
  const digest = contentDigest(new Uint8Array());
  const signed = signRequest({
    kind: 'tunnel',
    facts: {
      method: 'POST',
      authority: url.host,
      path: url.pathname,
      query: '?',
      target: opts.target,
      contentDigest: digest,
      agentId: opts.agentId,
    },
    keyId: opts.credential.keyId,
    key: opts.signKey ?? opts.credential.secret,
    nowSeconds: Math.floor(Date.now() / 1000),
  });
  const request =
    `POST /v1/tunnel HTTP/1.1\r\nHost: ${url.host}\r\nConnection: Upgrade\r\nUpgrade: sphyr-tunnel\r\n` +
    `Sphyr-Target: ${opts.target}\r\nSphyr-Agent-Id: ${opts.agentId}\r\nContent-Digest: ${digest}\r\n` +
    `Signature-Input: ${signed.signatureInput}\r\nSignature: ${signed.signature}\r\n\r\n`;
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: url.hostname, port: Number(url.port) });
    let buf: Buffer = Buffer.alloc(0);
    const onData = (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      const end = buf.indexOf('\r\n\r\n');
      if (end === -1) return;
      const headers = buf.subarray(0, end).toString('latin1');
      const status = Number(headers.split(' ')[1]);
      if (status === 101) {
        socket.off('data', onData);
        socket.off('error', reject);
        socket.pause();
        resolve({ status: 101, socket, headers, rest: buf.subarray(end + 4) });
        return;
      }
      socket.off('data', onData);
      const chunks = [buf.subarray(end + 4)];
      socket.on('data', (c: Buffer) => chunks.push(c));
      socket.once('close', () => resolve({ status, headers, body: Buffer.concat(chunks).toString('utf8') }));
    };
    socket.on('data', onData);
    socket.once('error', reject);
    socket.write(request);
  });
}

/** Everything the socket sends until it closes. */
export function readAll(socket: Socket, first: Buffer = Buffer.alloc(0)): Promise<Buffer> {
  return new Promise((resolve) => {
    const chunks = [first];
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.once('close', () => resolve(Buffer.concat(chunks)));
    socket.on('error', () => {});
    socket.resume();
  });
}
