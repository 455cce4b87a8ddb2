import { readdirSync } from 'node:fs';
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { type GatewayProcess, spawnGateway } from '../helpers/cli.js';
import { tempDir } from '../helpers/gateway.js';

/**
 * Issue 11 item 10 over real sockets and a real gateway process: a connection that times out is
 * destroyed (its descriptor comes back), and open connections are capped overall and per address,
 * the excess refused with an answer rather than left hanging.
 */
const running: GatewayProcess[] = [];
const sockets: net.Socket[] = [];
afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy();
  await Promise.all(running.splice(0).map((g) => g.stop()));
});

function openFds(pid: number): number {
  return readdirSync(`/proc/${pid}/fd`).length;
}

async function waitFor(check: () => boolean, ms: number): Promise<boolean> {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    if (check()) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return check();
}

interface Held {
  socket: net.Socket;
  received: string;
  /** The gateway closed the connection (FIN or reset). */
  closed: boolean;
}

async function hold(port: number, send: string): Promise<Held> {
  // allowHalfOpen: our side stays open after the gateway's FIN, as a stalled attacker's would.
  const socket = net.connect({ port, host: '127.0.0.1', allowHalfOpen: true });
  sockets.push(socket);
  const held: Held = { socket, received: '', closed: false };
  socket.on('data', (chunk) => {
    held.received += chunk.toString('latin1');
  });
  socket.on('error', () => {});
  // Never end our side: a stalled client keeps its half open. The gateway's FIN is what we wait for.
  socket.on('end', () => {
    held.closed = true;
  });
  socket.on('close', () => {
    held.closed = true;
  });
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', () => resolve());
    socket.once('error', reject);
  });
  if (send) socket.write(send);
  return held;
}

async function start(args: string[]): Promise<{ gw: GatewayProcess; port: number; pid: number }> {
  const gw = await spawnGateway(['--data-dir', await tempDir(), ...args]);
  running.push(gw);
  return { gw, port: Number(new URL(gw.url).port), pid: gw.child.pid as number };
}

describe('stalled and excess connections', () => {
  it('200 sockets that send partial headers and never close are destroyed; the descriptors come back', async () => {
    const { port, pid } = await start(['--client-timeout', '1']);
    const baseline = openFds(pid);
    const held = await Promise.all(
      Array.from({ length: 200 }, () => hold(port, 'GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ')),
    );
    expect(await waitFor(() => openFds(pid) >= baseline + 190, 5_000)).toBe(true);
    const back = await waitFor(() => openFds(pid) <= baseline + 2, 15_000);
    expect({ back, fds: openFds(pid), baseline }).toMatchObject({ back: true });
    expect(await waitFor(() => held.every((h) => h.closed), 5_000)).toBe(true);
    expect(held[0]?.received).toMatch(/^HTTP\/1\.1 408 /);
  }, 60_000);

  it('caps open connections per address and refuses the excess with 503 too_many_connections', async () => {
    const { gw, port } = await start(['--max-connections-per-address', '20']);
    const held = await Promise.all(Array.from({ length: 20 }, () => hold(port, '')));
    const excess = await Promise.all(Array.from({ length: 5 }, () => hold(port, '')));
    expect(await waitFor(() => excess.every((h) => h.closed), 5_000)).toBe(true);
    for (const h of excess) {
      expect(h.received).toMatch(/^HTTP\/1\.1 503 /);
      expect(h.received).toContain('"code":"too_many_connections"');
      expect(h.received.toLowerCase()).toContain('retry-after:');
    }
    expect(held.some((h) => h.closed)).toBe(false);
    for (const h of held) h.socket.destroy();
    // Once they are gone, the address may connect again.
    expect(await waitFor(() => true, 200).then(async () => (await fetch(`${gw.url}/healthz`)).status)).toBe(
      200,
    );
  }, 30_000);

  it('caps open connections overall', async () => {
    const { port } = await start(['--max-connections', '15', '--max-connections-per-address', '100']);
    await Promise.all(Array.from({ length: 15 }, () => hold(port, '')));
    const excess = await hold(port, '');
    expect(await waitFor(() => excess.closed, 5_000)).toBe(true);
    expect(excess.received).toMatch(/^HTTP\/1\.1 503 /);
  }, 30_000);

  it('a request body that stalls ends its connection, on every route (console, OAuth, relay, unknown)', async () => {
    // Issue 11 review F5: one body byte, then nothing, held a connection for good.
    const { port, pid } = await start(['--client-timeout', '1']);
    const baseline = openFds(pid);
    const paths = ['/console/login', '/oauth/token', '/device', '/v1/relay', '/console/zzz', '/nope'];
    const held = await Promise.all(
      paths.flatMap((p) => [
        hold(port, `POST ${p} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 1000\r\n\r\nx`),
        hold(port, `POST ${p} HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nx\r\n`),
      ]),
    );
    expect(await waitFor(() => held.every((h) => h.closed), 10_000)).toBe(true);
    expect(await waitFor(() => openFds(pid) <= baseline + 2, 5_000)).toBe(true);
  }, 30_000);

  it('an unauthenticated 300 MiB post to the console or OAuth is not read: answered and closed early', async () => {
    // Issue 11 review F6: console routes read (and dropped) every byte of any declared size.
    const { port } = await start([]);
    for (const p of ['/console/login', '/console/zzz', '/oauth/token', '/device']) {
      for (const framing of ['Content-Length: 314572800', 'Transfer-Encoding: chunked']) {
        const h = await hold(
          port,
          `POST ${p} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-www-form-urlencoded\r\n${framing}\r\n\r\n`,
        );
        const chunk = Buffer.alloc(64 * 1024, 0x61);
        const framed = framing.startsWith('Transfer')
          ? Buffer.concat([Buffer.from(`${chunk.length.toString(16)}\r\n`), chunk, Buffer.from('\r\n')])
          : chunk;
        let sent = 0;
        while (!h.closed && !h.socket.destroyed && sent < 300 * 1024 * 1024) {
          if (!h.socket.write(framed)) {
            await Promise.race([
              new Promise((r) => h.socket.once('drain', r)),
              new Promise((r) => setTimeout(r, 200)),
            ]);
          }
          sent += framed.length;
          if (sent % (4 * 1024 * 1024) === 0) await new Promise((r) => setImmediate(r));
        }
        expect(await waitFor(() => h.closed || h.socket.destroyed, 5_000)).toBe(true);
        // Kernel buffers take a few MiB on loopback; the gateway itself reads at most a small budget.
        expect(h.socket.bytesWritten).toBeLessThan(32 * 1024 * 1024);
      }
    }
  }, 60_000);
});
