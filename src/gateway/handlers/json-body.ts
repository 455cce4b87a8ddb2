import type { z } from 'zod';
import { SphyrRequestError } from '../../errors.js';
import type { BodySpool } from '../body-spool.js';

const MAX_JSON_BYTES = 64 * 1024;

/** Parse a small JSON body against a schema; errors say which field is wrong. */
export async function readJson<T extends z.ZodType>(body: BodySpool, schema: T): Promise<z.infer<T>> {
  if (body.size > MAX_JSON_BYTES) {
    throw new SphyrRequestError('body_too_large', `JSON bodies are limited to ${MAX_JSON_BYTES} bytes`);
  }
  const chunks: Buffer[] = [];
  for await (const chunk of body.stream() as AsyncIterable<Buffer>) chunks.push(chunk);
  let data: unknown;
  try {
    data = JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    throw new SphyrRequestError('bad_json', 'the request body is not valid JSON');
  }
  const parsed = schema.safeParse(data);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue?.path.length ? issue.path.join('.') : 'body';
    throw new SphyrRequestError('bad_request', `${where}: ${issue?.message ?? 'invalid'}`);
  }
  return parsed.data;
}
