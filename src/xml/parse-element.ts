// Parses one serialized element (a stored stanza, a stored PEP payload, a vCard) back into a
// tree, with the same strict parser that reads client streams: what we stored came from there
// or from our own serializer, so it must parse; anything else is an error, never a guess.
import { StreamParser } from "./stream-parser.ts";
import type { Element } from "./element.ts";

const OPEN = "<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' version='1.0'>";

export function parseElement(xml: string, opts: { maxDepth?: number } = {}): Element {
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
        failure ??= err;
      },
    },
    { maxStanzaBytes: Math.max(1 << 20, Buffer.byteLength(xml) + 1024), maxDepth: opts.maxDepth ?? 1024 },
  );
  parser.write(OPEN + xml);
  if (failure) throw failure;
  if (!result) throw new Error("incomplete element");
  return result;
}
