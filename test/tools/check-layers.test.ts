import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const script = fileURLToPath(new URL("../../scripts/check-layers.mjs", import.meta.url));

function tree(t: { after: (fn: () => void) => void }, files: Record<string, string>): string {
  const root = mkdtempSync(join(tmpdir(), "parley-layers-"));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), text);
  }
  return root;
}

function run(root: string): { code: number | null; out: string } {
  const r = spawnSync(process.execPath, [script, "--root", root], { encoding: "utf8" });
  return { code: r.status, out: r.stdout + r.stderr };
}

test("a tree that follows the rules passes", (t) => {
  const root = tree(t, {
    "src/xml/element.ts": "export class Element {}\n",
    "src/core/hooks/hooks.ts": 'import { Element } from "../../xml/element.ts";\nimport type { X } from "../../protocol/ns.ts";\nimport pino from "pino";\nimport { readFileSync } from "node:fs";\n',
    "src/modules/roster/index.ts": 'import { p } from "../presence/index.ts";\nimport type { S } from "../presence/service.ts";\nimport { s } from "./store/sqlite.ts";\n',
    "src/modules/index.ts": 'export * from "./roster/store/sqlite.ts";\n', // the module list itself is not a module
    "src/http/app.ts": 'import { r } from "../modules/roster/service.ts";\nimport { h } from "../core/hooks/hooks.ts";\n',
    "src/server.ts": 'import "./modules/roster/store/sqlite.ts";\nimport "./storage/sqlite/db.ts";\n',
  });
  const r = run(root);
  assert.equal(r.code, 0, r.out);
  assert.match(r.out, /check-layers: 6 files, no violations/);
});

test("each rule is reported with file:line, in every import form", (t) => {
  const root = tree(t, {
    "src/core/router/router.ts": [
      "// a comment mentioning import '../../modules/x/index.ts' does not count",
      'const s = "import x from \'../../http/app.ts\'"; // nor does a string',
      'import { roster } from "../../modules/roster/index.ts";', // line 3
      "import type {", // lines 4-6: multi-line type import
      "  Db,",
      '} from "../../storage/sqlite/db.ts";',
      'export { cli } from "../../cli/main.ts";', // line 7
      'const m = await import("../../http/app.ts");', // line 8
      'import "../../server.ts";', // line 9
      "",
    ].join("\n"),
    "src/xml/parser.ts": 'import { c } from "../cluster/redis/bus.ts";\n',
    "src/modules/roster/index.ts": '\nimport { ev } from "../presence/events.ts";\nimport { st } from "../presence/store/sqlite.ts";\nimport { all } from "../presence";\n',
    "src/http/api/users.ts": 'import { st } from "../../modules/roster/store/pg.ts";\nimport { x } from "../../modules/roster/sqlite-store.ts";\nimport { reg } from "../../core/session/registry.ts";\n',
  });
  const r = run(root);
  assert.equal(r.code, 1, r.out);
  const lines = r.out.trim().split("\n");
  const at = (prefix: string) => lines.filter((l) => l.startsWith(prefix));
  assert.deepEqual(
    at("src/core/router/router.ts:").map((l) => l.split(":")[1]),
    ["3", "6", "7", "8", "9"], // a multi-line import is reported at its `from` line
  );
  assert.match(at("src/core/router/router.ts:3")[0], /src\/core must not import from src\/modules/);
  assert.match(at("src/core/router/router.ts:9")[0], /must not import from src\/server\.ts/);
  assert.match(at("src/xml/parser.ts:1")[0], /src\/xml must not import from src\/cluster/);
  assert.match(at("src/modules/roster/index.ts:2")[0], /module "roster" may use module "presence" only through src\/modules\/presence\/index\.ts or service\.ts, not src\/modules\/presence\/events\.ts/);
  assert.equal(at("src/modules/roster/index.ts:").length, 3);
  assert.match(at("src/http/api/users.ts:1")[0], /src\/http must not import a module's store \(src\/modules\/roster\/store\/pg\.ts\)/);
  assert.match(at("src/http/api/users.ts:2")[0], /module's store/);
  assert.match(at("src/http/api/users.ts:3")[0], /src\/http must not import src\/core\/session/);
  assert.match(r.out, /check-layers: 12 violations in 4 files/);
});

test("a missing src/ is a usage error", (t) => {
  const root = tree(t, { "README.md": "" });
  const r = run(root);
  assert.equal(r.code, 2);
  assert.match(r.out, /no src\/ directory/);
});
