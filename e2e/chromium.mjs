// The browser every end-to-end test drives: Debian's Chromium through playwright-core, headless,
// quiet (no background networking, updates or sync). CHROMIUM names another binary. Playwright
// gives each launch a fresh, empty profile of its own.
import { before, after } from "node:test";
import { chromium } from "playwright-core";

export function launchChromium() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    args: [
      "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync",
    ],
  });
}

/** Launches Chromium before the calling file's tests and closes it after them; the function it
 *  returns gives the running browser. */
export function chromiumForFile() {
  let browser;
  before(async () => {
    browser = await launchChromium();
  });
  after(async () => browser?.close());
  return () => browser;
}
