// Tessera's web UI in a real browser (Debian's Chromium through playwright-core), against the
// real server that crates/cli/tests/browser.rs starts. Environment: TESSERA_URL, TESSERA_ADMIN_PASSWORD,
// E2E_OUTPUT (where screenshots go), CHROMIUM (the browser's path).
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { chromiumForFile } from "./chromium.mjs";

const base = process.env.TESSERA_URL;
const password = process.env.TESSERA_ADMIN_PASSWORD;
const output = process.env.E2E_OUTPUT;
mkdirSync(output, { recursive: true });

const browser = chromiumForFile();

async function loggedIn(viewport = { width: 1280, height: 860 }) {
  const context = await browser().newContext({ viewport });
  const page = await context.newPage();
  page.on("dialog", (dialog) => dialog.accept());
  await page.goto(`${base}/ui/account`);
  assert.match(page.url(), /\/ui\/login\?next=/);
  await page.getByLabel("Username").fill("admin");
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Log in" }).click();
  await page.waitForURL(`${base}/ui/account`);
  return { context, page };
}

const shot = (page, name) => page.screenshot({ path: join(output, `${name}.png`), fullPage: true });

async function whoAmI(token) {
  const response = await fetch(`${base}/v4/users/self`, { headers: { Authorization: `Bearer ${token}` } });
  return response.status;
}

test("the server's address, /ui and /ui/ land on the login page, then on the account", async () => {
  const context = await browser().newContext();
  const page = await context.newPage();
  for (const path of ["/", "/ui", "/ui/"]) {
    await page.goto(`${base}${path}`);
    assert.match(page.url(), /\/ui\/login/, path);
    await page.getByRole("button", { name: "Log in" }).waitFor();
  }
  await page.getByLabel("Username").fill("admin");
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Log in" }).click();
  await page.waitForURL(`${base}/ui/account`);
  for (const path of ["/", "/ui/"]) {
    await page.goto(`${base}${path}`);
    assert.equal(page.url(), `${base}/ui/account`, path);
  }
  // The PAT form speaks the words of Domino's documentation.
  await page.getByText("Generate new Token").click();
  await page.getByLabel("Token name", { exact: true }).waitFor();
  await page.getByLabel("Token Expiration").waitFor();
  await page.getByRole("button", { name: "Create token", exact: true }).waitFor();
  await context.close();
});

test("a wrong password is refused on the page, keeping the user name", async () => {
  const page = await browser().newPage();
  await page.goto(`${base}/ui/login`);
  await shot(page, "login");
  await page.getByLabel("Username").fill("admin");
  await page.getByLabel("Password").fill("not the password");
  await page.getByRole("button", { name: "Log in" }).click();
  await page.getByText("Incorrect username or password.").waitFor();
  assert.equal(await page.getByLabel("Username").inputValue(), "admin");
  await page.close();
});

test("generate a token, read it once, use it, revoke it from the menu and see the badge change", async () => {
  const { context, page } = await loggedIn();
  await page.getByText("Generate new Token").click();
  await page.getByLabel("Token name", { exact: true }).fill("e2e-laptop");
  await page.getByLabel("Description").fill("made in a browser");
  await page.getByLabel("Token Expiration").selectOption({ label: "7 days" });
  await page.getByRole("button", { name: "Create token", exact: true }).click();
  const field = page.locator("#new-token");
  await field.waitFor();
  const token = await field.inputValue();
  assert.match(token, /^tpat_/);
  await page.getByText("it will not be shown again").waitFor();
  await shot(page, "token-created");
  assert.equal(await whoAmI(token), 200);

  await page.goto(`${base}/ui/account`);
  assert.equal(await page.locator("#new-token").count(), 0, "the token is shown a second time");
  const row = page.locator('tr[data-token="e2e-laptop"]');
  await row.getByText("Expiring Soon").waitFor(); // 7 days is within the warning window
  await row.getByLabel("Actions for e2e-laptop").click();
  await shot(page, "token-menu");
  await row.getByRole("button", { name: "Revoke" }).click();
  await page.getByText("Token revoked.").waitFor();
  await page.locator('tr[data-token="e2e-laptop"] .badge.revoked').waitFor();
  assert.equal(await page.locator('tr[data-token="e2e-laptop"] .badge').innerText(), "Revoked");
  await shot(page, "token-revoked");
  assert.equal(await whoAmI(token), 401);

  await page.locator('tr[data-token="e2e-laptop"]').getByLabel("Actions for e2e-laptop").click();
  await page.locator('tr[data-token="e2e-laptop"]').getByRole("button", { name: "Delete" }).click();
  await page.getByText("Token deleted.").waitFor();
  assert.equal(await page.locator('tr[data-token="e2e-laptop"]').count(), 0);
  await context.close();
});

test("form errors appear beside the field without losing what was typed", async () => {
  const { context, page } = await loggedIn();
  await page.getByText("Generate new Token").click();
  await page.getByLabel("Description").fill("kept");
  await page.getByRole("button", { name: "Create token", exact: true }).click();
  await page.locator("#pat-name-error").waitFor();
  assert.equal(await page.getByLabel("Description").inputValue(), "kept");
  assert.equal(await page.getByLabel("Token name", { exact: true }).getAttribute("aria-invalid"), "true");
  await shot(page, "form-error");
  await context.close();
});

test("a form whose CSRF token was tampered with is refused and changes nothing", async () => {
  const { context, page } = await loggedIn();
  await page.getByText("Generate new Token").click();
  await page.getByLabel("Token name", { exact: true }).fill("forged");
  await page.evaluate(() => {
    document.querySelector('details.generate input[name="csrf"]').value = "forged-token";
  });
  await page.getByRole("button", { name: "Create token", exact: true }).click();
  await page.getByText("did not come from this session").waitFor();
  await page.goto(`${base}/ui/account`);
  assert.equal(await page.locator('tr[data-token="forged"]').count(), 0);
  await context.close();
});

test("the API key page shows the deprecation and a regenerated key once", async () => {
  const { context, page } = await loggedIn();
  await page.getByRole("link", { name: "API key" }).click();
  await page.getByText("Deprecated.").waitFor();
  await page.getByRole("button", { name: "Regenerate API key" }).click();
  const key = await page.locator("#new-key").inputValue();
  assert.match(key, /^tkey_/);
  await shot(page, "api-key");
  const response = await fetch(`${base}/v4/users/self`, { headers: { "X-Domino-Api-Key": key } });
  assert.equal(response.status, 200);
  assert.ok(response.headers.get("deprecation"));
  await context.close();
});

test("the account page fits a phone and its menu works from the keyboard", async () => {
  const { context, page } = await loggedIn({ width: 375, height: 740 });
  await page.getByText("Generate new Token").click();
  await page.getByLabel("Token name", { exact: true }).fill("phone");
  await page.getByRole("button", { name: "Create token", exact: true }).click();
  await page.locator("#new-token").waitFor();
  await page.goto(`${base}/ui/account`);
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 0, `the page is ${overflow}px wider than the phone`);
  await shot(page, "account-phone");
  const summary = page.locator('tr[data-token="phone"] summary');
  await summary.focus();
  await page.keyboard.press("Enter");
  await page.locator('tr[data-token="phone"]').getByRole("button", { name: "Revoke" }).waitFor({ state: "visible" });
  await page.keyboard.press("Escape");
  await context.close();
});

test("an administrator's role change revokes the user's tokens, seen on the user's page", async () => {
  const admin = await loggedIn();
  let page = admin.page;
  await page.getByRole("link", { name: "Users" }).click();
  await page.locator("#new-user-h").click();
  await page.getByLabel("Username").fill("e2e-bob");
  await page.getByLabel("Email").fill("bob@example.com");
  await page.getByLabel("Password").fill("bob-password-123");
  await page.getByRole("button", { name: "Create user" }).last().click();
  await page.getByText("User created.").waitFor();
  await shot(page, "admin-users");

  // Bob logs in in his own browser and makes a token.
  const bob = await browser().newContext();
  const bobPage = await bob.newPage();
  await bobPage.goto(`${base}/ui/login`);
  await bobPage.getByLabel("Username").fill("e2e-bob");
  await bobPage.getByLabel("Password").fill("bob-password-123");
  await bobPage.getByRole("button", { name: "Log in" }).click();
  await bobPage.waitForURL(`${base}/ui/account`);
  assert.equal(await bobPage.getByRole("link", { name: "Users" }).count(), 0, "admin pages offered to a non-admin");
  await bobPage.getByText("Generate new Token").click();
  await bobPage.getByLabel("Token name", { exact: true }).fill("bob-laptop");
  await bobPage.getByRole("button", { name: "Create token", exact: true }).click();
  const token = await bobPage.locator("#new-token").inputValue();
  assert.equal(await whoAmI(token), 200);

  // The administrator changes Bob's roles, after the warning.
  const row = page.locator('tr[data-user="e2e-bob"]');
  await row.locator("details.roles summary").click();
  await row.getByText("Changing roles revokes all of e2e-bob").waitFor();
  await row.getByLabel("Librarian").check();
  await row.getByRole("button", { name: "Save roles" }).click();
  await page.getByText("personal access tokens are revoked").waitFor();

  await bobPage.goto(`${base}/ui/account`);
  await bobPage.locator('tr[data-token="bob-laptop"] .badge.revoked').waitFor();
  assert.equal(await whoAmI(token), 401);
  await shot(bobPage, "role-change-revoked");

  await page.getByRole("link", { name: "All tokens" }).click();
  await page.getByLabel("Status").selectOption("revoked");
  await page.getByRole("button", { name: "Filter" }).click();
  await page.locator('tr[data-token="e2e-bob/bob-laptop"]').waitFor();
  await shot(page, "admin-tokens");
  await page.getByRole("link", { name: "Audit log" }).click();
  await page.getByText("pat.revoked").first().waitFor();
  await shot(page, "admin-audit");
  await bob.close();
  await admin.context.close();
});

test("model API sharing and access tokens from the settings page", async () => {
  const { context, page } = await loggedIn();
  await page.getByText("Generate new Token").click();
  await page.getByLabel("Token name", { exact: true }).fill("e2e-api");
  await page.getByRole("button", { name: "Create token", exact: true }).click();
  const pat = await page.locator("#new-token").inputValue();
  const api = async (method, path, body) => {
    const r = await fetch(`${base}${path}`, {
      method, headers: { Authorization: `Bearer ${pat}`, "Content-Type": "application/json" }, body: JSON.stringify(body),
    });
    return r.json();
  };
  const project = await api("POST", "/v4/projects", { name: "e2e-project" });
  const model = await api("POST", "/api/modelServing/v1/modelApis", {
    name: "e2e-churn", projectId: project.id, kind: "sync", visibility: "private", authorization: "restricted",
  });
  await api("POST", "/api/admin/v1/users", { userName: "e2e-carol", email: "carol@example.com" });

  await page.getByRole("link", { name: "Projects" }).click();
  await page.getByRole("link", { name: "e2e-project" }).click();
  await page.getByRole("link", { name: "e2e-churn" }).waitFor();
  await shot(page, "project");
  await page.getByRole("link", { name: "Model APIs" }).click();
  await page.getByRole("link", { name: "e2e-churn" }).click();
  await page.locator("#sample-curl").getByText("$TOKEN:$TOKEN").waitFor();
  await shot(page, "model-overview");
  await page.getByRole("link", { name: "Settings", exact: true }).click();
  await page.getByLabel("Add a collaborator by").selectOption("userName");
  await page.getByLabel("Username, e-mail or organization").fill("e2e-carol");
  await page.getByLabel("Role", { exact: true }).selectOption("editor");
  await page.getByRole("button", { name: "Add", exact: true }).click();
  const carol = page.locator('tr[data-collaborator="e2e-carol"]');
  await carol.waitFor();
  assert.equal(await carol.getByLabel("Role of e2e-carol").inputValue(), "editor");
  await carol.getByLabel("Role of e2e-carol").selectOption("viewer");
  await carol.getByRole("button", { name: "Save" }).click();
  assert.equal(await page.locator('tr[data-collaborator="e2e-carol"]').getByLabel("Role of e2e-carol").inputValue(), "viewer");

  await page.getByLabel("New access token name").fill("client");
  await page.getByRole("button", { name: "Generate token" }).click();
  const token = await page.locator("#model-token").inputValue();
  assert.match(token, /^tmat_/);
  await shot(page, "model-settings");
  const invoke = (auth) => fetch(`${base}/models/${model.id}/latest/model`, {
    method: "POST", headers: { "Content-Type": "application/json", ...(auth ? { Authorization: auth } : {}) },
    body: JSON.stringify({ data: {} }),
  }).then((r) => r.status);
  const basic = "Basic " + Buffer.from(`${token}:${token}`).toString("base64");
  assert.equal(await invoke(basic), 409, "the token passes; the model API has no version yet");
  assert.equal(await invoke(null), 401);
  const row = page.locator('tr[data-token="client"]');
  await row.getByLabel("Actions for client").click();
  await row.getByRole("button", { name: "Revoke" }).click();
  await page.locator('tr[data-token="client"] .badge.revoked').waitFor();
  assert.equal(await invoke(basic), 401);
  await context.close();
});

test("logging out ends the session", async () => {
  const { context, page } = await loggedIn();
  await shot(page, "account");
  await page.getByRole("button", { name: "Log out" }).click();
  await page.waitForURL(`${base}/ui/login`);
  await page.goto(`${base}/ui/account`);
  assert.match(page.url(), /\/ui\/login/);
  await context.close();
});
