import { existsSync } from 'node:fs';
import { type Browser, chromium } from 'playwright-core';

export const CHROMIUM = process.env.SPHYR_CHROMIUM ?? '/usr/bin/chromium';

/**
 * Debian's chromium, driven by playwright-core (no tool downloads a browser here). The flags keep
 * it off the network it cannot reach anyway; a missing browser is an error that says what to do,
 * never a skipped test.
 */
export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(
      `${CHROMIUM} not found: browser tests need Debian's chromium (sudo apt-get install -y chromium); .ci/run installs it`,
    );
  }
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}
