// Bundles src/ into the Python package's static folder (run by `make ui`),
// with the licences of every npm package that went into the bundle beside it.
import { build } from "esbuild";
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const out = join(here, "..", "metricslib", "collector", "web", "ui", "static", "dist");
mkdirSync(out, { recursive: true });
for (const old of readdirSync(out)) if (old.startsWith("chunk-")) rmSync(join(out, old));
// ES modules split in two: the page and its charts load first; the query
// editor (CodeMirror and the PromQL language, most of the bytes) is a chunk
// the page imports while it is already fetching and drawing.
const result = await build({
  entryPoints: { app: join(here, "src", "main.ts") },
  bundle: true,
  splitting: true,
  minify: true,
  format: "esm",
  target: "es2020",
  outdir: out,
  chunkNames: "chunk-[hash]",
  legalComments: "none",
  metafile: true,
  logLevel: "warning",
});
// One stylesheet: uPlot's, then ours (ours wins where both set a rule).
writeFileSync(join(out, "app.css"), [
  readFileSync(join(here, "node_modules", "uplot", "dist", "uPlot.min.css"), "utf8"),
  readFileSync(join(here, "src", "style.css"), "utf8"),
].join("\n"));

const packages = new Set();
for (const input of Object.keys(result.metafile.inputs)) {
  const m = /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(input);
  if (m) packages.add(m[1]);
}
const notices = [...packages].sort().map((name) => {
  const dir = join(here, "node_modules", name);
  const meta = JSON.parse(readFileSync(join(dir, "package.json"), "utf8"));
  const file = readdirSync(dir).find((f) => /^(licen[cs]e|copying)(\.|$)/i.test(f));
  const text = file && existsSync(join(dir, file)) ? readFileSync(join(dir, file), "utf8").trim() : `License: ${meta.license}`;
  return `${name} ${meta.version}\n${"-".repeat(name.length + meta.version.length + 1)}\n${text}\n`;
});
writeFileSync(join(out, "THIRD_PARTY_LICENSES.txt"),
  `The UI bundle (app.js, app.css) contains these npm packages:\n\n${notices.join("\n")}`);
