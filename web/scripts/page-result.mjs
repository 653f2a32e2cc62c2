// Open the built page in headless Chromium (Debian's, through puppeteer-core: no browser download) and print
// what it wrote, as JSON: {state, result, elapsed_ms, bench, page_errors}. Used by tests/test_web.py, the
// benchmark and the docs' screenshot. With --webcam Y4M, Chromium's fake camera plays that clip: the page's
// webcam mode runs for --webcam-ms, is stopped, and its summary (#summary) comes back as `summary`.
//   node scripts/page-result.mjs URL [--timeout MS] [--screenshot PNG] [--webcam Y4M --webcam-ms MS]
// CHROMIUM names the browser binary (default: chromium on the PATH).

import { existsSync } from "node:fs";
import { delimiter, join } from "node:path";
import { parseArgs } from "node:util";

import puppeteer from "puppeteer-core";

/** The browser binary: $CHROMIUM, else the first chromium on the PATH. */
function chromium() {
  if (process.env.CHROMIUM) return process.env.CHROMIUM;
  const found = (process.env.PATH || "").split(delimiter).map((dir) => join(dir, "chromium")).find((p) => existsSync(p));
  if (!found) throw new Error("chromium not found: install Debian's chromium (apt-get install chromium) or set CHROMIUM");
  return found;
}

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    timeout: { type: "string", default: "60000" },
    screenshot: { type: "string" },
    webcam: { type: "string" },
    "webcam-ms": { type: "string", default: "5000" },
  },
});
const url = positionals[0];
if (!url) {
  console.error("usage: node scripts/page-result.mjs URL [--timeout MS] [--screenshot PNG]");
  process.exit(2);
}
const timeout = Number(values.timeout);
const browser = await puppeteer.launch({
  executablePath: chromium(),
  headless: true,
  args: [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    ...(values.webcam
      ? [
          "--use-fake-ui-for-media-stream",
          "--use-fake-device-for-media-stream",
          `--use-file-for-fake-video-capture=${values.webcam}`,
        ]
      : []),
  ],
});
try {
  const page = await browser.newPage();
  /** @type {string[]} */
  const errors = [];
  page.on("pageerror", (error) => errors.push(String(error)));
  await page.goto(url, { waitUntil: "domcontentloaded", timeout });
  if (values.webcam) {
    await page.waitForFunction(() => document.getElementById("status")?.textContent?.startsWith("ready"), { timeout });
    await page.click("#webcam");
    await new Promise((resolve) => setTimeout(resolve, Number(values["webcam-ms"])));
    await page.click("#webcam");
    await page.waitForSelector("#summary[data-state=done]", { timeout });
    const summary = await page.evaluate(() => JSON.parse(document.getElementById("summary")?.textContent || "null"));
    console.log(JSON.stringify({ state: "done", summary, page_errors: errors }));
    process.exit(0);
  }
  const benching = new URL(url).searchParams.has("bench");
  const selector = benching ? "#bench[data-state=done], #result[data-state=error]" : "#result:is([data-state=done], [data-state=error])";
  await page.waitForSelector(selector, { timeout });
  const out = await page.evaluate(() => {
    const result = /** @type {HTMLElement} */ (document.getElementById("result"));
    const bench = /** @type {HTMLElement} */ (document.getElementById("bench"));
    const done = result.dataset.state === "done";
    return {
      state: result.dataset.state,
      result: done ? JSON.parse(result.textContent || "null") : result.textContent,
      elapsed_ms: done ? Number(result.dataset.elapsedMs) : null,
      bench: bench.dataset.state === "done" ? JSON.parse(bench.textContent || "null") : null,
      priors: [.../** @type {HTMLSelectElement} */ (document.getElementById("prior")).options].map((o) => o.value),
    };
  });
  if (values.screenshot) {
    await page.setViewport({ width: 1200, height: 900 });
    await page.screenshot({ path: values.screenshot, fullPage: true });
  }
  console.log(JSON.stringify({ ...out, page_errors: errors }));
} finally {
  await browser.close();
}
