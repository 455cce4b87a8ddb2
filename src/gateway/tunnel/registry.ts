import type { Socket } from 'node:net';

/** Open tunnels: the per-key cap, and the list shutdown closes (upgraded sockets leave the http server). */
export class TunnelRegistry {
  private readonly perKey = new Map<string, number>();
  private readonly open = new Map<Socket, Promise<void>>();

  /** Takes a slot for `keyId`, or returns false when it already has `max` tunnels open. */
  tryOpen(keyId: string, max: number): boolean {
    const count = this.perKey.get(keyId) ?? 0;
    if (count >= max) return false;
    this.perKey.set(keyId, count + 1);
    return true;
  }

  release(keyId: string): void {
    const count = (this.perKey.get(keyId) ?? 1) - 1;
    if (count <= 0) this.perKey.delete(keyId);
    else this.perKey.set(keyId, count);
  }

  /** Tracks a running tunnel until `closed` settles (its closing record written). */
  track(client: Socket, closed: Promise<void>): void {
    this.open.set(client, closed);
    void closed.finally(() => this.open.delete(client));
  }

  /** Ends every tunnel and waits for their closing records. */
  async closeAll(): Promise<void> {
    const pending = [...this.open.values()];
    for (const socket of this.open.keys()) socket.destroy();
    await Promise.allSettled(pending);
  }
}
