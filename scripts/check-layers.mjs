#!/usr/bin/env node
// Enforces the import rules of ARCHITECTURE.md on src/**/*.ts:
//
//   1. src/core, src/xml, src/jid, src/protocol (the base layers) import nothing from
//      src/modules, src/http, src/cli, src/storage, src/cluster or src/server.ts.
//   2. A module src/modules/<a>/ reaches another module <b> only through
//      src/modules/<b>/index.ts or src/modules/<b>/service.ts, never its internals.
//   3. src/http never imports a module's store (src/modules/*/store/**, store.ts, stores/…)
//      nor src/core/session/**: the HTTP API calls module services.
//
// Every import form counts, `import type` included: import … from, export … from, bare
// `import "…"`, dynamic import("…") and require("…") — found with TypeScript's own
// pre-processing scanner, so comments and strings cannot fool it. Only relative specifiers
// are resolved; packages and node: builtins are not layers.
//
// Usage: node scripts/check-layers.mjs [--root DIR]   (DIR defaults to the repository root)
// Exit 0 when clean, 1 on violations (each printed as file:line), 2 on usage errors.

import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";

const BASE_LAYERS = ["core", "xml", "jid", "protocol"];
const FORBIDDEN_FOR_BASE = ["modules", "http", "cli", "storage", "cluster"];
const MODULE_ENTRY_FILES = ["index.ts", "service.ts"];

/** All .ts files under dir (skipping node_modules and dot folders), as absolute paths. */
function listTs(dir) {
  const out = [];
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return out;
  }
  for (const e of entries) {
    if (e.name === "node_modules" || e.name.startsWith(".")) continue;
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...listTs(p));
    else if (e.isFile() && e.name.endsWith(".ts") && !e.name.endsWith(".d.ts")) out.push(p);
  }
  return out;
}

/** Repository-relative POSIX path. */
function rel(root, p) {
  return relative(root, p).split(sep).join("/");
}

/** The specifiers a file imports, with 1-based line numbers. */
export function importsOf(text) {
  const info = ts.preProcessFile(text, /* readImportFiles */ true, /* detectJavaScriptImports */ true);
  const lineStarts = [0];
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) === 10) lineStarts.push(i + 1);
  const lineOf = (pos) => {
    let lo = 0;
    let hi = lineStarts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (lineStarts[mid] <= pos) lo = mid;
      else hi = mid - 1;
    }
    return lo + 1;
  };
  return info.importedFiles.map((f) => ({ specifier: f.fileName, line: lineOf(f.pos) }));
}

/**
 * Which rule, if any, `from` importing `to` breaks (both repository-relative paths).
 * Returns a message or undefined.
 */
export function ruleFor(from, to) {
  const f = from.split("/");
  const t = to.split("/");
  if (f[0] !== "src" || t[0] !== "src") return undefined;

  // 1. base layers
  if (BASE_LAYERS.includes(f[1])) {
    if (FORBIDDEN_FOR_BASE.includes(t[1]) || to === "src/server.ts") {
      return `src/${f[1]} must not import from ${t[1] === "server.ts" ? "src/server.ts" : `src/${t[1]}`} (base layers ${BASE_LAYERS.map((l) => "src/" + l).join(", ")} depend on no feature, adapter or entry point)`;
    }
  }

  // 2. module → another module's internals
  if (f[1] === "modules" && t[1] === "modules" && f.length > 3 && t[2] !== undefined && f[2] !== t[2]) {
    const isEntry = t.length === 4 && MODULE_ENTRY_FILES.includes(t[3]);
    if (!isEntry) {
      return `module "${f[2]}" may use module "${t[2]}" only through src/modules/${t[2]}/${MODULE_ENTRY_FILES.join(" or ")}, not ${to}`;
    }
  }

  // 3. http → stores or sessions
  if (f[1] === "http") {
    if (t[1] === "modules" && t.slice(3).some((seg) => /(^|[-_.])stores?([-_.]|$)/.test(seg))) {
      return `src/http must not import a module's store (${to}); call the module's service instead`;
    }
    if (t[1] === "core" && t[2] === "session") {
      return `src/http must not import src/core/session (${to}); go through a module service`;
    }
  }
  return undefined;
}

/** Checks every src/**\/*.ts under root. Returns { files, violations: [{file, line, specifier, target, message}] }. */
export function checkLayers(root) {
  const files = listTs(join(root, "src"));
  const violations = [];
  for (const file of files) {
    const from = rel(root, file);
    const text = readFileSync(file, "utf8");
    for (const { specifier, line } of importsOf(text)) {
      if (!specifier.startsWith("./") && !specifier.startsWith("../") && specifier !== "." && specifier !== "..") continue;
      const target = rel(root, resolve(dirname(file), specifier));
      const message = ruleFor(from, target);
      if (message) violations.push({ file: from, line, specifier, target, message });
    }
  }
  return { files: files.length, violations };
}

function main(argv) {
  let root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === "--root" && argv[i + 1]) root = resolve(argv[++i]);
    else if (argv[i].startsWith("--root=")) root = resolve(argv[i].slice("--root=".length));
    else {
      console.error(`check-layers: unknown argument ${argv[i]}\nusage: node scripts/check-layers.mjs [--root DIR]`);
      return 2;
    }
  }
  try {
    if (!statSync(join(root, "src")).isDirectory()) throw new Error();
  } catch {
    console.error(`check-layers: no src/ directory under ${root}`);
    return 2;
  }
  const { files, violations } = checkLayers(root);
  for (const v of violations) console.log(`${v.file}:${v.line}: imports "${v.specifier}" — ${v.message}`);
  if (violations.length > 0) {
    console.log(`check-layers: ${violations.length} violation${violations.length === 1 ? "" : "s"} in ${files} files (rules: docs in scripts/check-layers.mjs and ARCHITECTURE.md)`);
    return 1;
  }
  console.log(`check-layers: ${files} files, no violations`);
  return 0;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  process.exitCode = main(process.argv.slice(2));
}
