// XEP-0156 (Discovering Alternative XMPP Connection Methods), HTTP lookup method: the
// host-meta document (RFC 6415) in XRD (required) and JSON (optional) form, advertising the
// RFC 7395 WebSocket endpoint under the link relation urn:xmpp:alt-connections:websocket.
import { escapeAttr } from "../xml/element.ts";

export const WEBSOCKET_PATH = "/xmpp-websocket";
export const REL_WEBSOCKET = "urn:xmpp:alt-connections:websocket";
export const NS_XRD = "http://docs.oasis-open.org/ns/xri/xrd-1.0";

export interface HostMetaLink {
  rel: string;
  href: string;
}

export function hostMetaXml(links: readonly HostMetaLink[]): string {
  let s = `<?xml version='1.0' encoding='utf-8'?>\n<XRD xmlns='${NS_XRD}'>\n`;
  for (const l of links) s += `  <Link rel='${escapeAttr(l.rel)}' href='${escapeAttr(l.href)}'/>\n`;
  return s + "</XRD>\n";
}

export function hostMetaJson(links: readonly HostMetaLink[]): { links: HostMetaLink[] } {
  return { links: links.map((l) => ({ rel: l.rel, href: l.href })) };
}

// host[:port], a bracketed IPv6 literal, nothing else (the Host header is client-controlled).
const HOST_HEADER = /^(?:[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?|\[[0-9A-Fa-f:.]{2,45}\])(?::\d{1,5})?$/;

/**
 * The WebSocket URL to advertise. A configured `http.websocketUrl` wins; otherwise the endpoint on
 * the origin the client reached: wss:// on the HTTPS port, ws:// on the plain one, with the
 * request's Host (or, when that is missing or malformed, `fallbackHost`).
 */
export function websocketUrl(configured: string, secure: boolean, hostHeader: string | undefined, fallbackHost: string): string {
  if (configured !== "") return configured;
  const host = hostHeader !== undefined && HOST_HEADER.test(hostHeader) ? hostHeader : fallbackHost;
  return `${secure ? "wss" : "ws"}://${host}${WEBSOCKET_PATH}`;
}
