// A byte-level XMPP client for end-to-end tests that need to send what no real client sends
// (DOCTYPE, comments, oversized or spoofed stanzas) or to see exactly what the server offers.
// Independent of the server's code: TCP/TLS from node:net / node:tls, XML read by xmpp.js's
// ltx-based stream parser.
//
//   const c = await RawClient.connect(p.port);
//   await c.login("alice", "pw", "desk");          // stream, STARTTLS, SASL PLAIN, bind
//   c.send("<iq type='get' id='1'><ping xmlns='urn:xmpp:ping'/></iq>");
//   const r = await c.next((e) => e.is("iq") && e.attrs.id === "1");
//
// Every wait has a time-out (default 5 s) and fails with what was received so far.
import net from "node:net";
import tls from "node:tls";
import { Parser, type Element } from "@xmpp/xml";

export const NS_STREAMS = "http://etherx.jabber.org/streams";
export const NS_TLS = "urn:ietf:params:xml:ns:xmpp-tls";
export const NS_SASL = "urn:ietf:params:xml:ns:xmpp-sasl";
export const NS_BIND = "urn:ietf:params:xml:ns:xmpp-bind";
export const NS_STREAM_ERRORS = "urn:ietf:params:xml:ns:xmpp-streams";
export const NS_STANZA_ERRORS = "urn:ietf:params:xml:ns:xmpp-stanzas";

const DEFAULT_TIMEOUT = 5000;

interface Waiter {
  pred: (e: Element) => boolean;
  resolve: (e: Element) => void;
}

export class RawClient {
  socket: net.Socket;
  /** Everything received, as text (across TLS upgrades and stream restarts). */
  text = "";
  /** Top-level elements received and not yet taken by next(). */
  readonly pending: Element[] = [];
  /** Every top-level element received, in order. */
  readonly all: Element[] = [];
  /** The last stream header received. */
  header: Element | undefined;
  parseError: Error | undefined;
  closed = false;
  readonly closedPromise: Promise<void>;
  private parser!: Parser;
  private waiters: Waiter[] = [];
  private closeWaiters: Array<() => void> = [];
  private headerWaiters: Array<(e: Element) => void> = [];
  private onClosed!: () => void;
  readonly domain: string;

  private constructor(socket: net.Socket, domain: string) {
    this.socket = socket;
    this.domain = domain;
    this.closedPromise = new Promise((r) => (this.onClosed = r));
    this.resetParser();
    this.attach(socket);
  }

  /** Connects to the STARTTLS port, or with direct TLS (XEP-0368) when tls is true. */
  static connect(port: number, opts: { tls?: boolean; host?: string; domain?: string; timeoutMs?: number } = {}): Promise<RawClient> {
    const host = opts.host ?? "127.0.0.1";
    return withTimeout(
      new Promise<RawClient>((resolve, reject) => {
        const s = opts.tls
          ? tls.connect({ host, port, servername: opts.domain ?? "localhost", rejectUnauthorized: false, ALPNProtocols: ["xmpp-client"] })
          : net.connect({ host, port });
        s.once(opts.tls ? "secureConnect" : "connect", () => {
          s.removeListener("error", reject);
          resolve(new RawClient(s, opts.domain ?? "localhost"));
        });
        s.once("error", reject);
      }),
      opts.timeoutMs ?? DEFAULT_TIMEOUT,
      `connect to ${host}:${port}`,
    );
  }

  get secure(): boolean {
    return this.socket instanceof tls.TLSSocket;
  }

  private attach(s: net.Socket): void {
    s.setEncoding("utf8");
    s.on("data", (d: string) => {
      this.text += d;
      try {
        this.parser.write(d);
      } catch (err) {
        this.parseError ??= err as Error;
      }
    });
    s.on("error", () => {});
    s.on("close", () => {
      if (s !== this.socket) return;
      this.closed = true;
      this.onClosed();
      for (const w of this.closeWaiters.splice(0)) w();
    });
  }

  private resetParser(): void {
    const p = new Parser();
    p.on("start", (el: Element) => {
      this.header = el;
      for (const w of this.headerWaiters.splice(0)) w(el);
    });
    p.on("element", (el: Element) => this.onElement(el));
    p.on("end", () => {});
    p.on("error", (err: Error) => (this.parseError ??= err));
    this.parser = p;
  }

  private onElement(el: Element): void {
    this.all.push(el);
    const i = this.waiters.findIndex((w) => w.pred(el));
    if (i >= 0) {
      const [w] = this.waiters.splice(i, 1);
      w.resolve(el);
      return;
    }
    this.pending.push(el);
  }

  send(data: string): void {
    this.socket.write(data);
  }

  /** The next top-level element matching pred (one received earlier counts). */
  next(pred: (e: Element) => boolean = () => true, timeoutMs = DEFAULT_TIMEOUT, what = "element"): Promise<Element> {
    const i = this.pending.findIndex(pred);
    if (i >= 0) return Promise.resolve(this.pending.splice(i, 1)[0]);
    let waiter!: Waiter;
    const p = new Promise<Element>((resolve) => {
      waiter = { pred, resolve };
      this.waiters.push(waiter);
    });
    return withTimeout(p, timeoutMs, `${what}; received so far:\n${this.text.slice(-3000)}`, () => {
      const j = this.waiters.indexOf(waiter);
      if (j >= 0) this.waiters.splice(j, 1);
    });
  }

  /** Resolves when the connection is closed by the peer (or fails after the time-out). */
  waitClosed(timeoutMs = DEFAULT_TIMEOUT): Promise<void> {
    if (this.closed) return Promise.resolve();
    return withTimeout(this.closedPromise, timeoutMs, `connection close; received so far:\n${this.text.slice(-3000)}`);
  }

  /** The stream error condition the server sends, e.g. "restricted-xml". */
  async streamError(timeoutMs = DEFAULT_TIMEOUT): Promise<string> {
    const e = await this.next((el) => el.name === "stream:error", timeoutMs, "<stream:error/>");
    const cond = e.getChildElements().find((c) => c.attrs.xmlns === NS_STREAM_ERRORS && c.name !== "text");
    return cond?.name ?? "(none)";
  }

  /** Sends a stream header (resetting the parser: a restart starts a new XML document) and returns the features. */
  async openStream(opts: { to?: string; version?: string; raw?: string } = {}): Promise<Element> {
    this.resetParser();
    this.send(
      opts.raw ??
        `<?xml version='1.0'?><stream:stream to='${opts.to ?? this.domain}' version='${opts.version ?? "1.0"}' xml:lang='en' xmlns='jabber:client' xmlns:stream='${NS_STREAMS}'>`,
    );
    return this.next((e) => e.name === "stream:features", DEFAULT_TIMEOUT, "<stream:features/>");
  }

  /** STARTTLS (RFC 6120 §5): <starttls/>, <proceed/>, TLS handshake on the same socket. */
  async startTls(): Promise<void> {
    this.send(`<starttls xmlns='${NS_TLS}'/>`);
    const r = await this.next((e) => e.attrs.xmlns === NS_TLS, DEFAULT_TIMEOUT, "<proceed/>");
    if (r.name !== "proceed") throw new Error(`STARTTLS refused: ${r.toString()}`);
    const plain = this.socket;
    plain.removeAllListeners("data");
    plain.removeAllListeners("close");
    const secure = await withTimeout(
      new Promise<tls.TLSSocket>((resolve, reject) => {
        const s = tls.connect({ socket: plain, servername: this.domain, rejectUnauthorized: false, ALPNProtocols: ["xmpp-client"] }, () => resolve(s));
        s.once("error", reject);
      }),
      DEFAULT_TIMEOUT,
      "TLS handshake",
    );
    this.socket = secure;
    this.attach(secure);
  }

  /** SASL PLAIN; returns the <success/> or <failure/> element. */
  async authPlain(user: string, password: string): Promise<Element> {
    const payload = Buffer.from(`\0${user}\0${password}`).toString("base64");
    this.send(`<auth xmlns='${NS_SASL}' mechanism='PLAIN'>${payload}</auth>`);
    return this.next((e) => e.attrs.xmlns === NS_SASL && (e.name === "success" || e.name === "failure"), DEFAULT_TIMEOUT, "SASL outcome");
  }

  /** Resource binding (RFC 6120 §7); returns the bound full JID. */
  async bind(resource?: string): Promise<string> {
    const res = resource === undefined ? "" : `<resource>${resource}</resource>`;
    this.send(`<iq type='set' id='bind1'><bind xmlns='${NS_BIND}'>${res}</bind></iq>`);
    const r = await this.next((e) => e.is("iq") && e.attrs.id === "bind1", DEFAULT_TIMEOUT, "bind result");
    const jid = r.getChild("bind", NS_BIND)?.getChildText("jid");
    if (r.attrs.type !== "result" || !jid) throw new Error(`bind failed: ${r.toString()}`);
    return jid;
  }

  /** Stream, STARTTLS (unless already secure), PLAIN, restart, bind. Returns the full JID. */
  async login(user: string, password: string, resource?: string): Promise<string> {
    const f = await this.openStream();
    if (!this.secure) {
      if (!f.getChild("starttls", NS_TLS)) throw new Error(`no STARTTLS offered: ${f.toString()}`);
      await this.startTls();
      await this.openStream();
    }
    const a = await this.authPlain(user, password);
    if (a.name !== "success") throw new Error(`authentication failed: ${a.toString()}`);
    await this.openStream();
    return this.bind(resource);
  }

  /** Sends an IQ and waits for its result or error. */
  async iq(xml: string, id: string, timeoutMs = DEFAULT_TIMEOUT): Promise<Element> {
    this.send(xml);
    return this.next((e) => e.is("iq") && e.attrs.id === id && (e.attrs.type === "result" || e.attrs.type === "error"), timeoutMs, `iq ${id}`);
  }

  /** Ends the stream politely and waits for the close (bounded). */
  async close(): Promise<void> {
    if (this.closed) return;
    try {
      this.send("</stream:stream>");
    } catch {
      // already gone
    }
    await this.waitClosed(3000).catch(() => this.destroy());
  }

  /** Drops the TCP connection without closing the stream (an abrupt disconnect). */
  destroy(): void {
    this.socket.destroy();
  }
}

/** The defined condition of a stanza error element (e.g. "jid-malformed"). */
export function stanzaErrorCondition(stanza: Element): string | undefined {
  const err = stanza.getChild("error");
  return err?.getChildElements().find((c) => c.attrs.xmlns === NS_STANZA_ERRORS && c.name !== "text")?.name;
}

export function withTimeout<T>(p: Promise<T>, ms: number, what: string, onTimeout?: () => void): Promise<T> {
  let timer: NodeJS.Timeout;
  const t = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      onTimeout?.();
      reject(new Error(`timed out after ${ms} ms waiting for ${what}`));
    }, ms);
  });
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}
