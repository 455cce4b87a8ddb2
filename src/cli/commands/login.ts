import type { Command } from 'commander';
import { SphyrConfigError } from '../../errors.js';
import type { CliIo } from '../io.js';

const DEFAULT_GATEWAY = 'http://127.0.0.1:7470';

interface LoginOptions {
  gateway?: string;
  browser?: boolean;
  withToken?: boolean;
}

/** Everything after the first line break of stdin, trimmed; refuses a terminal (it would echo the secret). */
async function readStdin(io: CliIo): Promise<string> {
  if (io.stdinIsTTY) {
    throw new SphyrConfigError(
      'stdin_is_terminal',
      '--with-token reads the credential from standard input: pipe it in, e.g. `printenv SPHYR_CREDENTIAL | sphyr login --with-token`',
    );
  }
  const chunks: Buffer[] = [];
  for await (const chunk of io.stdin ?? process.stdin) chunks.push(Buffer.from(chunk as Buffer));
  return Buffer.concat(chunks).toString('utf8').trim();
}

/** Open the approval page in the person's browser, where there is one; never with a secret in it. */
async function openBrowser(io: CliIo, url: string): Promise<boolean> {
  if (io.env.CI || (process.platform === 'linux' && !io.env.DISPLAY && !io.env.WAYLAND_DISPLAY)) return false;
  const { spawn } = await import('node:child_process');
  const [command, args] =
    process.platform === 'darwin'
      ? ['open', [url]]
      : process.platform === 'win32'
        ? ['cmd', ['/c', 'start', '""', url.replace(/&/g, '^&')]]
        : ['xdg-open', [url]];
  return new Promise((resolve) => {
    const child = spawn(command as string, args as string[], { stdio: 'ignore', detached: true });
    child.once('error', () => resolve(false));
    child.once('spawn', () => {
      child.unref();
      resolve(true);
    });
  });
}

async function gatewayFor(io: CliIo, flag: string | undefined): Promise<string> {
  const { parseGatewayUrl, readClientSettings } = await import('../../config/local-config.js');
  if (flag) return parseGatewayUrl(flag, '--gateway');
  const settings = await readClientSettings({ home: io.home, env: io.env }).catch(() => undefined);
  return settings?.gatewayUrl ?? DEFAULT_GATEWAY;
}

/** `sphyr login`, `sphyr logout`, `sphyr whoami` (DESIGN §3.1, §3.8). */
export function registerLogin(
  program: Command,
  io: CliIo,
  setExit: (code: number) => void,
  rerun: (argv: string[]) => Promise<number>,
): void {
  program
    .command('login')
    .description('sign this machine in to a gateway (device code, approved in the console)')
    .option(
      '--gateway <url>',
      `the gateway (default: SPHYR_GATEWAY_URL, ~/.sphyr/config.json, then ${DEFAULT_GATEWAY})`,
    )
    .option('--no-browser', 'print the URL instead of opening a browser')
    .option('--with-token', 'read a credential from standard input instead (for CI)')
    .action(async (opts: LoginOptions) => {
      const os = await import('node:os');
      const { parseCredential } = await import('../../config/credential.js');
      const { writeClientSettings } = await import('../../config/local-config.js');
      const { GatewayClient } = await import('../../client/gateway-client.js');
      const gatewayUrl = await gatewayFor(io, opts.gateway);
      let credentialText: string;
      let finalGateway = gatewayUrl;
      if (opts.withToken) {
        credentialText = await readStdin(io);
        if (!credentialText)
          throw new SphyrConfigError(
            'no_credential',
            'standard input was empty; pipe in a credential (sphyr.<keyid>.<secret>)',
          );
      } else {
        const { deviceLogin } = await import('../../client/device-login.js');
        const spinner = io.stderrIsTTY ? ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'] : undefined;
        let frame = 0;
        const result = await deviceLogin({
          gatewayUrl,
          deviceName: os.hostname(),
          onCode: async (a) => {
            const link = a.verificationUriComplete ?? a.verificationUri;
            io.err(`To sign in, open ${a.verificationUri} and enter the code:\n\n    ${a.userCode}\n`);
            const opened = opts.browser !== false && (await openBrowser(io, link));
            io.err(opened ? `Opened ${link} in your browser. Confirm the code there.` : `Or open ${link}`);
            io.err(`Waiting for approval (the code expires in ${Math.round(a.expiresIn / 60)} minutes)…`);
          },
          onPoll: () => {
            if (spinner) process.stderr.write(`\r${spinner[frame++ % spinner.length]} waiting for approval`);
          },
        });
        if (spinner) process.stderr.write('\r\x1b[K');
        credentialText = result.credential;
        finalGateway = result.gatewayUrl;
      }
      const credential = parseCredential(
        credentialText,
        opts.withToken ? 'standard input' : 'the token response',
      );
      // Check it before saving it: a typo'd or revoked credential fails here, not in the IDE later.
      const client = new GatewayClient({
        gatewayUrl: finalGateway,
        credential,
        agent: { name: 'sphyr login' },
      });
      const me = await client.whoami();
      const file = await writeClientSettings(
        { home: io.home, env: io.env },
        { gatewayUrl: finalGateway, credential },
      );
      io.err(
        `Logged in to ${finalGateway} as key ${me.keyId} ("${me.keyName}"). Saved to ${file} (mode 0600).`,
      );
      if (!opts.withToken && io.ask) {
        const answer =
          (await io.ask('Configure sphyr-mcp in your IDEs now (sphyr guard init)? [Y/n] ')) ?? '';
        if (/^(y(es)?)?$/i.test(answer.trim())) {
          setExit(await rerun(['guard', 'init']));
          return;
        }
      }
      if (!opts.withToken) io.err('Next: run `sphyr guard init` to add sphyr-mcp to your IDEs.');
    });

  program
    .command('logout')
    .description('revoke this machine’s key at the gateway and delete ~/.sphyr/config.json')
    .action(async () => {
      const { readClientSettings } = await import('../../config/local-config.js');
      const { localConfigPath } = await import('../../config/paths.js');
      const { GatewayClient } = await import('../../client/gateway-client.js');
      const { rm } = await import('node:fs/promises');
      const facts = { home: io.home, env: io.env };
      const settings = await readClientSettings(facts);
      if (!settings.credential || !settings.gatewayUrl) {
        io.err('Not logged in: there is no credential in ~/.sphyr/config.json or SPHYR_CREDENTIAL.');
        setExit(1);
        return;
      }
      let revoked = true;
      try {
        await new GatewayClient({
          gatewayUrl: settings.gatewayUrl,
          credential: settings.credential,
          agent: { name: 'sphyr logout' },
        }).revokeSelf();
      } catch (error) {
        revoked = false;
        io.err(
          `Could not revoke key ${settings.credential.keyId} at ${settings.gatewayUrl}: ${(error as Error).message}. Revoke it in the console.`,
        );
      }
      if (settings.sources.credential === localConfigPath(facts)) {
        await rm(localConfigPath(facts), { force: true });
        io.err(`Removed ${localConfigPath(facts)}.`);
      } else {
        io.err(`The credential came from ${settings.sources.credential}; unset it yourself.`);
      }
      if (revoked) io.err(`Key ${settings.credential.keyId} is revoked; requests signed with it now fail.`);
      setExit(revoked ? 0 : 1);
    });

  program
    .command('whoami')
    .description('the gateway and key this machine uses')
    .option('--json', 'one JSON object on stdout')
    .action(async (opts: { json?: boolean }) => {
      const { readClientSettings } = await import('../../config/local-config.js');
      const { GatewayClient } = await import('../../client/gateway-client.js');
      const settings = await readClientSettings({ home: io.home, env: io.env });
      if (!settings.credential || !settings.gatewayUrl) {
        throw new SphyrConfigError(
          'not_configured',
          'not logged in: run `sphyr login` (or set SPHYR_CREDENTIAL and SPHYR_GATEWAY_URL)',
        );
      }
      const me = await new GatewayClient({
        gatewayUrl: settings.gatewayUrl,
        credential: settings.credential,
        agent: { name: 'sphyr whoami' },
      }).whoami();
      const out = {
        gateway: settings.gatewayUrl,
        keyId: me.keyId,
        keyName: me.keyName,
        createdAt: me.createdAt,
        credentialFrom: settings.sources.credential,
      };
      io.out(opts.json ? JSON.stringify(out) : `${out.keyId} ("${out.keyName}") at ${out.gateway}`);
    });
}
