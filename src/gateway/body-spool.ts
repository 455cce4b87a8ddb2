import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createReadStream, createWriteStream, type WriteStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { Readable, type Writable } from 'node:stream';
import { SphyrRateLimitError, SphyrRequestError } from '../errors.js';

/** Bodies up to this size stay in memory; larger ones spill to a 0600 temp file. */
export const MEMORY_BODY_BYTES = 1024 * 1024;

/** What a caller refused for want of a spool slot is told to wait, in seconds. */
export const SPOOL_RETRY_AFTER_SECONDS = 5;

/**
 * Bounds how many bodies are on disk at once (so disk use stays under slots × the body limit).
 * Refuses rather than queues: a queued upload would hold its connection and memory while it waits.
 */
export class SpoolSlots {
  readonly #max: number;
  #used = 0;

  constructor(max: number) {
    this.#max = max;
  }

  /** Takes a slot, returning its release function; throws `spool_full` (503, Retry-After) when none is free. */
  take(): () => void {
    if (this.#used >= this.#max) {
      throw new SphyrRateLimitError(
        'spool_full',
        `the gateway is already receiving ${this.#max} large bodies; retry shortly`,
        SPOOL_RETRY_AFTER_SECONDS,
      );
    }
    this.#used += 1;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.#used -= 1;
    };
  }
}

export interface ReadBodyOptions {
  maxBytes: number;
  tmpDir: string;
  prefixBytes: number;
  slots: SpoolSlots;
  /** The declared `Content-Length`, when there is one: too large or spooling is known before a byte is read. */
  declaredBytes?: number;
}

/**
 * A request body read in full before anything is relayed, because its digest must be verified
 * first; large bodies go to disk so memory stays flat whatever the upload size.
 */
export class BodySpool {
  readonly size: number;
  readonly sha256: Buffer;
  /** The first bytes, for the entropy score. */
  readonly prefix: Buffer;
  readonly #memory: Buffer | undefined;
  readonly #file: string | undefined;
  readonly #release: (() => void) | undefined;

  private constructor(
    size: number,
    sha256: Buffer,
    prefix: Buffer,
    memory?: Buffer,
    file?: string,
    release?: () => void,
  ) {
    this.size = size;
    this.sha256 = sha256;
    this.prefix = prefix;
    this.#memory = memory;
    this.#file = file;
    this.#release = release;
  }

  /**
   * Read `source` fully. Over `maxBytes` → `body_too_large`; a body that must go to disk while every
   * spool slot is taken → `spool_full`. Both are decided before reading when `declaredBytes` is
   * known, and nothing is kept on failure.
   */
  static async read(source: Readable, opts: ReadBodyOptions): Promise<BodySpool> {
    const tooLarge = () =>
      new SphyrRequestError(
        'body_too_large',
        `request body is larger than the gateway's limit of ${opts.maxBytes} bytes`,
      );
    if (opts.declaredBytes !== undefined && opts.declaredBytes > opts.maxBytes) throw tooLarge();
    let release =
      opts.declaredBytes !== undefined && opts.declaredBytes > MEMORY_BODY_BYTES
        ? opts.slots.take()
        : undefined;
    const hash = createHash('sha256');
    const chunks: Buffer[] = [];
    let size = 0;
    let file: string | undefined;
    let out: WriteStream | undefined;
    try {
      // Not destroyed on an early exit: the handler still answers on this connection and then
      // discards the rest of the body (request-handler.ts).
      for await (const chunk of source.iterator({ destroyOnReturn: false }) as AsyncIterable<Buffer>) {
        size += chunk.length;
        if (size > opts.maxBytes) throw tooLarge();
        hash.update(chunk);
        if (out) {
          if (!out.write(chunk)) await once(out, 'drain');
          continue;
        }
        chunks.push(chunk);
        if (size > MEMORY_BODY_BYTES) {
          release ??= opts.slots.take();
          file = path.join(opts.tmpDir, `body-${randomBytes(12).toString('hex')}`);
          out = createWriteStream(file, { mode: 0o600 });
          for (const c of chunks) out.write(c);
          chunks.length = 0;
        }
      }
      if (out) {
        out.end();
        await once(out, 'finish');
        const prefix = await readPrefix(file as string, opts.prefixBytes);
        return new BodySpool(size, hash.digest(), prefix, undefined, file, release);
      }
    } catch (error) {
      out?.destroy();
      if (file) await rm(file, { force: true });
      release?.();
      throw error;
    }
    // Stayed in memory. A slot taken for a declared size is not needed (HTTP framing makes the
    // body as long as declared, so this is only defensive).
    release?.();
    const memory = Buffer.concat(chunks, size);
    return new BodySpool(size, hash.digest(), memory.subarray(0, opts.prefixBytes), memory);
  }

  /** RFC 9530 `sha-256=:…:` of the received bytes. */
  contentDigest(): string {
    return `sha-256=:${this.sha256.toString('base64')}:`;
  }

  /** A fresh stream of the body. */
  stream(): Readable {
    if (this.#memory) return Readable.from([this.#memory]);
    if (this.#file) return createReadStream(this.#file);
    return Readable.from([]);
  }

  /** Send the body into `dest` and end it; small bodies go in one write, large ones stream from disk. */
  pipeTo(dest: Writable): void {
    if (this.#file) {
      const source = createReadStream(this.#file);
      source.once('error', (error) => dest.destroy(error));
      source.pipe(dest);
    } else {
      dest.end(this.#memory);
    }
  }

  /** Deletes the spool file and frees its slot. */
  async dispose(): Promise<void> {
    try {
      if (this.#file) await rm(this.#file, { force: true });
    } finally {
      this.#release?.();
    }
  }
}

async function readPrefix(file: string, bytes: number): Promise<Buffer> {
  const parts: Buffer[] = [];
  let got = 0;
  for await (const chunk of createReadStream(file, {
    start: 0,
    end: Math.max(0, bytes - 1),
  }) as AsyncIterable<Buffer>) {
    parts.push(chunk);
    got += chunk.length;
  }
  return Buffer.concat(parts, got);
}
