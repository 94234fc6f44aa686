// Minimal XMPP client for load generation: raw sockets, a stanza splitter instead of a full XML
// parser, SASL SCRAM-SHA-1 with node:crypto, optional STARTTLS, resource binding, session.
// Deliberately small and cheap per stanza; not a general-purpose client.
import net from "node:net";
import tls from "node:tls";
import { createHash, createHmac, pbkdf2, pbkdf2Sync, randomBytes } from "node:crypto";

export const NS_CLIENT = "jabber:client";

export interface ClientOptions {
  host: string;
  port: number;
  localAddress?: string;
  domain: string;
  user: string;
  password: string;
  resource: string;
  /** "no": never STARTTLS; "required": fail unless the server offers it; "if-offered". */
  starttls: "no" | "required" | "if-offered";
  /** Upper bound on the whole login, milliseconds. */
  timeoutMs: number;
}

export type StanzaHandler = (name: string, raw: string) => void;

/**
 * Splits a stream of text into top-level stanzas (children of <stream:stream>).
 * It only tracks tag boundaries and depth; quoted attribute values may contain '>'.
 */
export class StanzaSplitter {
  private buf = "";
  private pos = 0;
  private depth = 0;
  private start = -1;
  onOpen: (tag: string) => void = () => {};
  onClose: () => void = () => {};
  onStanza: StanzaHandler = () => {};

  reset(): void {
    this.depth = 0;
    this.start = -1;
  }

  feed(chunk: string): void {
    let buf = this.buf.length ? this.buf + chunk : chunk;
    let pos = this.pos;
    for (;;) {
      const lt = buf.indexOf("<", pos);
      if (lt < 0) {
        pos = buf.length;
        break;
      }
      const gt = tagEnd(buf, lt + 1);
      if (gt < 0) {
        pos = lt;
        break;
      }
      const c = buf.charCodeAt(lt + 1);
      if (c === 63 /* ? */ || c === 33 /* ! */) {
        pos = gt + 1;
        continue;
      }
      if (c === 47 /* / */) {
        if (this.depth <= 1) {
          this.depth = 0;
          this.onClose();
        } else {
          this.depth--;
          if (this.depth === 1) {
            const raw = buf.slice(this.start, gt + 1);
            this.start = -1;
            this.onStanza(elementName(raw), raw);
          }
        }
      } else if (this.depth === 0) {
        this.depth = 1;
        this.onOpen(buf.slice(lt, gt + 1));
      } else {
        const selfClosing = buf.charCodeAt(gt - 1) === 47;
        if (this.depth === 1) this.start = lt;
        if (selfClosing) {
          if (this.depth === 1) {
            const raw = buf.slice(lt, gt + 1);
            this.start = -1;
            this.onStanza(elementName(raw), raw);
          }
        } else {
          this.depth++;
        }
      }
      pos = gt + 1;
    }
    if (this.start >= 0) {
      buf = buf.slice(this.start);
      pos -= this.start;
      this.start = 0;
    } else {
      buf = pos >= buf.length ? "" : buf.slice(pos);
      pos = 0;
    }
    this.buf = buf;
    this.pos = pos;
  }
}

function tagEnd(s: string, from: number): number {
  let quote = 0;
  for (let i = from; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (quote) {
      if (c === quote) quote = 0;
    } else if (c === 62) return i;
    else if (c === 34 || c === 39) quote = c;
  }
  return -1;
}

function elementName(raw: string): string {
  let i = 1;
  while (i < raw.length) {
    const c = raw.charCodeAt(i);
    if (c === 32 || c === 62 || c === 47 || c === 9 || c === 10 || c === 13) break;
    i++;
  }
  return raw.slice(1, i);
}

/** Value of attribute `name` in the start tag of `raw` (no entity decoding but &amp; &apos; &quot;). */
export function attr(raw: string, name: string): string | undefined {
  const end = tagEnd(raw, 1);
  const head = end > 0 ? raw.slice(0, end) : raw;
  const re = new RegExp(`\\s${name}\\s*=\\s*(?:"([^"]*)"|'([^']*)')`);
  const m = re.exec(head);
  if (!m) return undefined;
  return unescapeXml(m[1] ?? m[2]);
}

export function unescapeXml(s: string): string {
  if (s.indexOf("&") < 0) return s;
  return s.replace(/&(lt|gt|amp|apos|quot);/g, (_, e: string) => ({ lt: "<", gt: ">", amp: "&", apos: "'", quot: '"' })[e]!);
}

export function escapeXml(s: string): string {
  return s.replace(/[<>&'"]/g, (c) => ({ "<": "&lt;", ">": "&gt;", "&": "&amp;", "'": "&apos;", '"': "&quot;" })[c]!);
}

/** Text between the first <tag> / <tag ...> and its </tag> inside raw (no nesting). */
export function childText(raw: string, tag: string): string | undefined {
  let i = raw.indexOf("<" + tag, 1);
  while (i >= 0) {
    const c = raw.charCodeAt(i + 1 + tag.length);
    if (c === 62 || c === 32 || c === 47) break;
    i = raw.indexOf("<" + tag, i + 1);
  }
  if (i < 0) return undefined;
  const gt = tagEnd(raw, i + 1);
  if (gt < 0) return undefined;
  if (raw.charCodeAt(gt - 1) === 47) return "";
  const close = raw.indexOf("</" + tag + ">", gt);
  if (close < 0) return undefined;
  return raw.slice(gt + 1, close);
}

// ---- SCRAM-SHA-1 (RFC 5802), client side -------------------------------------------------

interface ScramKeys {
  clientKey: Buffer;
  storedKey: Buffer;
  serverKey: Buffer;
}
const keyCache = new Map<string, ScramKeys | Promise<ScramKeys>>();
export const scramStats = { pbkdf2: 0, cached: 0 };

/** Salted keys, cached by (password, salt, iterations): many bench accounts share a salt. */
async function scramKeys(password: string, salt: Buffer, iterations: number): Promise<ScramKeys> {
  const key = password + "\0" + salt.toString("base64") + "\0" + iterations;
  const hit = keyCache.get(key);
  if (hit) {
    scramStats.cached++;
    return hit;
  }
  scramStats.pbkdf2++;
  const p = new Promise<ScramKeys>((resolve, reject) => {
    pbkdf2(password.normalize("NFKC"), salt, iterations, 20, "sha1", (err, salted) => {
      if (err) return reject(err);
      const clientKey = createHmac("sha1", salted).update("Client Key").digest();
      resolve({
        clientKey,
        storedKey: createHash("sha1").update(clientKey).digest(),
        serverKey: createHmac("sha1", salted).update("Server Key").digest(),
      });
    });
  });
  if (keyCache.size > 50000) keyCache.clear();
  keyCache.set(key, p);
  const keys = await p;
  keyCache.set(key, keys);
  return keys;
}

/** Server-side SCRAM-SHA-1 credentials for provisioning reference servers directly. */
export function scramCredentials(password: string, salt: Buffer, iterations: number): { storedKey: Buffer; serverKey: Buffer } {
  const salted = pbkdf2Sync(password.normalize("NFKC"), salt, iterations, 20, "sha1");
  const clientKey = createHmac("sha1", salted).update("Client Key").digest();
  return {
    storedKey: createHash("sha1").update(clientKey).digest(),
    serverKey: createHmac("sha1", salted).update("Server Key").digest(),
  };
}

function saslName(u: string): string {
  return u.replace(/=/g, "=3D").replace(/,/g, "=2C");
}

function parseScram(msg: string): Map<string, string> {
  const m = new Map<string, string>();
  for (const part of msg.split(",")) {
    const eq = part.indexOf("=");
    if (eq > 0) m.set(part.slice(0, eq), part.slice(eq + 1));
  }
  return m;
}

// ---- the client ----------------------------------------------------------------------------

export class LoginError extends Error {
  stage: string;
  constructor(stage: string, message: string) {
    super(`${stage}: ${message}`);
    this.stage = stage;
  }
}

type Waiter = { resolve: (s: { name: string; raw: string }) => void; reject: (e: Error) => void };

export class XmppClient {
  opts: ClientOptions;
  socket: net.Socket | tls.TLSSocket | null = null;
  splitter = new StanzaSplitter();
  jid = "";
  bare: string;
  online = false;
  closed = false;
  tls = false;
  /** Called for every stanza once the session is established. */
  onStanza: StanzaHandler | null = null;
  onEnd: ((err?: Error) => void) | null = null;
  private queue: Array<{ name: string; raw: string }> = [];
  private waiter: Waiter | null = null;
  private failure: Error | null = null;
  private features = "";
  private featuresWaiter: Waiter | null = null;
  private idSeq = 0;

  constructor(opts: ClientOptions) {
    this.opts = opts;
    this.bare = `${opts.user}@${opts.domain}`;
    this.splitter.onStanza = (name, raw) => this.dispatch(name, raw);
    this.splitter.onClose = () => this.fail(new Error("server closed the stream"));
  }

  private dispatch(name: string, raw: string): void {
    if (this.online && this.onStanza) {
      this.onStanza(name, raw);
      return;
    }
    if (name === "stream:features") {
      this.features = raw;
      const fw = this.featuresWaiter;
      this.featuresWaiter = null;
      fw?.resolve({ name, raw });
      return;
    }
    if (name === "stream:error") {
      this.fail(new Error("stream error: " + raw.slice(0, 300)));
      return;
    }
    if (this.waiter) {
      const w = this.waiter;
      this.waiter = null;
      w.resolve({ name, raw });
    } else this.queue.push({ name, raw });
  }

  private fail(err: Error): void {
    if (!this.failure) this.failure = err;
    const w = this.waiter ?? this.featuresWaiter;
    this.waiter = this.featuresWaiter = null;
    w?.reject(err);
    if (!this.closed) {
      this.closed = true;
      this.online = false;
      this.socket?.destroy();
      this.onEnd?.(err);
    }
  }

  private next(): Promise<{ name: string; raw: string }> {
    if (this.failure) return Promise.reject(this.failure);
    const q = this.queue.shift();
    if (q) return Promise.resolve(q);
    return new Promise((resolve, reject) => (this.waiter = { resolve, reject }));
  }

  private nextFeatures(): Promise<string> {
    if (this.failure) return Promise.reject(this.failure);
    return new Promise<{ name: string; raw: string }>((resolve, reject) => (this.featuresWaiter = { resolve, reject })).then((f) => f.raw);
  }

  send(data: string): boolean {
    const s = this.socket;
    if (!s || this.closed) return false;
    return s.write(data);
  }

  private openStream(): Promise<string> {
    this.splitter.reset();
    const p = this.nextFeatures();
    this.send(
      `<?xml version='1.0'?><stream:stream to='${this.opts.domain}' xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' version='1.0' xml:lang='en'>`,
    );
    return p;
  }

  private attach(sock: net.Socket | tls.TLSSocket): void {
    this.socket = sock;
    sock.setEncoding("utf8");
    sock.on("data", (d: string) => this.splitter.feed(d));
    sock.on("error", (e) => this.fail(e));
    sock.on("close", () => this.fail(new Error("connection closed")));
  }

  /**
   * Connects and logs in; resolves once the resource is bound (and the session started).
   * With primeOnly it stops after the SCRAM challenge, having cached the salted password for
   * this account's salt (what a real client keeps between logins), and closes the connection.
   */
  async login(primeOnly = false): Promise<void> {
    const o = this.opts;
    const timer = setTimeout(() => this.fail(new LoginError("timeout", `login took over ${o.timeoutMs} ms`)), o.timeoutMs);
    try {
      await new Promise<void>((resolve, reject) => {
        const sock = net.connect({ host: o.host, port: o.port, localAddress: o.localAddress, noDelay: true });
        this.attach(sock);
        sock.once("connect", () => resolve());
        sock.once("error", reject);
      });
      let features = await this.openStream();
      if (o.starttls !== "no") {
        const offered = features.includes("urn:ietf:params:xml:ns:xmpp-tls");
        if (!offered && o.starttls === "required") throw new LoginError("starttls", "server does not offer STARTTLS");
        if (offered) {
          this.send("<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>");
          const r = await this.next();
          if (r.name !== "proceed") throw new LoginError("starttls", r.raw.slice(0, 200));
          const plain = this.socket as net.Socket;
          plain.removeAllListeners("data");
          plain.removeAllListeners("close");
          plain.removeAllListeners("error");
          plain.on("error", () => {});
          const secure = tls.connect({ socket: plain, servername: o.domain, rejectUnauthorized: false });
          await new Promise<void>((resolve, reject) => {
            secure.once("secureConnect", () => resolve());
            secure.once("error", reject);
          });
          this.tls = true;
          this.attach(secure);
          features = await this.openStream();
        }
      }
      if (!/<mechanism>SCRAM-SHA-1<\/mechanism>/.test(features)) {
        throw new LoginError("sasl", "SCRAM-SHA-1 not offered: " + features.slice(0, 300));
      }
      const done = await this.scram(primeOnly);
      if (done) {
        this.close();
        return;
      }
      features = await this.openStream();
      if (!features.includes("urn:ietf:params:xml:ns:xmpp-bind")) throw new LoginError("bind", "bind not offered");
      this.send(
        `<iq type='set' id='bind1'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><resource>${escapeXml(o.resource)}</resource></bind></iq>`,
      );
      const b = await this.next();
      if (b.name !== "iq" || attr(b.raw, "type") !== "result") throw new LoginError("bind", b.raw.slice(0, 300));
      this.jid = unescapeXml(childText(b.raw, "jid") ?? `${this.bare}/${o.resource}`);
      const sess = /<session[^>]*urn:ietf:params:xml:ns:xmpp-session[^>]*?(\/>|>([\s\S]*?)<\/session>)/.exec(features);
      if (sess && !(sess[2] ?? "").includes("<optional")) {
        this.send("<iq type='set' id='sess1'><session xmlns='urn:ietf:params:xml:ns:xmpp-session'/></iq>");
        const s = await this.next();
        if (s.name !== "iq" || attr(s.raw, "type") !== "result") throw new LoginError("session", s.raw.slice(0, 300));
      }
      this.online = true;
      // Anything that arrived between bind and now goes to the stanza handler later (see flush).
    } catch (e) {
      const err = e instanceof Error ? e : new Error(String(e));
      this.fail(err);
      throw this.failure ?? err;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Hands stanzas queued during login to the handler (call after setting onStanza). */
  flush(): void {
    const q = this.queue;
    this.queue = [];
    if (this.onStanza) for (const s of q) this.onStanza(s.name, s.raw);
  }

  /** Returns true when primeOnly stopped it after caching the keys. */
  private async scram(primeOnly: boolean): Promise<boolean> {
    const o = this.opts;
    const cnonce = randomBytes(18).toString("base64");
    const clientFirstBare = `n=${saslName(o.user)},r=${cnonce}`;
    this.send(
      `<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='SCRAM-SHA-1'>${Buffer.from("n,," + clientFirstBare).toString("base64")}</auth>`,
    );
    const ch = await this.next();
    if (ch.name !== "challenge") throw new LoginError("sasl", ch.raw.slice(0, 300));
    const serverFirst = Buffer.from(ch.raw.slice(ch.raw.indexOf(">") + 1, ch.raw.lastIndexOf("<")), "base64").toString();
    const sf = parseScram(serverFirst);
    const r = sf.get("r"), s = sf.get("s"), i = Number(sf.get("i"));
    if (!r || !s || !i || !r.startsWith(cnonce)) throw new LoginError("sasl", "bad server-first-message " + serverFirst);
    const keys = await scramKeys(o.password, Buffer.from(s, "base64"), i);
    if (primeOnly) {
      this.send("<abort xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/>");
      return true;
    }
    const withoutProof = `c=biws,r=${r}`;
    const authMessage = `${clientFirstBare},${serverFirst},${withoutProof}`;
    const sig = createHmac("sha1", keys.storedKey).update(authMessage).digest();
    const proof = Buffer.alloc(20);
    for (let k = 0; k < 20; k++) proof[k] = keys.clientKey[k] ^ sig[k];
    this.send(
      `<response xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>${Buffer.from(`${withoutProof},p=${proof.toString("base64")}`).toString("base64")}</response>`,
    );
    const fin = await this.next();
    if (fin.name !== "success") throw new LoginError("sasl", fin.raw.slice(0, 300));
    const body = fin.raw.slice(fin.raw.indexOf(">") + 1, fin.raw.lastIndexOf("<"));
    if (body && !fin.raw.endsWith("/>")) {
      const v = parseScram(Buffer.from(body, "base64").toString()).get("v");
      const expect = createHmac("sha1", keys.serverKey).update(authMessage).digest("base64");
      if (v !== expect) throw new LoginError("sasl", "server signature mismatch");
    }
    return false;
  }

  newId(): string {
    return "c" + (++this.idSeq).toString(36);
  }

  /** Closes the stream politely, then the socket. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.online = false;
    const s = this.socket;
    if (!s) return;
    s.removeAllListeners("close");
    s.removeAllListeners("data");
    s.on("error", () => {});
    s.end("</stream:stream>");
    setTimeout(() => s.destroy(), 2000).unref();
  }

  destroy(): void {
    this.closed = true;
    this.online = false;
    this.socket?.removeAllListeners("close");
    this.socket?.on("error", () => {});
    this.socket?.destroy();
  }
}
