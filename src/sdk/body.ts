/**
 * Collect a dispatch body (string, bytes, stream or async iterable) into one buffer: it must be
 * digested before it is signed. A stream longer than `limit` bytes stops there with a RangeError.
 */
export async function collectBody(body: unknown, limit = Number.POSITIVE_INFINITY): Promise<Buffer> {
  if (body === null || body === undefined) return Buffer.alloc(0);
  if (typeof body === 'string') return Buffer.from(body);
  if (body instanceof Uint8Array) return Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  if (typeof body === 'object' && Symbol.asyncIterator in body) {
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of body as AsyncIterable<Uint8Array | string>) {
      const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : Buffer.from(chunk);
      size += bytes.length;
      if (size > limit) throw new RangeError(`the body is larger than ${limit} bytes`);
      chunks.push(bytes);
    }
    return Buffer.concat(chunks);
  }
  if (typeof body === 'object' && Symbol.iterator in body) {
    return Buffer.concat([...(body as Iterable<Uint8Array>)].map((c) => Buffer.from(c)));
  }
  throw new TypeError(`cannot sign a request body of type ${typeof body}`);
}
