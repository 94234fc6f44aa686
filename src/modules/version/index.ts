// XEP-0092 Software Version: the server answers for itself (name Parley, the version in
// package.json; the operating system only when version.showOs is on). Queries to users' JIDs
// are not the server's business (full JIDs reach the client; bare JIDs get the default error).
import { readFileSync } from "node:fs";
import os from "node:os";
import { defineModule } from "../../core/module/module.ts";
import { x } from "../../xml/element.ts";
import { NS } from "../../protocol/ns.ts";

export const SOFTWARE_NAME = "Parley";

/** The version in package.json ("0.0.0" when it cannot be read). */
export function softwareVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL("../../../package.json", import.meta.url), "utf8")) as { version?: unknown };
    return typeof pkg.version === "string" ? pkg.version : "0.0.0";
  } catch {
    return "0.0.0";
  }
}

export default defineModule({
  id: "version",
  setup(ctx) {
    const version = softwareVersion();
    const osText = ctx.config.version.showOs ? `${os.type()} ${os.release()}` : undefined;
    ctx.feature(NS.VERSION);
    ctx.iq("get", "host", NS.VERSION, "query", () =>
      x("query", { xmlns: NS.VERSION }, x("name", null, SOFTWARE_NAME), x("version", null, version), osText ? x("os", null, osText) : null),
    );
  },
});
