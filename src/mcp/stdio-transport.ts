import type { Readable, Writable } from 'node:stream';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import { type JSONRPCMessage, JSONRPCMessageSchema } from '@modelcontextprotocol/sdk/types.js';

/** Lines longer than this are discarded (answered with a parse error), never buffered further. */
export const MAX_MESSAGE_BYTES = 64 * 1024 * 1024;

/**
 * Newline-delimited JSON-RPC over stdin/stdout, like the SDK's stdio transport, but it survives bad
 * input: a line that is not JSON, not JSON-RPC, or too long is answered with a JSON-RPC error
 * (-32700 / -32600, id null, as JSON-RPC 2.0 §5 says), reported through `onerror`, and the next line
 * is read as usual. The SDK's transport closes itself on an oversized line, which ends the server.
 */
export class SphyrStdioServerTransport implements Transport {
  onclose?: () => void;
  onerror?: (error: Error) => void;
  onmessage?: (message: JSONRPCMessage) => void;
  /** Sees each valid message before `onmessage` (which the SDK's server owns once connected). */
  onreceive?: (message: JSONRPCMessage) => void;
  #chunks: Buffer[] = [];
  #size = 0;
  #discarding = false;
  #started = false;

  /**
   * @param answerBadInput answer a bad line with a JSON-RPC error (toward an IDE); false for an
   *   upstream server's stdout, where garbage is only reported.
   */
  constructor(
    private readonly stdin: Readable = process.stdin,
    private readonly stdout: Writable = process.stdout,
    private readonly maxBytes = MAX_MESSAGE_BYTES,
    private readonly answerBadInput = true,
  ) {}

  async start(): Promise<void> {
    if (this.#started) throw new Error('SphyrStdioServerTransport already started');
    this.#started = true;
    this.stdin.on('data', this.#onData);
    this.stdin.on('error', this.#onError);
    this.stdin.on('end', this.#onEnd);
  }

  #onError = (error: Error) => this.onerror?.(error);
  #onEnd = () => {
    void this.close();
  };

  #onData = (chunk: Buffer) => {
    let start = 0;
    for (let nl = chunk.indexOf(10); nl !== -1; nl = chunk.indexOf(10, start)) {
      this.#take(chunk.subarray(start, nl));
      this.#line();
      start = nl + 1;
    }
    if (start < chunk.length) this.#take(chunk.subarray(start));
  };

  #take(part: Buffer): void {
    if (this.#discarding) return;
    if (this.#size + part.length > this.maxBytes) {
      this.#discarding = true;
      this.#chunks = [];
      this.#size = 0;
      return;
    }
    this.#chunks.push(part);
    this.#size += part.length;
  }

  #line(): void {
    if (this.#discarding) {
      this.#discarding = false;
      this.#reject(-32700, `message larger than ${this.maxBytes} bytes; discarded`);
      return;
    }
    const text = Buffer.concat(this.#chunks, this.#size).toString('utf8').replace(/\r$/, '');
    this.#chunks = [];
    this.#size = 0;
    if (text.trim() === '') return;
    let data: unknown;
    try {
      data = JSON.parse(text);
    } catch {
      this.#reject(-32700, 'Parse error: the line is not valid JSON');
      return;
    }
    const parsed = JSONRPCMessageSchema.safeParse(data);
    if (!parsed.success) {
      this.#reject(-32600, 'Invalid Request: not a JSON-RPC 2.0 message');
      return;
    }
    this.onreceive?.(parsed.data);
    this.onmessage?.(parsed.data);
  }

  #reject(code: number, message: string): void {
    this.onerror?.(new Error(message));
    if (!this.answerBadInput) return;
    this.stdout.write(`${JSON.stringify({ jsonrpc: '2.0', id: null, error: { code, message } })}\n`);
  }

  send(message: JSONRPCMessage): Promise<void> {
    return new Promise((resolve) => {
      if (this.stdout.write(`${JSON.stringify(message)}\n`)) resolve();
      else this.stdout.once('drain', resolve);
    });
  }

  async close(): Promise<void> {
    this.stdin.off('data', this.#onData);
    this.stdin.off('error', this.#onError);
    this.stdin.off('end', this.#onEnd);
    if (this.stdin.listenerCount('data') === 0) this.stdin.pause();
    this.#chunks = [];
    this.onclose?.();
  }
}
