import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type TurndownService from 'turndown';
import { z } from 'zod';
import { SphyrRateLimitError } from '../../errors.js';
import { type McpContext, requireClient } from '../context.js';
import { errorResult, textResult } from '../tool-result.js';
import { type Hop, nextHop } from './redirect.js';

/** More than this is not read: a model cannot use it, and memory stays bounded. */
const MAX_BODY_BYTES = 5 * 1024 * 1024;
const MAX_REDIRECTS = 5;

// Loaded on the first HTML page, not at start-up: an IDE waits for sphyr-mcp to initialize.
let turndown: TurndownService | undefined;
async function htmlToMarkdown(html: string): Promise<string> {
  if (!turndown) {
    const { default: Turndown } = await import('turndown');
    turndown = new Turndown({ headingStyle: 'atx', codeBlockStyle: 'fenced' });
    turndown.remove(['script', 'style', 'noscript', 'head', 'template', 'iframe', 'svg']);
  }
  return turndown.turndown(html);
}

async function readCapped(res: Response): Promise<{ bytes: Buffer; truncated: boolean }> {
  const chunks: Buffer[] = [];
  let size = 0;
  if (!res.body) return { bytes: Buffer.alloc(0), truncated: false };
  const reader = res.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return { bytes: Buffer.concat(chunks, size), truncated: false };
    chunks.push(Buffer.from(value));
    size += value.byteLength;
    if (size >= MAX_BODY_BYTES) {
      await reader.cancel();
      return { bytes: Buffer.concat(chunks, size).subarray(0, MAX_BODY_BYTES), truncated: true };
    }
  }
}

function isText(type: string): boolean {
  return /^text\/|json|xml|javascript|x-www-form-urlencoded|yaml|csv/i.test(type) || type === '';
}

export function registerFetch(server: McpServer, ctx: McpContext): void {
  server.registerTool(
    'fetch',
    {
      title: 'Fetch a URL through Sphyr',
      description:
        'Fetch a URL from the internet through the Sphyr gateway: the request is signed, checked against the ' +
        "organisation's policy (SSRF screening, allowed hosts and methods) and logged. HTML is returned as markdown " +
        'unless raw is true. Long pages come in pieces: when the answer says the content was truncated, call again ' +
        'with start_index set to where it stopped. A blocked request returns an error with its reason code; do not retry it.',
      inputSchema: {
        url: z.string().describe('Absolute http(s) URL to fetch'),
        method: z.string().default('GET').describe('HTTP method (default GET)'),
        headers: z.record(z.string(), z.string()).optional().describe('Extra request headers'),
        body: z.string().optional().describe('Request body, sent as given (for POST, PUT, PATCH)'),
        max_length: z
          .number()
          .int()
          .min(1)
          .max(1_000_000)
          .default(5000)
          .describe('Most characters to return (default 5000)'),
        start_index: z
          .number()
          .int()
          .min(0)
          .default(0)
          .describe('Character to start from, for the next piece of a long page'),
        raw: z
          .boolean()
          .default(false)
          .describe('Return the content as received instead of converting HTML to markdown'),
      },
      annotations: { openWorldHint: true },
    },
    async (input, extra) => {
      try {
        const client = requireClient(ctx);
        let request: Hop = {
          method: input.method.toUpperCase(),
          url: input.url,
          headers: Object.entries(input.headers ?? {}),
          body: input.body === undefined ? undefined : Buffer.from(input.body),
        };
        let res: Response | undefined;
        for (let hop = 0; ; hop += 1) {
          res = await client.relay({ ...request, signal: extra.signal });
          const location = res.headers.get('location');
          if (res.status < 300 || res.status >= 400 || !location || hop >= MAX_REDIRECTS) break;
          // Each hop is a new relay, screened again by the gateway (which never follows redirects).
          await res.body?.cancel();
          request = nextHop(request, res.status, location);
        }
        const url = request.url;
        if (res.status === 429 && res.headers.get('sphyr-outcome') === 'rate_limited') {
          throw new SphyrRateLimitError(
            'rate_limited',
            'the gateway is rate limiting this agent',
            Number(res.headers.get('retry-after') ?? 1),
          );
        }
        const type = res.headers.get('content-type') ?? '';
        const { bytes, truncated } = await readCapped(res);
        let content: string;
        if (!isText(type)) {
          content = `(binary content: ${type || 'unknown type'}, ${bytes.length} bytes, not shown)`;
        } else {
          const text = bytes.toString('utf8');
          content = !input.raw && /html/i.test(type) ? await htmlToMarkdown(text) : text;
        }
        const piece = content.slice(input.start_index, input.start_index + input.max_length);
        const next = input.start_index + piece.length;
        let text = `Contents of ${url} (HTTP ${res.status}${type ? `, ${type}` : ''}):\n${piece}`;
        if (next < content.length) {
          text += `\n\n<error>Content truncated. Call the fetch tool with a start_index of ${next} to get more content.</error>`;
        } else if (truncated) {
          text += `\n\n<error>The response was longer than ${MAX_BODY_BYTES} bytes; only the start was read.</error>`;
        } else if (piece.length === 0 && input.start_index > 0) {
          text = `<error>No more content: start_index ${input.start_index} is past the end (${content.length} characters).</error>`;
        }
        return textResult(text);
      } catch (error) {
        if (extra.signal.aborted) throw error;
        return errorResult(error);
      }
    },
  );
}
