import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createReadStream, createWriteStream, type WriteStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { Readable, type Writable } from 'node:stream';
import { SphyrRequestError } from '../errors.js';

/** Bodies up to this size stay in memory; larger ones spill to a 0600 temp file. */
export const MEMORY_BODY_BYTES = 1024 * 1024;

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

  private constructor(size: number, sha256: Buffer, prefix: Buffer, memory?: Buffer, file?: string) {
    this.size = size;
    this.sha256 = sha256;
    this.prefix = prefix;
    this.#memory = memory;
    this.#file = file;
  }

  /** Read `source` fully; over `maxBytes` → `body_too_large` (nothing is kept). */
  static async read(
    source: Readable,
    opts: { maxBytes: number; tmpDir: string; prefixBytes: number },
  ): Promise<BodySpool> {
    const hash = createHash('sha256');
    const chunks: Buffer[] = [];
    let size = 0;
    let file: string | undefined;
    let out: WriteStream | undefined;
    try {
      for await (const chunk of source as AsyncIterable<Buffer>) {
        size += chunk.length;
        if (size > opts.maxBytes) {
          throw new SphyrRequestError(
            'body_too_large',
            `request body is larger than the gateway's limit of ${opts.maxBytes} bytes`,
          );
        }
        hash.update(chunk);
        if (out) {
          if (!out.write(chunk)) await once(out, 'drain');
          continue;
        }
        chunks.push(chunk);
        if (size > MEMORY_BODY_BYTES) {
          file = path.join(opts.tmpDir, `body-${randomBytes(12).toString('hex')}`);
          out = createWriteStream(file, { mode: 0o600 });
          for (const c of chunks) out.write(c);
          chunks.length = 0;
        }
      }
      if (out) {
        out.end();
        await once(out, 'finish');
      }
    } catch (error) {
      out?.destroy();
      if (file) await rm(file, { force: true });
      throw error;
    }
    const memory = out ? undefined : Buffer.concat(chunks, size);
    const prefix = memory
      ? memory.subarray(0, opts.prefixBytes)
      : await readPrefix(file as string, opts.prefixBytes);
    return new BodySpool(size, hash.digest(), prefix, memory, file);
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

  async dispose(): Promise<void> {
    if (this.#file) await rm(this.#file, { force: true });
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
