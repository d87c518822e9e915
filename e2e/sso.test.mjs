// Single sign-on in a real browser: Tessera's "Sign in with corp" link, the provider's own login
// and consent pages (oidc-provider, started by crates/cli/tests/browser_sso.rs), and back to
// Tessera signed in. Environment: TESSERA_URL, E2E_OUTPUT, CHROMIUM.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { chromiumForFile } from "./chromium.mjs";

const base = process.env.TESSERA_URL;
const output = process.env.E2E_OUTPUT;
mkdirSync(output, { recursive: true });

const browser = chromiumForFile();

test("signing in through the identity provider's pages lands on the account, with the mapped role", async () => {
  const context = await browser().newContext({ viewport: { width: 1280, height: 860 } });
  const page = await context.newPage();
  await page.goto(`${base}/ui/account`);
  assert.match(page.url(), /\/ui\/login\?next=/);
  await page.screenshot({ path: join(output, "login-sso.png"), fullPage: true });
  await page.getByRole("link", { name: "Sign in with corp" }).click();
  // The provider's development login page, then its consent page.
  await page.locator('input[name="login"]').fill("ann");
  await page.locator('input[name="password"]').fill("any password");
  await page.getByRole("button", { name: "Sign-in" }).click();
  await page.getByRole("button", { name: "Continue" }).click();
  await page.waitForURL(`${base}/ui/account`);
  const text = await page.locator("body").innerText();
  assert.match(text, /ann\.smith/);
  assert.match(text, /SysAdmin/, "the mapped group's role shows");
  await page.screenshot({ path: join(output, "account-sso.png"), fullPage: true });
  await context.close();
});

test("with the password form tucked away, the break-glass administrator still signs in", async () => {
  const context = await browser().newContext();
  const page = await context.newPage();
  await page.goto(`${base}/ui/login`);
  await page.getByText("Administrator sign-in with a password").click();
  await page.getByLabel("Username").fill("admin");
  await page.getByLabel("Password").fill(process.env.TESSERA_ADMIN_PASSWORD);
  await page.getByRole("button", { name: "Log in" }).click();
  await page.waitForURL(`${base}/ui/account`);
  await context.close();
});
