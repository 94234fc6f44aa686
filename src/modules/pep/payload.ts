// Stored item payloads back into elements, with the same strict parser that read them from the
// client (what was stored came from there, so it parses).
import { StreamParser } from "../../xml/stream-parser.ts";
import type { Element } from "../../xml/element.ts";

const OPEN = "<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' version='1.0'>";

export function parsePayload(xml: string): Element {
  let result: Element | undefined;
  let failure: Error | undefined;
  const parser = new StreamParser(
    {
      streamStart: () => {},
      stanza: (el) => {
        result ??= el;
      },
      streamEnd: () => {},
      error: (err) => {
        failure = err;
      },
    },
    { maxStanzaBytes: Math.max(1 << 20, xml.length * 4), maxDepth: 256 },
  );
  parser.write(OPEN + xml);
  if (failure) throw failure;
  if (!result) throw new Error("stored payload is incomplete");
  return result;
}
