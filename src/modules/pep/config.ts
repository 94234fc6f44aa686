// PEP node configuration: defaults (XEP-0163 §5), the pubsub#node_config / publish-options data
// forms (XEP-0060 §16.4.3, XEP-0004) and the publish-options precondition check (XEP-0060 §7.1.5).
// Pure functions, unit-tested in config.test.ts.
import { Element, x } from "../../xml/element.ts";
import { NS } from "../../protocol/ns.ts";
import type { PepNodeConfig } from "./store/types.ts";

/** What pubsub#max_items "max" means, and the largest number accepted. */
export const PEP_MAX_ITEMS = 1000;

export const FORM_NODE_CONFIG = "http://jabber.org/protocol/pubsub#node_config";
export const FORM_PUBLISH_OPTIONS = "http://jabber.org/protocol/pubsub#publish-options";

export const ACCESS_MODELS = ["open", "presence", "roster", "whitelist"] as const;

/** XEP-0163 §5 smart defaults. */
export const DEFAULT_CONFIG: Readonly<PepNodeConfig> = Object.freeze({
  accessModel: "presence",
  rosterGroupsAllowed: [],
  persistItems: true,
  maxItems: 1,
  sendLastPublishedItem: "on_sub_and_presence",
  deliverNotifications: true,
  deliverPayloads: true,
  notifyRetract: true,
  notifyDelete: true,
  notificationType: "headline",
});

export function defaultConfig(over: Partial<PepNodeConfig> = {}): PepNodeConfig {
  return { ...DEFAULT_CONFIG, rosterGroupsAllowed: [], ...over };
}

type FieldKind = "boolean" | "list-single" | "list-multi" | "text-single" | "max-items";

interface FieldDef {
  var: string;
  key: keyof PepNodeConfig;
  kind: FieldKind;
  label: string;
  /** Values we support (list-single). */
  options?: readonly string[];
  /** Values XEP-0060 defines that we do not support: "unsupported", not "invalid". */
  known?: readonly string[];
}

const FIELDS: readonly FieldDef[] = [
  { var: "pubsub#title", key: "title", kind: "text-single", label: "A friendly name for the node" },
  { var: "pubsub#description", key: "description", kind: "text-single", label: "A description of the node" },
  { var: "pubsub#type", key: "payloadType", kind: "text-single", label: "The type of node data (the payload namespace)" },
  { var: "pubsub#access_model", key: "accessModel", kind: "list-single", label: "Who may subscribe and retrieve items", options: ACCESS_MODELS, known: ["authorize"] },
  { var: "pubsub#roster_groups_allowed", key: "rosterGroupsAllowed", kind: "list-multi", label: "Roster groups allowed (roster access model)" },
  { var: "pubsub#persist_items", key: "persistItems", kind: "boolean", label: "Persist items to storage" },
  { var: "pubsub#max_items", key: "maxItems", kind: "max-items", label: `Max number of items to persist (at most ${PEP_MAX_ITEMS}, or max)` },
  { var: "pubsub#send_last_published_item", key: "sendLastPublishedItem", kind: "list-single", label: "When to send the last published item", options: ["never", "on_sub", "on_sub_and_presence"] },
  { var: "pubsub#deliver_notifications", key: "deliverNotifications", kind: "boolean", label: "Deliver event notifications" },
  { var: "pubsub#deliver_payloads", key: "deliverPayloads", kind: "boolean", label: "Deliver payloads with event notifications" },
  { var: "pubsub#notify_retract", key: "notifyRetract", kind: "boolean", label: "Notify subscribers when items are removed from the node" },
  { var: "pubsub#notify_delete", key: "notifyDelete", kind: "boolean", label: "Notify subscribers when the node is deleted" },
  { var: "pubsub#notification_type", key: "notificationType", kind: "list-single", label: "The message type of event notifications", options: ["headline", "normal"] },
];

/** Fixed-value fields we accept only with the one value we implement. */
const FIXED: Readonly<Record<string, readonly string[]>> = {
  "pubsub#publish_model": ["publishers"],
  "pubsub#purge_offline": ["0", "false"],
  "pubsub#presence_based_delivery": ["0", "false"],
};

const BY_VAR = new Map(FIELDS.map((f) => [f.var, f]));

export class ConfigFormError extends Error {
  /** invalid: malformed (bad-request); unsupported: well-formed but not something we do. */
  readonly kind: "invalid" | "unsupported";
  readonly field: string;
  constructor(kind: "invalid" | "unsupported", field: string, message: string) {
    super(message);
    this.kind = kind;
    this.field = field;
  }
}

/** Field values of a submitted data form (XEP-0004), FORM_TYPE included. */
export function formValues(form: Element): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const f of form.getChildren("field")) {
    const v = f.attrs.var;
    if (v === undefined) continue;
    out.set(v, f.getChildren("value").map((e) => e.text()));
  }
  return out;
}

function parseBoolean(field: string, values: string[]): boolean {
  const v = (values[0] ?? "").trim();
  if (v === "1" || v === "true") return true;
  if (v === "0" || v === "false") return false;
  throw new ConfigFormError("invalid", field, `${field} must be a boolean, not '${v}'`);
}

function parseMaxItems(field: string, values: string[]): number {
  const v = (values[0] ?? "").trim();
  if (v === "max") return PEP_MAX_ITEMS;
  if (!/^\d{1,9}$/.test(v)) throw new ConfigFormError("invalid", field, `${field} must be a positive integer or 'max', not '${v}'`);
  const n = Number(v);
  if (n < 1) throw new ConfigFormError("invalid", field, `${field} must be at least 1`);
  if (n > PEP_MAX_ITEMS) throw new ConfigFormError("unsupported", field, `${field} is at most ${PEP_MAX_ITEMS}`);
  return n;
}

/**
 * Reads the configuration fields of a submitted pubsub#node_config or publish-options form.
 * Unknown fields are ignored (XEP-0004 §3.2 lets a processor ignore what it does not know;
 * every field that decides who sees what is known here). Throws ConfigFormError.
 */
export function parseConfigForm(form: Element, formType: string): Partial<PepNodeConfig> {
  if (form.attrs.type !== undefined && form.attrs.type !== "submit") throw new ConfigFormError("invalid", "", `the form must be of type 'submit'`);
  const values = formValues(form);
  const type = values.get("FORM_TYPE")?.[0];
  if (type !== undefined && type !== formType) throw new ConfigFormError("invalid", "FORM_TYPE", `FORM_TYPE must be ${formType}`);
  const out: Partial<PepNodeConfig> = {};
  const set = <K extends keyof PepNodeConfig>(k: K, v: PepNodeConfig[K]) => {
    out[k] = v;
  };
  for (const [name, vals] of values) {
    if (name === "FORM_TYPE") continue;
    const fixed = FIXED[name];
    if (fixed) {
      const v = (vals[0] ?? "").trim();
      if (!fixed.includes(v)) throw new ConfigFormError("unsupported", name, `${name} '${v}' is not supported (only ${fixed[0]})`);
      continue;
    }
    const def = BY_VAR.get(name);
    if (!def) continue;
    switch (def.kind) {
      case "boolean":
        set(def.key, parseBoolean(name, vals) as never);
        break;
      case "max-items":
        set(def.key, parseMaxItems(name, vals) as never);
        break;
      case "list-single": {
        const v = (vals[0] ?? "").trim();
        if (!def.options!.includes(v)) {
          if (def.known?.includes(v)) throw new ConfigFormError("unsupported", name, `${name} '${v}' is not supported`);
          throw new ConfigFormError("invalid", name, `${name} must be one of ${def.options!.join(", ")}`);
        }
        set(def.key, v as never);
        break;
      }
      case "list-multi": {
        const list = [...new Set(vals.map((v) => v.trim()).filter((v) => v !== ""))];
        if (list.length > 256) throw new ConfigFormError("unsupported", name, `${name}: at most 256 values`);
        set(def.key, list as never);
        break;
      }
      case "text-single": {
        const v = vals.join("\n");
        if (v.length > 1024) throw new ConfigFormError("invalid", name, `${name} is longer than 1024 characters`);
        set(def.key, (v === "" ? undefined : v) as never);
        break;
      }
    }
  }
  return out;
}

function sameValue(a: unknown, b: unknown): boolean {
  if (Array.isArray(a) && Array.isArray(b)) {
    if (a.length !== b.length) return false;
    const s = new Set(a);
    return b.every((v) => s.has(v));
  }
  return a === b;
}

/**
 * XEP-0060 §7.1.5: the first publish-option the node's configuration does not match (its
 * field var), or undefined when all match.
 */
export function unmetPrecondition(config: Readonly<PepNodeConfig>, required: Partial<PepNodeConfig>): string | undefined {
  for (const k of Object.keys(required) as Array<keyof PepNodeConfig>) {
    const want = required[k];
    const have = config[k] ?? (k === "rosterGroupsAllowed" ? [] : undefined);
    if (!sameValue(have, want)) return FIELDS.find((f) => f.key === k)?.var ?? k;
  }
  return undefined;
}

/** The node configuration as a XEP-0004 form (type form, for get-configure and get-default). */
export function configForm(config: Readonly<PepNodeConfig>): Element {
  const form = x("x", { xmlns: NS.DATA_FORMS, type: "form" }, x("field", { var: "FORM_TYPE", type: "hidden" }, x("value", null, FORM_NODE_CONFIG)));
  for (const f of FIELDS) {
    const v = config[f.key];
    const type = f.kind === "max-items" ? "text-single" : f.kind;
    const field = x("field", { var: f.var, type, label: f.label });
    if (f.kind === "boolean") field.append(x("value", null, v ? "1" : "0"));
    else if (f.kind === "list-multi") for (const g of (v as string[] | undefined) ?? []) field.append(x("value", null, g));
    else if (v !== undefined) field.append(x("value", null, String(v)));
    if (f.options) for (const o of f.options) field.append(x("option", null, x("value", null, o)));
    form.append(field);
  }
  return form;
}
