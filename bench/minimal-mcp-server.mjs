/**
 * The least an MCP SDK stdio server can be: one `echo` tool, nothing else. Section "mcp" of
 * bench/run.mjs spawns it the same way as sphyr-mcp to give the cold start a baseline.
 */
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { z } from 'zod';

const server = new McpServer({ name: 'bench-minimal', version: '0.0.0' });
server.registerTool(
  'echo',
  { description: 'Echo the message back', inputSchema: { message: z.string() } },
  async ({ message }) => ({ content: [{ type: 'text', text: message }] }),
);
await server.connect(new StdioServerTransport());
