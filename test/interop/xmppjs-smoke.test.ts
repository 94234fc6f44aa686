// @xmpp/client (xmpp.js) against a real Parley over STARTTLS: login, roster, presence, chat.
import { test } from "node:test";
import assert from "node:assert/strict";
import { client, xml } from "@xmpp/client";
import { startParley } from "../support/parley.ts";

process.env.NODE_TLS_REJECT_UNAUTHORIZED = "0"; // the test server's self-signed certificate, loopback only

test("two @xmpp/client users log in over STARTTLS and chat", async (t) => {
  const p = await startParley({ users: [["alice", "alicepw"], ["bob", "bobpw"]] });
  t.after(() => p.stop());
  await p.server.roster.addMutual("alice@localhost", "bob@localhost");
  const mk = (username: string, password: string, resource: string) =>
    client({ service: `xmpp://127.0.0.1:${p.port}`, domain: "localhost", username, password, resource });
  const alice = mk("alice", "alicepw", "desk");
  const bob = mk("bob", "bobpw", "phone");
  alice.on("error", () => {});
  bob.on("error", () => {});
  const bobGot = new Promise<string>((resolve) => {
    bob.on("stanza", (s: any) => {
      if (s.is("message") && s.getChildText("body")) resolve(s.getChildText("body") + " from " + s.attrs.from);
    });
  });
  await Promise.all([alice.start(), bob.start()]);
  await bob.send(xml("presence"));
  await alice.send(xml("presence"));
  await alice.send(xml("message", { to: "bob@localhost", type: "chat" }, xml("body", {}, "hi bob")));
  assert.equal(await bobGot, "hi bob from alice@localhost/desk");
  await alice.stop();
  await bob.stop();
});
