// Pure vCard helpers: the XEP-0153 photo hash of a vCard, the <x xmlns='vcard-temp:x:update'/>
// rewrite of a presence (XEP-0398 §4 server rules) and parsing a stored vCard back.
import { parseElement } from "../../xml/parse-element.ts";
import { createHash } from "node:crypto";
import { Element, x } from "../../xml/element.ts";
import { NS } from "../../protocol/ns.ts";

/** A child of a vCard element: unprefixed, inheriting vcard-temp (or declaring it again). */
function vcardChild(parent: Element, name: string): Element | undefined {
  for (const c of parent.children) {
    if (typeof c !== "string" && c.name === name && (c.attrs.xmlns === undefined || c.attrs.xmlns === NS.VCARD)) return c;
  }
  return undefined;
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

export class PhotoError extends Error {}

/**
 * XEP-0153: SHA-1 (hex) of the decoded PHOTO/BINVAL (whitespace ignored, §4.6 rule 5);
 * "" when the vCard has no photo data; null when the photo is only a reference (EXTVAL), which
 * the server cannot hash. Throws PhotoError when BINVAL is not base64.
 */
export function photoHashOf(vcard: Element): string | null {
  const photo = vcardChild(vcard, "PHOTO");
  if (!photo) return "";
  const binval = vcardChild(photo, "BINVAL");
  const data = binval ? binval.text().replace(/[\s]+/g, "") : "";
  if (data === "") return vcardChild(photo, "EXTVAL") ? null : "";
  if (data.length % 4 !== 0 || !BASE64.test(data)) throw new PhotoError("PHOTO/BINVAL is not valid base64");
  return createHash("sha1").update(Buffer.from(data, "base64")).digest("hex");
}

/**
 * The server side of vCard-based avatars (XEP-0398 §4, as ejabberd and Prosody do for
 * XEP-0153): an available presence gets <x xmlns='vcard-temp:x:update'><photo>HASH</photo></x>.
 * A client's <photo/> left empty on purpose ("no image") is kept; an empty <x/> (client not
 * ready) or a different hash is replaced. `hash` "" advertises "no image"; null (a photo the
 * server cannot hash) leaves the presence as the client sent it. Returns whether it changed.
 */
export function applyAvatarUpdate(presence: Element, hash: string | null): boolean {
  if (hash === null) return false;
  const existing = presence.getChild("x", NS.VCARD_UPDATE);
  if (existing) {
    const photo = existing.getChild("photo");
    if (photo && photo.text().trim() === "") return false;
    if (photo && hash !== "" && photo.text().trim().toLowerCase() === hash && presence.getChildren("x", NS.VCARD_UPDATE).length === 1) return false;
    presence.removeChildren("x", NS.VCARD_UPDATE);
  }
  presence.children.push(x("x", { xmlns: NS.VCARD_UPDATE }, x("photo", null, hash === "" ? null : hash)));
  return true;
}

/** True when the vCard holds nothing (an empty set deletes the stored vCard). */
export function isEmptyVcard(vcard: Element): boolean {
  return vcard.children.every((c) => typeof c === "string" && c.trim() === "");
}

export { parseElement };
