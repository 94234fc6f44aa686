// xmpp.js ships no type declarations; these cover what the interop tests use.
declare module "@xmpp/xml" {
  import { EventEmitter } from "node:events";
  export class Element {
    name: string;
    // Missing attributes read as undefined at run time (as with any index signature).
    attrs: Record<string, string>;
    children: Array<Element | string>;
    parent: Element | null;
    constructor(name: string, attrs?: Record<string, string>);
    is(name: string, xmlns?: string): boolean;
    getChild(name: string, xmlns?: string): Element | undefined;
    getChildren(name: string, xmlns?: string): Element[];
    getChildText(name: string, xmlns?: string): string | null;
    getChildElements(): Element[];
    getText(): string;
    text(): string;
    toString(): string;
  }
  export class Parser extends EventEmitter {
    write(data: string): void;
  }
  type Child = Element | string | null | undefined | false;
  export function xml(name: string, attrs?: Record<string, string | undefined> | null, ...children: Array<Child | Child[]>): Element;
  export default xml;
}

declare module "@xmpp/client" {
  import { EventEmitter } from "node:events";
  import type { Element } from "@xmpp/xml";
  export { xml, Element } from "@xmpp/xml";
  export interface ClientOptions {
    service: string;
    domain?: string;
    username?: string;
    password?: string;
    resource?: string;
    /** Milliseconds for each connection step (default 2000). */
    timeout?: number;
    credentials?:
      | { username: string; password: string }
      | ((authenticate: (creds: { username: string; password: string }, mechanism: string) => Promise<void>, mechanisms: string[]) => Promise<void>);
  }
  export interface IqCaller {
    request(stanza: Element, timeout?: number): Promise<Element>;
    get(payload: Element, to?: string, timeout?: number): Promise<Element>;
    set(payload: Element, to?: string, timeout?: number): Promise<Element>;
  }
  export interface IqCallee {
    set(ns: string, name: string, handler: (ctx: { stanza: Element; element: Element }) => unknown): void;
    get(ns: string, name: string, handler: (ctx: { stanza: Element; element: Element }) => unknown): void;
  }
  export interface XmppClient extends EventEmitter {
    jid: { toString(): string; resource: string; local: string } | null;
    status: string;
    iqCaller: IqCaller;
    iqCallee: IqCallee;
    reconnect: { stop(): void };
    start(): Promise<unknown>;
    stop(): Promise<unknown>;
    send(el: Element): Promise<void>;
    disconnect(timeout?: number): Promise<void>;
  }
  export function client(opts: ClientOptions): XmppClient;
}
