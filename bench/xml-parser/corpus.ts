// A realistic, deterministic XMPP client-to-server stream for the parser benchmark:
// chat messages with bodies (some non-ASCII, some escaped), presences with entity caps,
// roster results, pings and disco replies, in proportions seen on a busy server.

export const XML_DECL = "<?xml version='1.0'?>";
export const STREAM_OPEN =
  "<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' " +
  "to='example.com' from='juliet@example.com' version='1.0' xml:lang='en'>";
export const STREAM_HEADER = XML_DECL + STREAM_OPEN;

/** Small deterministic PRNG (mulberry32) so every run parses the same bytes. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const WORDS = [
  "hello", "there", "meeting", "at", "noon", "ok", "thanks", "see", "you", "tomorrow", "the", "report",
  "is", "ready", "can", "we", "talk", "later", "café", "naïve", "Grüße", "日本語", "привет", "😀", "👍",
  "&", "<3", "a > b", "\"quoted\"", "it's",
];
const NAMES = ["alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan", "judy", "mallory", "oscar"];
const GROUPS = ["Friends", "Work", "Family", "Team Ω", "Partners"];

function esc(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;").replace(/'/g, "&apos;");
}

export function buildStanzas(count: number, seed = 1): string[] {
  const rnd = mulberry32(seed);
  const pick = <T>(a: T[]): T => a[Math.floor(rnd() * a.length)];
  const jid = () => `${pick(NAMES)}@example.com`;
  const out: string[] = [];
  for (let i = 0; i < count; i++) {
    const r = rnd();
    const id = `id${i.toString(36)}-${Math.floor(rnd() * 1e9).toString(36)}`;
    if (r < 0.55) {
      const words: string[] = [];
      const n = 3 + Math.floor(rnd() * 30);
      for (let w = 0; w < n; w++) words.push(pick(WORDS));
      out.push(
        `<message to='${jid()}/phone' from='${jid()}/laptop' type='chat' id='${id}' xml:lang='en'>` +
          `<body>${esc(words.join(" "))}</body>` +
          `<active xmlns='http://jabber.org/protocol/chatstates'/>` +
          `<request xmlns='urn:xmpp:receipts'/>` +
          `<origin-id xmlns='urn:xmpp:sid:0' id='${id}'/>` +
          `<markable xmlns='urn:xmpp:chat-markers:0'/>` +
          `</message>`,
      );
    } else if (r < 0.85) {
      const show = pick(["", "<show>away</show>", "<show>dnd</show>", "<show>xa</show>"]);
      out.push(
        `<presence from='${jid()}/laptop' id='${id}'>${show}<status>${esc(pick(WORDS) + " " + pick(WORDS))}</status>` +
          `<priority>${Math.floor(rnd() * 10)}</priority>` +
          `<c xmlns='http://jabber.org/protocol/caps' hash='sha-1' node='https://conversations.im' ver='q07IKJEyjvHSyhy//CH0CxmKi8w='/>` +
          `<x xmlns='vcard-temp:x:update'><photo>${"0123456789abcdef".repeat(2)}a1b2c3d4</photo></x>` +
          `</presence>`,
      );
    } else if (r < 0.9) {
      let items = "";
      const n = 5 + Math.floor(rnd() * 40);
      for (let k = 0; k < n; k++) {
        items +=
          `<item jid='${pick(NAMES)}${k}@example.com' name='${esc(pick(NAMES) + " " + pick(WORDS))}' subscription='${pick(["both", "to", "from"])}'>` +
          `<group>${esc(pick(GROUPS))}</group></item>`;
      }
      out.push(`<iq type='result' id='${id}' to='${jid()}/laptop'><query xmlns='jabber:iq:roster' ver='v${i}'>${items}</query></iq>`);
    } else if (r < 0.97) {
      out.push(`<iq type='get' id='${id}' to='example.com'><ping xmlns='urn:xmpp:ping'/></iq>`);
    } else {
      out.push(
        `<iq type='result' id='${id}' from='example.com'><query xmlns='http://jabber.org/protocol/disco#info'>` +
          `<identity category='server' type='im' name='Parley'/>` +
          `<feature var='http://jabber.org/protocol/disco#info'/><feature var='urn:xmpp:ping'/>` +
          `<feature var='urn:xmpp:carbons:2'/><feature var='urn:xmpp:mam:2'/><feature var='jabber:iq:roster'/>` +
          `</query></iq>`,
      );
    }
  }
  return out;
}

/** The stream as TCP would deliver it: whitespace keepalives between some stanzas, fixed-size reads. */
export function buildStream(count: number, chunkBytes: number, seed = 1): { bytes: Buffer; chunks: Buffer[]; stanzas: number } {
  const rnd = mulberry32(seed + 1);
  const parts = [STREAM_HEADER];
  for (const st of buildStanzas(count, seed)) {
    parts.push(st);
    if (rnd() < 0.05) parts.push("\n");
  }
  const bytes = Buffer.from(parts.join(""));
  const chunks: Buffer[] = [];
  for (let i = 0; i < bytes.length; i += chunkBytes) chunks.push(bytes.subarray(i, i + chunkBytes));
  return { bytes, chunks, stanzas: count };
}
