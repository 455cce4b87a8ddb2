import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { z } from 'zod';
import { type McpContext, requireClient } from '../context.js';
import { errorResult, textResult } from '../tool-result.js';

export function registerCheckUrl(server: McpServer, ctx: McpContext): void {
  server.registerTool(
    'check_url',
    {
      title: 'Check a URL against the Sphyr policy',
      description:
        'Ask the Sphyr gateway whether a request to this URL would be allowed, without sending anything to it. ' +
        'Use it before fetching a URL you are unsure about (internal hosts, cloud metadata, unusual schemes). ' +
        'Returns "allow" or "block" with a reason code such as ssrf_metadata or policy_denied_host.',
      inputSchema: {
        url: z.string().describe('The absolute URL to check, e.g. https://api.example.com/v1/items'),
        method: z.string().default('GET').describe('The HTTP method you would use (default GET)'),
      },
      outputSchema: { verdict: z.enum(['allow', 'block']), reason: z.string() },
      annotations: { readOnlyHint: true, openWorldHint: false },
    },
    async ({ url, method }, extra) => {
      try {
        const verdict = await requireClient(ctx).check(method, url, extra.signal);
        return textResult(`${verdict.verdict} (${verdict.reason}): ${method.toUpperCase()} ${url}`, {
          ...verdict,
        });
      } catch (error) {
        return errorResult(error);
      }
    },
  );
}
