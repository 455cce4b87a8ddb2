import type { GatewayClient } from '../client/gateway-client.js';
import type { SphyrError } from '../errors.js';

/** What the tools need: the signing client, or the reason there is none (they then answer with it). */
export interface McpContext {
  client: GatewayClient | undefined;
  problem: SphyrError | undefined;
  /** The IDE's clientInfo.name once it has said it (client-name.ts): part of the agent's identity. */
  clientName?: string;
  log(level: 'error' | 'warn' | 'info' | 'debug', message: string): void;
}

export function requireClient(ctx: McpContext): GatewayClient {
  if (!ctx.client) throw ctx.problem;
  return ctx.client;
}
