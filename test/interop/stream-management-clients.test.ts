// XEP-0198 with independent clients: @xmpp/client (xmpp.js) and slixmpp (xep_0198) each enable
// stream management, lose their connection abruptly, reconnect and resume — nothing sent to
// them in between is lost or delivered twice, and no new session is started.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { client, xml } from "@xmpp/client";
import { startParley, type TestParley } from "../support/parley.ts";
import { describeRun, lastEvent, runSlixmpp, slixmppAvailable } from "../support/slixmpp.ts";
import { RawClient } from "./support/raw-client.ts";
import { Jid } from "../../src/jid/jid.ts";

process.env.NODE_TLS_REJECT_UNAUTHORIZED = "0"; // the test server's self-signed certificate, loopback only

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(cond: () => boolean, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(10);
  }
}

describe("XEP-0198 with independent clients", { concurrency: true }, () => {
  let p: TestParley;
  before(async () => {
    p = await startParley({
      users: [
        ["alice", "pw"],
        ["bob", "pw"],
        ["carol", "pw"],
      ],
      env: { PARLEY_HTTP_ENABLED: "false" },
    });
  });
  after(async () => {
    await p?.stop();
  });

  /** A sender without stream management; ping() is a barrier (everything before was routed). */
  const sender = async (resource: string) => {
    const a = await RawClient.connect(p.port);
    await a.login("alice", "pw", resource);
    let n = 0;
    return Object.assign(a, {
      async ping() {
        const id = `b${++n}`;
        assert.equal((await a.iq(`<iq type='get' id='${id}'><ping xmlns='urn:xmpp:ping'/></iq>`, id)).attrs.type, "result");
      },
    });
  };

  test("@xmpp/client resumes after its socket is destroyed and gets what was sent meanwhile, once", async (t) => {
    const a = await sender("xmppjs-sender");
    t.after(() => a.destroy());
    const bob = client({ service: `xmpp://127.0.0.1:${p.port}`, domain: "localhost", username: "bob", password: "pw", resource: "phone" });
    bob.on("error", () => {});
    // Parts of xmpp.js the shared typings (support/xmpp.d.ts) leave out.
    const xjs = bob as unknown as {
      reconnect: { delay: number };
      streamManagement: { enabled: boolean; id: string; on(event: "resumed", fn: () => void): void };
      socket: { socket: { destroy(): void } };
    };
    xjs.reconnect.delay = 100;
    t.after(async () => {
      bob.reconnect.stop();
      await bob.stop().catch(() => {});
    });
    const bodies: string[] = [];
    bob.on("stanza", (s: any) => {
      if (s.is("message") && s.getChildText("body")) bodies.push(s.getChildText("body"));
    });
    let onlines = 0;
    bob.on("online", () => onlines++);
    let resumed = 0;
    xjs.streamManagement.on("resumed", () => resumed++);
    await bob.start();
    await until(() => xjs.streamManagement.enabled, 5000, "stream management enabled");
    assert.ok(xjs.streamManagement.id, "resumable (an SM-ID)");
    await bob.send(xml("presence"));
    for (let i = 0; i < 10; i++) a.send(`<message to='bob@localhost' type='chat'><body>x${i}</body></message>`);
    await until(() => bodies.length === 10, 5000, "10 messages");
    const session = p.server.host.sessions.get(Jid.parse("bob@localhost/phone"));
    assert.ok(session);
    // The connection dies without </stream:stream>.
    xjs.socket.socket.destroy();
    for (let i = 10; i < 20; i++) a.send(`<message to='bob@localhost' type='chat'><body>x${i}</body></message>`);
    await a.ping();
    await until(() => resumed === 1, 10000, "xmpp.js to resume");
    await until(() => bodies.length >= 20, 5000, "20 messages");
    await sleep(300);
    assert.deepEqual(
      bodies,
      [...Array(20).keys()].map((i) => `x${i}`),
    );
    assert.equal(onlines, 1, "resumed, not a new session");
    assert.equal(p.server.host.sessions.get(Jid.parse("bob@localhost/phone")), session, "the same server-side session");
  });

  test("slixmpp (xep_0198) resumes after abort() and gets what was sent meanwhile, once", { skip: !slixmppAvailable() && "slixmpp not installed" }, async () => {
    const r = await runSlixmpp(
      `
      import asyncio
      from slixmpp_client import Client, emit, run

      async def main(a):
          host, port = a["host"], int(a["port"])
          alice = Client("alice@localhost/slixmpp", "pw", host, port, echo=False, plugins=("xep_0199",))
          carol = Client("carol@localhost/phone", "pw", host, port, echo=False, plugins=("xep_0198",))
          resumed = asyncio.get_running_loop().create_future()
          carol.add_event_handler("session_resumed", lambda _e: resumed.done() or resumed.set_result(True))
          starts = []
          carol.add_event_handler("session_start", lambda _e: starts.append(1))
          await alice.online(presence=False)
          await carol.online()
          sm = carol.plugin["xep_0198"]
          for _ in range(250):
              if sm.sm_id:
                  break
              await asyncio.sleep(0.02)
          emit("enabled", id=sm.sm_id)
          for i in range(5):
              alice.send_message(mto="carol@localhost", mbody=f"y{i}", mtype="chat")
          got = []
          for i in range(5):
              got.append((await carol.wait_for("message", timeout=10))["body"])
          carol.abort()  # no </stream:stream>: the server keeps the session
          await carol.wait_for("disconnected", timeout=5)
          emit("aborted", h=sm.handled)
          for i in range(5, 10):
              alice.send_message(mto="carol@localhost", mbody=f"y{i}", mtype="chat")
          await alice.plugin["xep_0199"].ping(jid="localhost", timeout=5)  # all routed
          carol.start()
          await asyncio.wait_for(resumed, 10)
          for i in range(5):
              got.append((await carol.wait_for("message", timeout=10))["body"])
          await asyncio.sleep(0.3)
          extra = [m["body"] for m in carol._queues.get("message", [])]
          await carol.offline()
          await alice.offline()
          return {"bodies": got, "extra": extra, "session_starts": len(starts)}

      run(main, timeout=40)
      `,
      { host: "127.0.0.1", port: p.port },
      { timeoutMs: 45_000 },
    );
    assert.equal(r.code, 0, describeRun(r));
    const result = lastEvent(r, "done")?.result as { bodies: string[]; extra: string[]; session_starts: number };
    assert.ok(lastEvent(r, "enabled")?.id, "slixmpp got an SM-ID: " + describeRun(r));
    assert.deepEqual(
      result.bodies,
      [...Array(10).keys()].map((i) => `y${i}`),
    );
    assert.deepEqual(result.extra, [], "nothing twice");
    assert.equal(result.session_starts, 1, "resumed, not a new session");
  });
});
