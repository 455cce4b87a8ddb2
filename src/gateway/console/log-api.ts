/**
 * @module `GET /v1/console/log` (session cookie): the request log as JSON, newest first, with the
 * log page's filters (outcome, agent, key, host, from, to), `before`/`after` (keyset by seq) and
 * `limit` ≤ 200; `GET /v1/console/log/:seq` for one record. Records carry their agent's and key's
 * names beside the ids. Used by live updates and scripts.
 */

import { sendConsoleJson, sendJsonError } from './http.js';
import { MAX_LIMIT, PAGE_SIZE, parseLogQuery, recordJson, searchLog } from './log-query.js';
import { namesFor } from './names.js';
import { type ConsoleRequest, isReading, methodNotAllowed } from './request.js';

export async function handleLogApi(r: ConsoleRequest): Promise<void> {
  if (!isReading(r)) return methodNotAllowed(r, 'GET');
  if (r.path === '/v1/console/log') {
    const query = parseLogQuery(r.url.searchParams, PAGE_SIZE);
    if (query.errors.length) return sendJsonError(r.res, 400, 'invalid_query', query.errors.join('; '));
    const records = await searchLog(r.ctx.store, query);
    const names = await namesFor(r.ctx.store, records);
    const last = records.at(-1);
    return sendConsoleJson(r.res, 200, {
      records: records.map((record) => recordJson(record, names)),
      // Older page: pass as `before`; null when this page was not full.
      nextBefore: records.length === query.limit && last ? last.seq : null,
      maxLimit: MAX_LIMIT,
    });
  }
  const one = /^\/v1\/console\/log\/(\d{1,15})$/.exec(r.path);
  if (one) {
    const record = await r.ctx.store.getLogRecord(Number(one[1]));
    if (!record) return sendJsonError(r.res, 404, 'not_found', `no log record ${one[1]}`);
    return sendConsoleJson(r.res, 200, {
      record: recordJson(record, await namesFor(r.ctx.store, [record])),
    });
  }
  return sendJsonError(r.res, 404, 'not_found', `no GET ${r.path} in the console API`);
}
