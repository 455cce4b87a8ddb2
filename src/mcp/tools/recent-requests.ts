import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { z } from 'zod';
import { type McpContext, requireClient } from '../context.js';
import { errorResult, textResult } from '../tool-result.js';

interface PublicRecord {
  time: string;
  kind: string;
  method: string | null;
  host: string | null;
  outcome: string;
  reason: string;
  status: number;
  tool: string | null;
}

export function registerRecentRequests(server: McpServer, ctx: McpContext): void {
  server.registerTool(
    'recent_requests',
    {
      title: "This agent's recent requests",
      description:
        'List the newest outbound requests and tool calls this agent made through Sphyr, newest first, ' +
        'with their outcome (allowed, blocked, rate_limited, …) and reason code. Use it to see why a request was blocked.',
      inputSchema: {
        limit: z.number().int().min(1).max(200).default(20).describe('How many records (1-200, default 20)'),
      },
      annotations: { readOnlyHint: true, openWorldHint: false },
    },
    async ({ limit }, extra) => {
      try {
        const records = (await requireClient(ctx).recentRecords(limit, extra.signal)) as PublicRecord[];
        if (records.length === 0)
          return textResult('No requests recorded for this agent yet.', { records: [] });
        const lines = records.map((r) =>
          r.kind === 'tool'
            ? `${r.time}  tool ${r.tool}  ${r.outcome} (${r.reason})`
            : `${r.time}  ${r.method ?? '-'} ${r.host ?? '-'}  ${r.outcome} (${r.reason})  HTTP ${r.status}`,
        );
        return textResult(lines.join('\n'), { records });
      } catch (error) {
        return errorResult(error);
      }
    },
  );
}
