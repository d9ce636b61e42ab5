// Bundles src/ into the Python package's static folder (run by `make ui`),
// with the licences of every npm package that went into the bundle beside it,
// and writes the page shell (index.html) that loads them.
//
// Every script and stylesheet has its content hash in its name, so the server
// lets browsers keep them for good (ui/__init__.py) and a page load asks for
// nothing but the shell and the data.
import { build } from "esbuild";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const out = join(here, "..", "metricslib", "collector", "web", "ui", "static", "dist");
mkdirSync(out, { recursive: true });
for (const old of readdirSync(out)) rmSync(join(out, old), { recursive: true });

// uPlot's module builds two Intl objects at its top level (a number formatter
// for its default labels, the local time zone's name). The first Intl object
// of a page loads ICU's locale data: 10-20 ms of the main thread on every load
// of /graph, before any chart can be drawn, for formatters our charts use only
// on hover if at all. The plugin creates them when first used instead; each
// replacement must match exactly once, so an upgrade of uPlot that moves them
// fails the build rather than silently keeping the cost.
const UPLOT_LAZY_INTL = [
  ["const numFormatter = new Intl.NumberFormat(domEnv ? nav.language : 'en-US');",
    "let _numFormatter = null;\nconst numFormatter = { format: (v) => (_numFormatter ??= new Intl.NumberFormat(domEnv ? nav.language : 'en-US')).format(v) };"],
  ["const localTz = new Intl.DateTimeFormat().resolvedOptions().timeZone;",
    "let _localTz = null;\nconst localTzName = () => (_localTz ??= new Intl.DateTimeFormat().resolvedOptions().timeZone);"],
  ["else if (tz == localTz)", "else if (tz == localTzName())"],
];
const lazyIntl = {
  name: "uplot-lazy-intl",
  setup(b) {
    b.onLoad({ filter: /uplot[\\/]dist[\\/]uPlot\.esm\.js$/ }, (args) => {
      let code = readFileSync(args.path, "utf8");
      for (const [from, to] of UPLOT_LAZY_INTL) {
        if (code.split(from).length !== 2) throw new Error(`${args.path}: expected "${from}" once (uPlot upgraded? see build.mjs)`);
        code = code.replace(from, to);
      }
      if (/\blocalTz\b/.test(code)) throw new Error(`${args.path}: localTz is still used (see build.mjs)`);
      return { contents: code, loader: "js" };
    });
  },
};

// NOMIN=1 node build.mjs: readable names in a CPU profile, for a look only
// (`make ui` does not rebuild over it: run `node build.mjs` afterwards).
const common = { bundle: true, minify: process.env.NOMIN !== "1", target: "es2022", outdir: out, entryNames: "[name]-[hash]",
  legalComments: "none", metafile: true, logLevel: "warning", plugins: [lazyIntl] };
// ES modules, split: the query page's code (app-*.js) with the chunks it
// imports up front (uPlot and the charts; the helpers every page shares); each
// other page's code is a chunk imported only on that page (main.ts); the query
// editor (CodeMirror and the PromQL language, most of the bytes) is a chunk
// the query page imports once the first charts are drawn.
const app = await build({
  ...common,
  entryPoints: { app: join(here, "src", "main.ts") },
  splitting: true,
  format: "esm",
  chunkNames: "chunk-[hash]",
});
// The boot script: a classic script of a few kB, inlined in the page shell,
// that sends the query page's first queries before the page's code has loaded
// (src/boot.ts).
const boot = await build({ ...common, entryPoints: { boot: join(here, "src", "boot.ts") }, format: "iife", write: false });
// The server puts the shell's `="/...` attributes under --web.route-prefix by
// rewriting them: in the inlined code such a string (`x==="/graph"`) is written
// `"\/graph"`, the same string. Were that `"` to close a string instead, the
// backslash would be a syntax error, which the check below catches.
const bootCode = boot.outputFiles[0].text.trim().replaceAll('="/', '="\\/');
new Function(bootCode); // parses only
if (/<\/script/i.test(bootCode)) throw new Error("boot.ts: its code would end the <script> element it is inlined in");
const bootName = `boot-${createHash("sha256").update(bootCode).digest("hex").slice(0, 8).toUpperCase()}.js`;
writeFileSync(join(out, bootName), bootCode);

const outputs = (result) => Object.entries(result.metafile.outputs);
const entry = (result) => outputs(result).find(([, o]) => o.entryPoint)[0];
const appJs = entry(app);
// The chunks the page's code imports up front, and theirs: the boot script
// imports them beside the page's code instead of after it.
const staticImports = [];
const walk = (file) => {
  for (const i of app.metafile.outputs[file].imports) {
    if (i.kind !== "import-statement" || staticImports.includes(i.path)) continue;
    staticImports.push(i.path);
    walk(i.path);
  }
};
walk(appJs);

// One stylesheet: uPlot's, then ours (ours wins where both set a rule).
const css = [
  readFileSync(join(here, "node_modules", "uplot", "dist", "uPlot.min.css"), "utf8"),
  readFileSync(join(here, "src", "style.css"), "utf8"),
].join("\n");
const cssName = `app-${createHash("sha256").update(css).digest("hex").slice(0, 8).toUpperCase()}.css`;
writeFileSync(join(out, cssName), css);

const names = {
  boot: bootCode,
  "boot.js": bootName,
  "app.js": basename(appJs),
  "app.css": cssName,
  // No modulepreload: the boot script imports these at once, and a preload
  // would hold the page's load event until they had arrived. Names relative
  // to the page's code, so --web.route-prefix needs no rewriting here.
  "app.deps": staticImports.map((p) => basename(p)).join(" "),
};
const shell = readFileSync(join(here, "index.html"), "utf8").replace(/\{\{([a-z.]+)\}\}/g, (m, key) => {
  if (!(key in names)) throw new Error(`index.html: unknown placeholder ${m}`);
  return names[key];
});
writeFileSync(join(out, "index.html"), shell);

const packages = new Set();
for (const input of [...Object.keys(app.metafile.inputs), ...Object.keys(boot.metafile.inputs)]) {
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
  `The UI bundle (app-*.js, chunk-*.js, app-*.css) contains these npm packages:\n\n${notices.join("\n")}`);
