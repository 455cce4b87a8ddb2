import os from 'node:os';
import { parseArgs } from 'node:util';
import { agentInstance, machineIdentity } from '../client/agent-instance.js';
import { GatewayClient } from '../client/gateway-client.js';
import { parseGatewayUrl, readClientSettingsSync } from '../config/local-config.js';
import { SphyrConfigError, type SphyrError } from '../errors.js';
import { VERSION } from '../version.js';
import { noteClientName } from './client-name.js';
import type { McpContext } from './context.js';
import { createSphyrMcpServer } from './server.js';
import { SphyrStdioServerTransport } from './stdio-transport.js';
import { runWrap } from './wrap.js';

const LEVELS = ['error', 'warn', 'info', 'debug'] as const;
type Level = (typeof LEVELS)[number];

const HELP = `Usage: sphyr-mcp [options] [-- <command> [args...]]

A stdio MCP server whose tools send every request through the Sphyr gateway:
signed, policy-checked and logged. stdout carries JSON-RPC only; messages go to stderr.

Options:
  --gateway <url>       gateway URL (default: SPHYR_GATEWAY_URL, then ~/.sphyr/config.json)
  --agent-name <name>   name shown in the log (default: SPHYR_AGENT_NAME or "sphyr-mcp")
  --fail-open           let requests go direct when the gateway is down (default: fail closed)
  --log-level <level>   error | warn | info | debug (default: info)
  --tools-allow <list>  wrap mode: only these tools (comma-separated, * globs)
  --tools-deny <list>   wrap mode: never these tools (deny wins)
  --version             print the version
  --help                print this help

The credential comes from SPHYR_CREDENTIAL (set it in the IDE's env block) or ~/.sphyr/config.json.
A restart in the same IDE, on the same machine, with the same agent name is the same agent (its
history stays); SPHYR_MACHINE_ID names the machine where /etc/machine-id cannot (containers).
`;

/** Run sphyr-mcp; resolves with an exit code only for --help/--version/usage errors. */
export async function main(argv: string[]): Promise<number | undefined> {
  const split = argv.indexOf('--');
  const own = split === -1 ? argv : argv.slice(0, split);
  let values: Record<string, string | boolean | undefined>;
  try {
    values = parseArgs({
      args: own,
      options: {
        gateway: { type: 'string' },
        'agent-name': { type: 'string' },
        'fail-open': { type: 'boolean' },
        'log-level': { type: 'string' },
        'tools-allow': { type: 'string' },
        'tools-deny': { type: 'string' },
        version: { type: 'boolean' },
        help: { type: 'boolean' },
      },
      strict: true,
    }).values;
  } catch (error) {
    process.stderr.write(`sphyr-mcp: ${(error as Error).message}\n(run sphyr-mcp --help for usage)\n`);
    return 2;
  }
  if (values.help) {
    process.stdout.write(HELP);
    return 0;
  }
  if (values.version) {
    process.stdout.write(`${VERSION}\n`);
    return 0;
  }
  const level = (values['log-level'] as Level | undefined) ?? 'info';
  if (!LEVELS.includes(level)) {
    process.stderr.write(`sphyr-mcp: --log-level must be one of ${LEVELS.join(', ')}\n`);
    return 2;
  }
  if (split !== -1 && !argv[split + 1]) {
    process.stderr.write(
      'sphyr-mcp: nothing after --; give the upstream server command, e.g. -- npx -y some-mcp-server\n',
    );
    return 2;
  }
  const log: McpContext['log'] = (at, message) => {
    if (LEVELS.indexOf(at) <= LEVELS.indexOf(level)) process.stderr.write(`sphyr-mcp ${at}: ${message}\n`);
  };
  const ctx: McpContext = { client: undefined, problem: undefined, log };
  const agentName = String(values['agent-name'] ?? process.env.SPHYR_AGENT_NAME ?? 'sphyr-mcp');
  const machine = machineIdentity();
  // Same IDE, machine, user, name (and wrapped server): the same agent after a restart (issue 13 #21).
  const instance = () =>
    agentInstance({
      machine,
      home: os.homedir(),
      client: ctx.clientName ?? '',
      name: agentName,
      detail: split === -1 ? [] : argv.slice(split + 1),
    });
  try {
    const settings = readClientSettingsSync({ home: os.homedir(), env: process.env });
    const gatewayUrl = values.gateway
      ? parseGatewayUrl(String(values.gateway), '--gateway')
      : settings.gatewayUrl;
    if (!settings.credential || !gatewayUrl) {
      throw new SphyrConfigError(
        'not_configured',
        `${settings.credential ? 'no gateway URL' : 'no credential'}: set SPHYR_CREDENTIAL and SPHYR_GATEWAY_URL in this server's env block, or run \`sphyr login\``,
      );
    }
    ctx.client = new GatewayClient({
      gatewayUrl,
      credential: settings.credential,
      agent: { name: agentName, runtime: `sphyr-mcp ${VERSION}`, instance },
    });
    log('info', `guarding requests through ${gatewayUrl} as key ${settings.credential.keyId}`);
  } catch (error) {
    // Keep serving: the IDE shows the tools, and each call says what to fix instead of a silent exit.
    ctx.problem = error as SphyrError;
    log('error', (error as Error).message);
  }
  if (split !== -1) {
    const list = (v: unknown) =>
      String(v ?? '')
        .split(',')
        .map((t) => t.trim())
        .filter(Boolean);
    const sphyrEnv: Record<string, string> = { SPHYR_FAIL_CLOSED: values['fail-open'] ? 'false' : 'true' };
    if (ctx.client) {
      sphyrEnv.SPHYR_GATEWAY_URL = ctx.client.gatewayUrl;
      sphyrEnv.SPHYR_AGENT_NAME = `${agentName}:upstream`;
    }
    await runWrap(ctx, {
      command: argv[split + 1] as string,
      args: argv.slice(split + 2),
      toolsAllow: list(values['tools-allow']),
      toolsDeny: list(values['tools-deny']),
      sphyrEnv,
      failOpen: Boolean(values['fail-open']),
    });
    return undefined;
  }
  const server = createSphyrMcpServer(ctx, VERSION);
  const transport = new SphyrStdioServerTransport();
  transport.onerror = (error) => log('warn', `ignored a malformed message: ${error.message}`);
  transport.onreceive = (message) => noteClientName(ctx, message);
  await server.connect(transport);
  return undefined;
}
