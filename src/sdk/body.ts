/** Collect a dispatch body (string, bytes, stream or async iterable) into one buffer: it must be digested before it is signed. */
export async function collectBody(body: unknown): Promise<Buffer> {
  if (body === null || body === undefined) return Buffer.alloc(0);
  if (typeof body === 'string') return Buffer.from(body);
  if (body instanceof Uint8Array) return Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  if (typeof body === 'object' && Symbol.asyncIterator in body) {
    const chunks: Buffer[] = [];
    for await (const chunk of body as AsyncIterable<Uint8Array | string>) {
      chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : Buffer.from(chunk));
    }
    return Buffer.concat(chunks);
  }
  if (typeof body === 'object' && Symbol.iterator in body) {
    return Buffer.concat([...(body as Iterable<Uint8Array>)].map((c) => Buffer.from(c)));
  }
  throw new TypeError(`cannot sign a request body of type ${typeof body}`);
}
