// Parses one stored, serialized stanza back into an element with the same strict parser
// that reads client streams (what we stored came from there, so it must parse).
import { StreamParser } from "../../xml/stream-parser.ts";
import type { Element } from "../../xml/element.ts";

const OPEN = "<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' version='1.0'>";

export function parseStoredStanza(xml: string): Element {
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
    { maxStanzaBytes: Math.max(1 << 20, xml.length * 4) },
  );
  parser.write(OPEN + xml);
  if (failure) throw failure;
  if (!result) throw new Error("stored stanza is incomplete");
  return result;
}
