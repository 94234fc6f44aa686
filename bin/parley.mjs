#!/usr/bin/env node
// `npx parley …` in the checkout. Node ≥ 24 runs the TypeScript sources directly.
const [major] = process.versions.node.split(".").map(Number);
if (major < 24) {
  process.stderr.write(`parley needs Node.js 24 or newer (this is ${process.version}); run it through npx or npm scripts in the checkout\n`);
  process.exit(1);
}
const { run } = await import("../src/cli/main.ts");
run(process.argv.slice(2));
