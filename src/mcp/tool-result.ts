import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import {
  isSphyrError,
  SphyrAuthError,
  SphyrConfigError,
  SphyrNetworkError,
  SphyrPolicyError,
  SphyrRateLimitError,
} from '../errors.js';

/** A successful tool answer. */
export function textResult(text: string, structured?: Record<string, unknown>): CallToolResult {
  return structured
    ? { content: [{ type: 'text', text }], structuredContent: structured }
    : { content: [{ type: 'text', text }] };
}

/**
 * The one place sphyr-mcp turns an error into what the model reads: what happened, the stable
 * code, and what it means for the next step. Never a stack trace, never a secret.
 */
export function errorResult(error: unknown): CallToolResult {
  let text: string;
  if (error instanceof SphyrPolicyError) {
    text = `Blocked by Sphyr (${error.code}): ${error.message}. Nothing was sent to the target; do not retry this URL.`;
  } else if (error instanceof SphyrRateLimitError) {
    text = `Rate limited by the Sphyr gateway (${error.code}); retry after ${error.retryAfterSeconds} s.`;
  } else if (error instanceof SphyrNetworkError) {
    text =
      error.code === 'gateway_unreachable'
        ? `The Sphyr gateway is unreachable (${error.code}): ${error.message}. Requests fail closed, so nothing was sent.`
        : `The request failed (${error.code}): ${error.message}.`;
  } else if (error instanceof SphyrAuthError) {
    text = `The Sphyr gateway refused this agent's credential (${error.code}): ${error.message}. Ask the user to run \`sphyr login\`.`;
  } else if (error instanceof SphyrConfigError) {
    text = `Sphyr is not configured (${error.code}): ${error.message}`;
  } else if (isSphyrError(error)) {
    text = `Sphyr error (${error.code}): ${error.message}`;
  } else {
    text = `The tool failed: ${(error as Error)?.message ?? String(error)}`;
  }
  return { content: [{ type: 'text', text }], isError: true };
}
