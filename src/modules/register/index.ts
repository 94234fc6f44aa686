// XEP-0077 In-Band Registration, for the server itself:
//  - before authentication (registration.enabled, TLS-protected streams only): the
//    <register xmlns='http://jabber.org/features/iq-register'/> stream feature and the
//    jabber:iq:register get/set that create an account through the AccountService, limited per
//    remote address (registration.maxPerAddressPerHour) and to one account per stream;
//  - after authentication (registration.allowAccountChanges): password change (over TLS) and
//    cancelling one's own registration (<remove/>: result, then the account's streams end with
//    not-authorized, XEP-0077 §3.2).
// Pre-authentication IQs are not routed (nobody has a JID yet): they reach modules as stream
// elements (StreamEvents.nonza) and are answered on the stream itself.
import { defineModule } from "../../core/module/module.ts";
import { StanzaError, errorReply } from "../../core/errors.ts";
import { resultFor } from "../../core/router/router.ts";
import { StreamEvents, type NonzaPayload } from "../../core/stream/stream-events.ts";
import type { C2sStream } from "../../core/stream/c2s-stream.ts";
import { x, type Element } from "../../xml/element.ts";
import { NS } from "../../protocol/ns.ts";
import { AccountError, AccountServiceToken } from "../accounts/index.ts";
import { SlidingWindowLimiter } from "./rate-limit.ts";

const HOUR_MS = 3_600_000;
/** Failed registration attempts allowed on one stream before it is refused outright. */
const MAX_FAILURES_PER_STREAM = 5;
const INSTRUCTIONS = "Choose a username and password for use with this service.";

/** username and password from the plain fields or a submitted jabber:iq:register data form. */
export function registrationFields(query: Element): { username?: string; password?: string } {
  const form = query.getChild("x", NS.DATA_FORMS);
  if (form && form.attrs.type === "submit") {
    const value = (name: string) => form.getChildren("field").find((f) => f.attrs.var === name)?.getChildText("value");
    return { username: value("username"), password: value("password") };
  }
  return { username: query.getChildText("username"), password: query.getChildText("password") };
}

export default defineModule({
  id: "register",
  requires: [AccountServiceToken],
  setup(ctx) {
    const accounts = ctx.use(AccountServiceToken);
    const cfg = ctx.config.registration;
    const limiter = new SlidingWindowLimiter(cfg.maxPerAddressPerHour, HOUR_MS);
    /** Streams that created an account, and failed attempts per stream. */
    const registered = new WeakSet<C2sStream>();
    const failures = new WeakMap<C2sStream, number>();

    if (cfg.enabled || cfg.allowAccountChanges) ctx.feature(NS.REGISTER);
    if (cfg.enabled) ctx.every(10 * 60_000, () => limiter.prune());

    // --- before authentication -------------------------------------------------------------
    ctx.on(StreamEvents.preAuthFeatures, (features, { stream }) => {
      if (cfg.enabled && stream.secure) features.push(x("register", { xmlns: NS.REGISTER_FEATURE }));
      return features;
    });

    /** Writes an IQ reply on a stream that has no JID yet (no 'to'; 'from' when the request named us). */
    const reply = (stream: C2sStream, iq: Element, payload: Element | null, err?: StanzaError) => {
      const out = err ? errorReply(iq, err) : resultFor(iq, payload);
      delete out.attrs.to;
      if (iq.attrs.to === undefined) delete out.attrs.from;
      stream.write(out.toString());
    };

    const register = async (stream: C2sStream, query: Element): Promise<void> => {
      if (!cfg.enabled) throw new StanzaError("service-unavailable", "in-band registration is not enabled on this server");
      if (!stream.secure) throw new StanzaError("not-authorized", "registration needs a TLS-protected stream: use STARTTLS first");
      if (registered.has(stream)) throw new StanzaError("not-acceptable", "an account was already registered on this stream; authenticate now");
      if ((failures.get(stream) ?? 0) >= MAX_FAILURES_PER_STREAM) throw new StanzaError("not-acceptable", "too many registration attempts on this stream");
      if (query.getChild("remove")) throw new StanzaError("unexpected-request", "authenticate before cancelling a registration");
      const address = stream.remoteAddress;
      if (!limiter.allowed(address)) {
        const minutes = Math.ceil(limiter.retryAfter(address) / 60_000);
        throw new StanzaError("policy-violation", `too many accounts were registered from your address; try again in ${minutes} minute(s)`, { type: "wait" });
      }
      const { username, password } = registrationFields(query);
      if (!username || !password) throw new StanzaError("not-acceptable", "both <username/> and <password/> are required");
      try {
        await accounts.create(username, password);
      } catch (err) {
        if (err instanceof AccountError) {
          if (err.code === "exists") throw new StanzaError("conflict", "this username is taken");
          throw new StanzaError("not-acceptable", err.message);
        }
        throw err;
      }
      limiter.record(address);
      registered.add(stream);
      ctx.log.info({ username: accounts.prepareUsername(username), address }, "XEP-0077: account registered in-band");
    };

    ctx.on(StreamEvents.nonza, async ({ stream, element }: NonzaPayload) => {
      if (element.name !== "iq" || (element.attrs.xmlns !== undefined && element.attrs.xmlns !== NS.CLIENT)) return false;
      if (stream.isAuthenticated) return false;
      const query = element.getChild("query", NS.REGISTER);
      const type = element.attrs.type;
      if (!query || (type !== "get" && type !== "set")) return false;
      try {
        if (type === "get") {
          if (!cfg.enabled) throw new StanzaError("service-unavailable", "in-band registration is not enabled on this server");
          if (!stream.secure) throw new StanzaError("not-authorized", "registration needs a TLS-protected stream: use STARTTLS first");
          reply(stream, element, x("query", { xmlns: NS.REGISTER }, x("instructions", null, INSTRUCTIONS), x("username"), x("password")));
        } else {
          await register(stream, query);
          reply(stream, element, null);
        }
      } catch (err) {
        if (type === "set" && cfg.enabled && !(err instanceof StanzaError && err.condition === "policy-violation")) {
          failures.set(stream, (failures.get(stream) ?? 0) + 1);
        }
        if (err instanceof StanzaError) reply(stream, element, null, err);
        else {
          ctx.log.error({ err }, "in-band registration failed");
          reply(stream, element, null, new StanzaError("internal-server-error"));
        }
      }
      return true;
    });

    // --- after authentication -------------------------------------------------------------
    ctx.iq("get", ["host", "self"], NS.REGISTER, "query", (p) => {
      if (!cfg.allowAccountChanges && !cfg.enabled) throw new StanzaError("service-unavailable");
      return x("query", { xmlns: NS.REGISTER }, x("instructions", null, "You are registered. Send a new password to change it, or <remove/> to delete your account."), x("registered"), x("username", null, p.from.local), x("password"));
    });

    ctx.iq("set", ["host", "self"], NS.REGISTER, "query", async (p, query) => {
      const { username: given, password } = registrationFields(query);
      // §3.3: error replies should not carry the password back (the core echoes the payload).
      query.children = query.children.filter((c) => typeof c === "string" || (c.name !== "password" && c.attrs.xmlns !== NS.DATA_FORMS));
      if (!cfg.allowAccountChanges) throw new StanzaError("not-allowed", "account changes are not allowed in-band on this server");
      const username = p.from.local;
      if (query.getChild("remove")) {
        if (query.elements().length !== 1) throw new StanzaError("bad-request", "<remove/> must be the only child of <query/>");
        // §3.2: the result first, then the account goes and its streams end (not-authorized).
        p.origin?.send(resultFor(p.stanza, null));
        await accounts.remove(username);
        ctx.log.info({ username }, "XEP-0077: account removed by its owner");
        return null;
      }
      if (given !== undefined && given !== "") {
        let same = false;
        try {
          same = accounts.prepareUsername(given) === username;
        } catch {
          same = false;
        }
        if (!same) throw new StanzaError("bad-request", "the username does not match the authenticated account");
      }
      if (p.origin && !p.origin.secure) throw new StanzaError("not-authorized", "passwords are changed over TLS-protected streams only");
      if (!password) throw new StanzaError("bad-request", "a non-empty <password/> is required; the password was not changed");
      try {
        await accounts.setPassword(username, password);
      } catch (err) {
        if (err instanceof AccountError) throw new StanzaError("not-acceptable", err.message);
        throw err;
      }
      return null;
    });
  },
});
