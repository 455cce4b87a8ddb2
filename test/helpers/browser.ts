import { existsSync } from 'node:fs';
import { type Browser, chromium, type Page } from 'playwright-core';

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

/**
 * The page was sent to the console's sign-in (as any signed-out visit is): sign in as `admin`.
 * `beforeSubmit` runs with the form filled in (a screenshot, say).
 */
export async function signInWhenAsked(page: Page, password: string, beforeSubmit?: () => Promise<unknown>) {
  await page.waitForURL(/\/console\/login\?next=/);
  await page.getByLabel('Username').fill('admin');
  await page.getByLabel('Password').fill(password);
  await beforeSubmit?.();
  await page.getByRole('button', { name: 'Sign in' }).click();
}
