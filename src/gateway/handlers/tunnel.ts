import net, { type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { SphyrPolicyError, SphyrRateLimitError, SphyrRequestError } from '../../errors.js';
import { evaluatePolicy } from '../../policy/index.js';
import type { Caller } from '../authenticate.js';
import type { GatewayContext } from '../context.js';
import { newRequestId } from '../ids.js';
import type { LogDraft } from '../log-draft.js';
import { vettedAddresses } from '../screening.js';
import { parseClientHello } from '../tunnel/client-hello.js';
import type { TunnelRegistry } from '../tunnel/registry.js';
import { HandledError } from './relay.js';

/** `host:port` with a DNS name, IPv4 literal or bracketed IPv6 literal and a decimal port. */
const TARGET = /^(\[[0-9a-f:.]+\]|[a-z0-9.-]+):([1-9][0-9]{0,4})$/;

const CONNECT_TIMEOUT_MS = 10_000;

// TLS fatal alert unrecognized_name (RFC 8446 §6.2): what a TLS client understands after the 101.
const ALERT_UNRECOGNIZED_NAME = Buffer.from([0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x70]);

export interface TunnelTarget {
  host: string;
  port: number;
  /** For the screen and the policy: `http://host:port/` (`https://` on 443). */
  url: URL;
}

/** The signed `Sphyr-Target`, which must be canonical (lowercase, no trailing dot) so signed = dialled. */
export function parseTunnelTarget(text: string | undefined): TunnelTarget {
  if (!text) throw new SphyrRequestError('missing_target', 'the Sphyr-Target header (host:port) is required');
  const match = TARGET.exec(text);
  const port = Number(match?.[2]);
  if (!match || port > 65535) {
    throw new SphyrRequestError(
      'tunnel_target_invalid',
      'Sphyr-Target must be host:port (lowercase, port 1-65535)',
    );
  }
  let url: URL;
  try {
    url = new URL(`${port === 443 ? 'https' : 'http'}://${text}/`);
  } catch {
    throw new SphyrRequestError('tunnel_target_invalid', 'Sphyr-Target must be host:port');
  }
  const host = match[1] as string;
  if (url.hostname !== host || host.endsWith('.')) {
    throw new SphyrRequestError('target_not_canonical', 'Sphyr-Target must be in canonical form');
  }
  return { host, port, url };
}

/** Port rule, SSRF screen (resolve once, every answer public), then the policy's host lists. */
async function vetTunnel(ctx: GatewayContext, keyId: string, target: TunnelTarget): Promise<string[]> {
  if (!ctx.policy.tunnelPorts.includes(target.port)) {
    throw new SphyrPolicyError(
      'tunnel_port_denied',
      `tunnels to port ${target.port} are not allowed (tunnelPorts)`,
    );
  }
  const addresses = await vettedAddresses(ctx, target.url);
  // A tunnel is the method CONNECT to the policy: a `methods` list must name it to allow tunnels.
  const decision = evaluatePolicy(ctx.policy, { keyId, method: 'CONNECT', url: target.url, entropy: 0 });
  if (decision.verdict === 'block') {
    throw new SphyrPolicyError(decision.reason, `the tunnel was denied by policy (${decision.reason})`);
  }
  return addresses;
}

/** Waits for the client's opening bytes: a whole ClientHello if it starts TLS, else its first chunk. */
function readOpening(
  client: Socket,
  head: Buffer,
  idleMs: number,
): Promise<{ bytes: Buffer; serverName?: string; tls: boolean } | { refused: string }> {
  return new Promise((resolve) => {
    let bytes = head;
    const done = (value: { bytes: Buffer; serverName?: string; tls: boolean } | { refused: string }) => {
      clearTimeout(timer);
      client.off('data', onData);
      client.off('close', onClose);
      client.off('end', onClose);
      client.pause();
      resolve(value);
    };
    const check = () => {
      if (bytes.length === 0) return;
      const hello = parseClientHello(bytes);
      if (hello.kind === 'hello') done({ bytes, serverName: hello.serverName, tls: true });
      else if (hello.kind === 'invalid' && hello.reason === 'not_tls') done({ bytes, tls: false });
      else if (hello.kind === 'invalid') done({ refused: `tunnel_client_hello_${hello.reason}` });
    };
    const onData = (chunk: Buffer) => {
      bytes = Buffer.concat([bytes, chunk]);
      check();
    };
    const onClose = () => done({ refused: 'client_closed' });
    const timer = setTimeout(() => done({ refused: 'tunnel_idle_timeout' }), idleMs);
    client.on('data', onData);
    // The gateway's sockets allow half-open: a client that sent FIN before its opening is gone.
    client.once('close', onClose);
    client.once('end', onClose);
    client.resume();
    check();
  });
}

function dial(addresses: string[], port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const tryAt = (i: number, last?: unknown) => {
      const address = addresses[i];
      if (address === undefined) return reject(last);
      const socket = net.connect({ host: address, port });
      // A blackholed address must not hold the tunnel until the OS gives up.
      socket.setTimeout(CONNECT_TIMEOUT_MS, () => socket.destroy(new Error('connect timeout')));
      socket.once('connect', () => {
        socket.setTimeout(0);
        socket.off('error', onError);
        resolve(socket);
      });
      const onError = (error: unknown) => tryAt(i + 1, error);
      socket.once('error', onError);
    };
    tryAt(0);
  });
}

function describe(target: TunnelTarget, address: string | null, serverName: string | null, openId?: string) {
  const query = new URLSearchParams();
  if (address) query.set('address', address);
  if (serverName) query.set('sni', serverName);
  if (openId) query.set('open', openId);
  const q = query.toString();
  return `tunnel://${target.host}:${target.port}${q ? `?${q}` : ''}`;
}

/**
 * `POST /v1/tunnel` (Upgrade: sphyr-tunnel), after the signature: port rule, SSRF screen and policy,
 * the per-key cap; then `101`, the client's opening bytes (a TLS ClientHello's server name must be the
 * target host), the dial, and bytes piped both ways. Refusals before the 101 are thrown as usual;
 * after it the record says why and the client sees a closed connection (or a TLS alert).
 * Records: `tunnel_open` when the target is connected, one closing record when it ends.
 */
export async function handleTunnel(
  ctx: GatewayContext,
  tunnels: TunnelRegistry,
  client: Socket,
  head: Buffer,
  targetHeader: string | undefined,
  caller: Caller,
  draft: LogDraft,
  requestId: string,
  commit: () => Promise<void>,
): Promise<void> {
  const target = parseTunnelTarget(targetHeader);
  draft.host = `${target.host}:${target.port}`;
  draft.urlHash = ctx.store.hashUrl(describe(target, null, null));
  draft.url = describe(target, null, null);
  const addresses = await vetTunnel(ctx, caller.key.id, target);
  const keyId = caller.key.id;
  if (!tunnels.tryOpen(keyId, ctx.limits.maxTunnelsPerKey)) {
    throw new SphyrRateLimitError(
      'tunnel_limit',
      `this key already has ${ctx.limits.maxTunnelsPerKey} tunnels open`,
      1,
    );
  }
  const started = performance.now();
  let upstream: Socket | undefined;
  let serverName: string | null = null;
  let openingBytes: Buffer = Buffer.alloc(0);
  let released = false;
  const release = () => {
    if (!released) tunnels.release(keyId);
    released = true;
  };
  // After the 101 nothing is JSON any more: a refusal is a record and a closed socket.
  const refuseAfterUpgrade = async (reason: string, outcome: LogDraft['outcome'], alert = false) => {
    release();
    draft.outcome = outcome;
    draft.reason = reason;
    draft.url = describe(target, null, serverName);
    if (alert) client.end(ALERT_UNRECOGNIZED_NAME);
    else client.destroy();
    setTimeout(() => client.destroy(), 1000).unref();
    await commit();
    throw new HandledError(new Error(reason));
  };
  try {
    client.write(
      `HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: sphyr-tunnel\r\n` +
        `Sphyr-Request-Id: ${requestId}\r\nSphyr-Outcome: allowed\r\n\r\n`,
    );
    draft.status = 101;
    const opening = await readOpening(client, head, ctx.limits.tunnelIdleTimeoutMs);
    if ('refused' in opening) return await refuseAfterUpgrade(opening.refused, 'error');
    serverName = opening.serverName ?? null;
    openingBytes = opening.bytes;
    if (opening.tls) {
      // An IP-literal target may come without a name (RFC 6066 forbids IP addresses as SNI).
      const ipLiteral = net.isIP(target.host.replace(/^\[|\]$/g, '')) !== 0;
      if (serverName === null ? !ipLiteral : serverName !== target.host) {
        return await refuseAfterUpgrade('tunnel_sni_mismatch', 'blocked', true);
      }
    } else if (target.port === 443) {
      return await refuseAfterUpgrade('tunnel_not_tls', 'blocked');
    }
    try {
      upstream = await dial(addresses, target.port);
    } catch {
      return await refuseAfterUpgrade('upstream_unreachable', 'error');
    }
  } catch (error) {
    release();
    throw error;
  }
  const address = upstream.remoteAddress ?? null;
  draft.outcome = 'allowed';
  draft.reason = 'tunnel_open';
  draft.url = describe(target, address, serverName);
  await commit();

  const closing: LogDraft = {
    ...draft,
    id: newRequestId(ctx.now()),
    ts: ctx.now(),
    reason: 'tunnel_closed',
    url: describe(target, address, serverName, requestId),
  };
  let ended: string | undefined;
  const end = (reason: string) => {
    ended ??= reason;
    client.destroy();
    upstream.destroy();
  };
  let idle = setTimeout(() => end('tunnel_idle_timeout'), ctx.limits.tunnelIdleTimeoutMs);
  const touch = () => {
    clearTimeout(idle);
    idle = setTimeout(() => end('tunnel_idle_timeout'), ctx.limits.tunnelIdleTimeoutMs);
  };
  const lifetime = setTimeout(() => end('tunnel_lifetime'), ctx.limits.tunnelMaxLifetimeMs);
  const closed = new Promise<void>((resolve) => {
    let open = 2;
    const onClose = () => {
      open -= 1;
      if (open > 0) {
        // One side went away: the other follows once what it already has is written. Unpiping
        // paused the survivor; resume it so its own FIN (or a reset) is seen and it can close.
        client.end();
        upstream.end();
        client.resume();
        upstream.resume();
        return;
      }
      clearTimeout(idle);
      clearTimeout(lifetime);
      release();
      closing.durationMs = Math.round(performance.now() - started);
      closing.reason = ended ?? 'tunnel_closed';
      closing.outcome = ended === undefined || ended === 'tunnel_closed' ? 'allowed' : 'error';
      ctx.store
        .append(closing)
        .catch((error) => ctx.warn(`tunnel ${requestId}: could not write its closing record: ${error}`))
        .finally(resolve);
    };
    client.once('close', onClose);
    upstream.once('close', onClose);
  });
  client.on('error', () => end('client_error'));
  upstream.on('error', () => end('upstream_error'));
  client.on('data', (chunk: Buffer) => {
    closing.bytesIn += chunk.length;
    touch();
  });
  upstream.on('data', (chunk: Buffer) => {
    closing.bytesOut += chunk.length;
    touch();
  });
  closing.bytesIn = openingBytes.length;
  upstream.write(openingBytes);
  client.pipe(upstream);
  upstream.pipe(client);
  tunnels.track(client, closed);
}
