import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { McpContext } from './context.js';
import { registerCheckUrl } from './tools/check-url.js';
import { registerFetch } from './tools/fetch.js';
import { registerRecentRequests } from './tools/recent-requests.js';

export const SERVER_NAME = 'sphyr';

/** The standalone sphyr-mcp server: guarded `fetch`, `check_url` and `recent_requests`. */
export function createSphyrMcpServer(ctx: McpContext, version: string): McpServer {
  const server = new McpServer(
    { name: SERVER_NAME, version },
    {
      instructions:
        'Sphyr guards outbound requests. Use the fetch tool for web requests: it is signed, policy-checked and logged. ' +
        'Use check_url to ask whether a URL is allowed without sending anything, and recent_requests to see what was blocked and why.',
    },
  );
  registerFetch(server, ctx);
  registerCheckUrl(server, ctx);
  registerRecentRequests(server, ctx);
  return server;
}
