import type { Command } from 'commander';
import { generateCredential } from '../../config/credential.js';
import { defaultDataDir } from '../../config/paths.js';
import { SphyrConfigError } from '../../errors.js';
import type { SqliteStore } from '../../gateway/store/sqlite-store.js';
import { loadGatewayPackage } from '../gateway-package.js';
import type { CliIo } from '../io.js';

interface DirOption {
  dataDir?: string;
}

async function withStore<T>(io: CliIo, opts: DirOption, fn: (store: SqliteStore) => Promise<T>): Promise<T> {
  const { SqliteStore } = await loadGatewayPackage();
  const store = await SqliteStore.open(opts.dataDir ?? (await defaultDataDir(io.env)), {
    warn: (m) => io.err(`sphyr: ${m}`),
  });
  try {
    return await fn(store);
  } finally {
    await store.close();
  }
}

/** `sphyr keys …`: key admin on a gateway's data dir, for bootstrapping before login exists. */
export function registerKeys(program: Command, io: CliIo): void {
  const keys = program.command('keys').description("manage API keys in a gateway's data dir");
  keys
    .command('create')
    .description('create a key; prints the credential (once) on stdout')
    .requiredOption('--name <name>', 'a name that says who or what uses the key')
    .option('--data-dir <dir>', "the gateway's data dir")
    .action(async (opts: DirOption & { name: string }) => {
      const name = opts.name.trim();
      if (!name || name.length > 200) {
        throw new SphyrConfigError('bad_name', '--name must be 1 to 200 characters');
      }
      await withStore(io, opts, async (store) => {
        const credential = generateCredential((await loadGatewayPackage()).newKeyId());
        await store.createKey(credential.keyId, name, credential.secret, Date.now());
        io.err(
          `Created key ${credential.keyId} ("${name}"). The credential below is shown only now; keep it secret.`,
        );
        io.out(credential.reveal());
      });
    });
  keys
    .command('list')
    .description('list keys (never their secrets)')
    .option('--json', 'one JSON array on stdout')
    .option('--data-dir <dir>', "the gateway's data dir")
    .action(async (opts: DirOption & { json?: boolean }) => {
      await withStore(io, opts, async (store) => {
        const list = await store.listKeys();
        if (opts.json) {
          io.out(
            JSON.stringify(
              list.map((k) => ({
                ...k,
                createdAt: new Date(k.createdAt).toISOString(),
                revokedAt: k.revokedAt && new Date(k.revokedAt).toISOString(),
              })),
            ),
          );
          return;
        }
        if (list.length === 0) io.err('no keys yet: create one with `sphyr keys create --name NAME`');
        for (const k of list) {
          const state = k.revokedAt ? `revoked ${new Date(k.revokedAt).toISOString()}` : 'active';
          io.out(`${k.id}\t${k.name}\t${new Date(k.createdAt).toISOString()}\t${state}`);
        }
      });
    });
  keys
    .command('revoke')
    .description('revoke a key; requests signed with it fail at once with key_revoked')
    .argument('<id>', 'key id (see `sphyr keys list`)')
    .option('--data-dir <dir>', "the gateway's data dir")
    .action(async (id: string, opts: DirOption) => {
      await withStore(io, opts, async (store) => {
        const record = await store.revokeKey(id, Date.now());
        if (!record) throw new SphyrConfigError('unknown_key', `no key ${id}; see \`sphyr keys list\``);
        io.err(`Revoked key ${id}.`);
      });
    });
}
