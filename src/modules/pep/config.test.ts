import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { x, type Element } from "../../xml/element.ts";
import { NS } from "../../protocol/ns.ts";
import { ConfigFormError, DEFAULT_CONFIG, FORM_NODE_CONFIG, FORM_PUBLISH_OPTIONS, PEP_MAX_ITEMS, configForm, defaultConfig, formValues, parseConfigForm, unmetPrecondition } from "./config.ts";

function form(type: string | undefined, fields: Record<string, string | string[]>, formType = "submit"): Element {
  const el = x("x", { xmlns: NS.DATA_FORMS, type: formType });
  if (type !== undefined) el.append(x("field", { var: "FORM_TYPE", type: "hidden" }, x("value", null, type)));
  for (const [k, v] of Object.entries(fields)) el.append(x("field", { var: k }, ...(Array.isArray(v) ? v : [v]).map((s) => x("value", null, s))));
  return el;
}

const PO = FORM_PUBLISH_OPTIONS;

describe("PEP node configuration", () => {
  test("XEP-0163 defaults: presence access, one persistent item, last item on presence", () => {
    assert.equal(DEFAULT_CONFIG.accessModel, "presence");
    assert.equal(DEFAULT_CONFIG.maxItems, 1);
    assert.equal(DEFAULT_CONFIG.persistItems, true);
    assert.equal(DEFAULT_CONFIG.sendLastPublishedItem, "on_sub_and_presence");
    assert.equal(DEFAULT_CONFIG.deliverNotifications, true);
    assert.equal(DEFAULT_CONFIG.deliverPayloads, true);
    const c = defaultConfig({ accessModel: "open" });
    assert.equal(c.accessModel, "open");
    c.rosterGroupsAllowed.push("x");
    assert.deepEqual(DEFAULT_CONFIG.rosterGroupsAllowed, [], "defaults are not shared mutable state");
  });

  test("parses the fields PEP clients send (XEP-0402 bookmarks, XEP-0084, OMEMO)", () => {
    assert.deepEqual(
      parseConfigForm(form(PO, { "pubsub#persist_items": "true", "pubsub#max_items": "max", "pubsub#send_last_published_item": "never", "pubsub#access_model": "whitelist" }), PO),
      { persistItems: true, maxItems: PEP_MAX_ITEMS, sendLastPublishedItem: "never", accessModel: "whitelist" },
    );
    assert.deepEqual(parseConfigForm(form(PO, { "pubsub#access_model": "open", "pubsub#max_items": "16", "pubsub#persist_items": "0" }), PO), {
      accessModel: "open",
      maxItems: 16,
      persistItems: false,
    });
    assert.deepEqual(
      parseConfigForm(form(FORM_NODE_CONFIG, { "pubsub#roster_groups_allowed": ["Friends", " Work ", "Friends", ""], "pubsub#title": "T", "pubsub#description": "" }), FORM_NODE_CONFIG),
      { rosterGroupsAllowed: ["Friends", "Work"], title: "T", description: undefined },
    );
    assert.deepEqual(parseConfigForm(form(undefined, { "pubsub#deliver_payloads": "false" }), PO), { deliverPayloads: false }, "FORM_TYPE may be absent");
  });

  test("ignores unknown fields, refuses malformed values and unsupported ones distinctly", () => {
    assert.deepEqual(parseConfigForm(form(PO, { "pubsub#item_expire": "3600", "x-custom": "1" }), PO), {});
    const err = (f: Element, type = PO) => {
      try {
        parseConfigForm(f, type);
      } catch (e) {
        assert.ok(e instanceof ConfigFormError);
        return [e.kind, e.field];
      }
      return undefined;
    };
    assert.deepEqual(err(form(PO, { "pubsub#persist_items": "yes" })), ["invalid", "pubsub#persist_items"]);
    assert.deepEqual(err(form(PO, { "pubsub#max_items": "0" })), ["invalid", "pubsub#max_items"]);
    assert.deepEqual(err(form(PO, { "pubsub#max_items": "ten" })), ["invalid", "pubsub#max_items"]);
    assert.deepEqual(err(form(PO, { "pubsub#max_items": String(PEP_MAX_ITEMS + 1) })), ["unsupported", "pubsub#max_items"]);
    assert.deepEqual(err(form(PO, { "pubsub#access_model": "authorize" })), ["unsupported", "pubsub#access_model"]);
    assert.deepEqual(err(form(PO, { "pubsub#access_model": "everyone" })), ["invalid", "pubsub#access_model"]);
    assert.deepEqual(err(form(PO, { "pubsub#publish_model": "open" })), ["unsupported", "pubsub#publish_model"]);
    assert.equal(err(form(PO, { "pubsub#publish_model": "publishers" })), undefined);
    assert.deepEqual(err(form(FORM_NODE_CONFIG, {}), PO), ["invalid", "FORM_TYPE"]);
    assert.deepEqual(err(form(PO, {}, "form")), ["invalid", ""]);
  });

  test("publish-options preconditions (XEP-0060 §7.1.5)", () => {
    const c = defaultConfig({ accessModel: "open", maxItems: PEP_MAX_ITEMS, rosterGroupsAllowed: ["a", "b"] });
    assert.equal(unmetPrecondition(c, {}), undefined);
    assert.equal(unmetPrecondition(c, { accessModel: "open", maxItems: PEP_MAX_ITEMS, persistItems: true }), undefined);
    assert.equal(unmetPrecondition(c, { rosterGroupsAllowed: ["b", "a"] }), undefined, "lists compare as sets");
    assert.equal(unmetPrecondition(c, { accessModel: "whitelist" }), "pubsub#access_model");
    assert.equal(unmetPrecondition(c, { maxItems: 1 }), "pubsub#max_items");
    assert.equal(unmetPrecondition(c, { rosterGroupsAllowed: ["a"] }), "pubsub#roster_groups_allowed");
    assert.equal(unmetPrecondition(defaultConfig(), { title: "x" }), "pubsub#title");
  });

  test("renders the configuration as a form that parses back to it", () => {
    const c = defaultConfig({ accessModel: "roster", rosterGroupsAllowed: ["Friends"], maxItems: 7, title: "Mood", deliverPayloads: false });
    const f = configForm(c);
    assert.equal(f.attrs.type, "form");
    const v = formValues(f);
    assert.deepEqual(v.get("FORM_TYPE"), [FORM_NODE_CONFIG]);
    assert.deepEqual(v.get("pubsub#access_model"), ["roster"]);
    assert.deepEqual(v.get("pubsub#deliver_payloads"), ["0"]);
    f.attrs.type = "submit";
    assert.deepEqual(JSON.parse(JSON.stringify({ ...defaultConfig(), ...parseConfigForm(f, FORM_NODE_CONFIG) })), c, "empty text fields come back unset");
  });
});
