// Opens a bundle's HTML page in headless Chromium, as a reader would from disk, and fails
// if the page is not whole: a console error, an uncaught exception, a request that failed,
// a request that left the bundle (anything but file:), an image that did not load, or a
// relative link to a file that is not there. Writes a full-page screenshot.
//
// Usage: node check.mjs PAGE.html SCREENSHOT.png
// Environment: CHROMIUM (default /usr/bin/chromium).
import { chromium } from "playwright-core";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const [page_arg, screenshot_arg] = process.argv.slice(2);
if (!page_arg || !screenshot_arg) {
  console.error("usage: node check.mjs PAGE.html SCREENSHOT.png");
  process.exit(2);
}
const page_path = resolve(page_arg);
if (!existsSync(page_path)) {
  console.error(`browser check: ${page_path} does not exist`);
  process.exit(2);
}
const executable = process.env.CHROMIUM ?? "/usr/bin/chromium";
if (!existsSync(executable)) {
  console.error(`browser check: no Chromium at ${executable} (apt-get install chromium, or set CHROMIUM)`);
  process.exit(2);
}

const problems = [];
// A fresh, empty profile each run, and none of Chromium's own background traffic: the
// check must see only what the page asks for.
const profile = mkdtempSync(join(tmpdir(), "sna-browser-check-"));
const context = await chromium.launchPersistentContext(profile, {
  executablePath: executable,
  headless: true,
  viewport: { width: 1280, height: 900 },
  args: [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
  ],
});
try {
  const page = context.pages()[0] ?? (await context.newPage());
  page.on("console", (message) => {
    if (message.type() === "error") problems.push(`console error: ${message.text()}`);
  });
  page.on("pageerror", (error) => problems.push(`page error: ${error.message}`));
  page.on("requestfailed", (request) =>
    problems.push(`request failed: ${request.url()} (${request.failure()?.errorText})`),
  );
  page.on("request", (request) => {
    if (!request.url().startsWith("file:")) problems.push(`request leaves the bundle: ${request.url()}`);
  });

  await page.goto(pathToFileURL(page_path).href, { waitUntil: "load" });

  const images = await page.$$eval("img", (all) =>
    all.map((img) => ({ src: img.getAttribute("src"), loaded: img.complete && img.naturalWidth > 0 })),
  );
  for (const image of images) {
    if (!image.loaded) problems.push(`image did not load: ${image.src}`);
  }

  const links = await page.$$eval("a[href]", (all) => all.map((a) => [a.getAttribute("href"), a.href]));
  for (const [href, absolute] of links) {
    if (href.startsWith("#")) continue;
    if (!absolute.startsWith("file:")) {
      problems.push(`link leaves the bundle: ${href}`);
      continue;
    }
    const target = fileURLToPath(absolute.split("#")[0]);
    if (!existsSync(target)) problems.push(`broken link: ${href}`);
  }

  await page.screenshot({ path: screenshot_arg, fullPage: true });
  console.log(
    `browser check: ${page_path}: ${images.length} images, ${links.length} links, screenshot ${screenshot_arg}`,
  );
} finally {
  await context.close();
  rmSync(profile, { recursive: true, force: true });
}

if (problems.length > 0) {
  for (const problem of problems) console.error(`browser check: ${problem}`);
  process.exit(1);
}
