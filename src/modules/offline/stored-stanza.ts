// Parses one stored, serialized stanza back into an element with the same strict parser
// that reads client streams (what we stored came from there, so it must parse).
import { parseElement } from "../../xml/parse-element.ts";
import type { Element } from "../../xml/element.ts";

/** A stored offline message back into a stanza. */
export const parseStoredStanza = (xml: string): Element => parseElement(xml);
