// Enterprise presence across a server restart (same data directory, SQLite): the manual
// state and note come back, and IM held while the user was on Do Not Disturb is still there
// and delivered, in order, once the user is online and leaves DND. Raw sockets.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadConfig } from "../../src/core/config/config.ts";
import { createServer, type ParleyServer } from "../../src/server.ts";
import { createLogger } from "../../src/core/log/logger.ts";
import { RawClient } from "./support/raw-client.ts";

const NS_P = "urn:parley:presence:0";

async function start(dataDir: string): Promise<ParleyServer> {
  const config = loadConfig({
    cwd: dataDir,
    env: {
      PARLEY_DATA_DIR: dataDir,
      PARLEY_DOMAIN: "localhost",
      PARLEY_C2S_HOST: "127.0.0.1",
      PARLEY_C2S_PORT: "0",
      PARLEY_C2S_TLS_PORT: "0",
      PARLEY_HTTP_ENABLED: "false",
      PARLEY_LOG_LEVEL: process.env.PARLEY_TEST_LOG_LEVEL ?? "warn",
    },
  });
  const server = await createServer(config, { log: createLogger(config.log.level) });
  await server.listen();
  return server;
}

test("held messages and the manual state survive a restart", async (t) => {
  const dataDir = mkdtempSync(join(tmpdir(), "parley-restart-"));
  t.after(() => rmSync(dataDir, { recursive: true, force: true }));
  let server = await start(dataDir);
  try {
    await server.accounts.create("alice", "alicepw");
    await server.accounts.create("carol", "carolpw");
    await server.roster.addMutual("alice@localhost", "carol@localhost");
    const alice = await RawClient.connect(server.ports.c2s!);
    const carol = await RawClient.connect(server.ports.c2s!);
    await alice.login("alice", "alicepw", "desk");
    await carol.login("carol", "carolpw", "pc");
    carol.send("<presence/>");
    alice.send(`<presence><set xmlns='${NS_P}' availability='dnd'><note>do not disturb</note></set></presence>`);
    await carol.next((e) => e.is("presence") && e.attrs.from === "alice@localhost/desk" && e.getChild("state", NS_P)?.attrs.class === "dnd");
    for (const i of [1, 2]) {
      carol.send(`<message to='alice@localhost' type='chat' id='m${i}'><body>before restart ${i}</body></message>`);
      const notice = await carol.next((e) => e.is("message") && e.getChild("held", NS_P)?.attrs.id === `m${i}`);
      assert.match(notice.getChildText("body") ?? "", /Do Not Disturb/);
    }
    await Promise.all([alice.close(), carol.close()]);
  } finally {
    await server.stop();
  }

  server = await start(dataDir);
  try {
    const alice = await RawClient.connect(server.ports.c2s!);
    t.after(() => alice.destroy());
    await alice.login("alice", "alicepw", "desk");
    alice.send("<presence/>"); // a standard client's initial presence resets nothing
    const own = await alice.next((e) => e.is("presence") && e.attrs.from === "alice@localhost/desk");
    assert.equal(own.getChild("state", NS_P)?.attrs.class, "dnd", own.toString());
    assert.equal(own.getChild("state", NS_P)?.getChildText("note"), "do not disturb");
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(alice.all.filter((e) => e.is("message")).length, 0, "still held while on DND");
    alice.send(`<presence><set xmlns='${NS_P}' reset='true'/></presence>`);
    const m1 = await alice.next((e) => e.is("message") && e.getChildText("body") === "before restart 1");
    const m2 = await alice.next((e) => e.is("message") && e.getChildText("body") === "before restart 2");
    assert.ok(m1.getChild("delay", "urn:xmpp:delay") && m2.getChild("delay", "urn:xmpp:delay"), "delay-stamped");
    const bodies = alice.all.filter((e) => e.is("message")).map((e) => e.getChildText("body"));
    assert.deepEqual(bodies, ["before restart 1", "before restart 2"], "in order, once");
  } finally {
    await server.stop();
  }
});
