// Drives the dashboard in Debian's chromium with playwright-core: loads the
// page, waits for the numbers to change as readings stream in, checks the
// LEDs are drawn in colour, reloads a plugin through the token dialog
// (first with a wrong token, then the right one) and saves a screenshot.
//   node dashboard.cjs URL TOKEN PLUGIN SCREENSHOT
// Prints one JSON object with what it saw; exits non-zero on failure.
"use strict";

const fs = require("fs");
const os = require("os");
const path = require("path");
const { chromium } = require("playwright-core");

async function main() {
  const [url, token, pluginName, screenshot] = process.argv.slice(2);
  const userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), "pyhost-chromium-"));
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    headless: true,
    args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
      "--disable-component-update", "--disable-sync", "--no-first-run"],
    viewport: { width: 1280, height: 1100 },
  });
  const result = { errors: [], requests: [] };
  try {
    const page = context.pages()[0] || (await context.newPage());
    page.on("pageerror", (error) => result.errors.push(String(error)));
    page.on("console", (message) => {
      if (message.type() === "error") result.errors.push(message.text());
    });
    page.on("request", (request) => result.requests.push(request.url()));
    await page.goto(url, { waitUntil: "load" });

    // The numbers: present, then changed by a streamed reading.
    await page.waitForFunction(() => document.getElementById("temperature").textContent !== "–");
    result.first_temperature = await page.textContent("#temperature");
    await page.waitForFunction(
      (first) => document.getElementById("temperature").textContent !== first,
      result.first_temperature, { timeout: 20000 });
    result.second_temperature = await page.textContent("#temperature");
    result.humidity = await page.textContent("#humidity");
    result.connection = await page.getAttribute("#connection", "data-state");
    result.led_colors = [await page.getAttribute("#led-first", "data-color"),
      await page.getAttribute("#led-second", "data-color")];
    result.led_fill = await page.$eval("#led-first", (e) => getComputedStyle(e).boxShadow);
    result.alarm = await page.textContent("#alarm");
    await page.waitForSelector("#temperature-chart canvas");
    result.has_charts = (await page.$$(".chart canvas")).length >= 2;
    result.plugin_rows = await page.$$eval("#plugins tbody tr", (rows) => rows.map((r) => r.dataset.plugin));

    // Reload: a wrong token is refused in the dialog, the right one works.
    await page.click(`button[data-reload="${pluginName}"]`);
    await page.fill("#token-input", "not-the-token-0123456789");
    await page.click("#token-submit");
    await page.waitForFunction(() => document.getElementById("token-error").textContent !== "");
    result.wrong_token_message = await page.textContent("#token-error");
    await page.fill("#token-input", token);
    await page.click("#token-submit");
    await page.waitForSelector("#toast:not([hidden])");
    result.toast = await page.textContent("#toast");
    result.dialog_open = await page.$eval("#token-dialog", (d) => d.open);
    await page.waitForTimeout(300); // let the charts settle for the picture
    await page.screenshot({ path: screenshot, fullPage: true });
  } finally {
    await context.close();
    fs.rmSync(userDataDir, { recursive: true, force: true });
  }
  console.log(JSON.stringify(result));
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
