import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import type { McpContext } from './context.js';

/** Where MCP 2026-07-28 puts the client's identity in every request (it has no initialize). */
export const CLIENT_INFO_META = 'io.modelcontextprotocol/clientInfo';

function nameOf(info: unknown): string | undefined {
  const name = (info as { name?: unknown } | null | undefined)?.name;
  return typeof name === 'string' && name.trim() !== '' ? name.trim().slice(0, 200) : undefined;
}

/** The MCP client's own name (e.g. "claude-code", "cursor") if this message carries it. */
export function clientNameIn(message: JSONRPCMessage): string | undefined {
  if (!('method' in message)) return undefined;
  const params = message.params as { clientInfo?: unknown; _meta?: Record<string, unknown> } | undefined;
  const fromMeta = nameOf(params?._meta?.[CLIENT_INFO_META]);
  if (fromMeta) return fromMeta;
  return message.method === 'initialize' ? nameOf(params?.clientInfo) : undefined;
}

/**
 * Note which IDE is talking to us: it is part of this agent's identity, so the first name heard
 * is kept (one stdio process serves one client; a later message cannot move the agent).
 */
export function noteClientName(ctx: McpContext, message: JSONRPCMessage): void {
  ctx.clientName ??= clientNameIn(message);
}
