// Stored item payloads back into elements, with the same strict parser that read them from the
// client (what was stored came from there, so it parses).
import { parseElement } from "../../xml/parse-element.ts";
import type { Element } from "../../xml/element.ts";

/** A stored item payload back into an element. */
export const parsePayload = (xml: string): Element => parseElement(xml, { maxDepth: 256 });
