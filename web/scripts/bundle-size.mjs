// The JavaScript a first visit loads (index.html's module script and the chunks it
// preloads), gzipped, against the console's budget. Screens load their own code later.
// Usage: node scripts/bundle-size.mjs [dist]
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { gzipSync } from "node:zlib";

const BUDGET_KB = 200;
const dist = process.argv[2] ?? "dist";
const html = await readFile(join(dist, "index.html"), "utf8");
const urls = [
  ...html.matchAll(/<script[^>]*type="module"[^>]*src="([^"]+)"/g),
  ...html.matchAll(/<link[^>]*rel="modulepreload"[^>]*href="([^"]+)"/g),
].map((m) => m[1]);
let total = 0;
for (const url of new Set(urls)) {
  const bytes = await readFile(join(dist, url.replace(/^\//, "")));
  total += gzipSync(bytes, { level: 9 }).length;
}
const kb = (total / 1024).toFixed(1);
console.log(`initial JS: ${urls.length} file(s), ${kb} KB gzipped (budget ${BUDGET_KB} KB)`);
if (total > BUDGET_KB * 1024) {
  console.error(`initial JS is over its budget of ${BUDGET_KB} KB gzipped`);
  process.exit(1);
}
