// Small helpers around @xmpp/client (xmpp.js) for the interop tests.
import { client, type XmppClient } from "@xmpp/client";

/**
 * An xmpp.js client for a server on loopback: STARTTLS on `port`, or direct TLS (XEP-0368,
 * xmpps://) when opts.directTls; never reconnects on its own.
 */
export function xmppjs(port: number, username: string, password: string, resource: string, mechanism?: string, opts: { directTls?: boolean } = {}): XmppClient {
  const c = client({
    service: `${opts.directTls ? "xmpps" : "xmpp"}://127.0.0.1:${port}`,
    domain: "localhost",
    resource,
    // xmpp.js waits 2 s by default for each step; a loaded CI machine running many clients
    // at once can be slower than that without anything being wrong.
    timeout: 10_000,
    credentials: async (authenticate, offered) => {
      if (mechanism && !offered.includes(mechanism)) throw new Error(`${mechanism} not offered: ${offered.join(" ")}`);
      await authenticate({ username, password }, mechanism ?? offered[0]);
    },
  });
  c.on("error", () => {});
  c.reconnect.stop();
  return c;
}

/** Polls cond every 20 ms; throws after ms. */
export async function until(cond: () => boolean, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Rejects after ms. */
export function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([
    p,
    new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what}: timed out after ${ms} ms`)), ms))),
  ]).finally(() => clearTimeout(timer));
}
