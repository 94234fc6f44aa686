// Calendar-driven presence input (docs/presence.md, "Calendar"; protocol: docs/protocol.md,
// urn:parley:calendar:0). Users give one iCalendar feed URL; the module polls the allowed
// ones through an SSRF-guarded fetcher, expands a week of occurrences with ical.js and tells
// the presence engine, through CalendarEvents.changed, when a busy meeting starts or ends.
import { defineModule } from "../../core/module/module.ts";
import { StanzaError } from "../../core/errors.ts";
import { x, type Element } from "../../xml/element.ts";
import { NS } from "../../protocol/ns.ts";
import { Jid, JidError } from "../../jid/jid.ts";
import { AccountEvents, AccountServiceToken } from "../accounts/index.ts";
import { openCalendarStore } from "./store/sql-calendar-store.ts";
import { CalendarEngine } from "./engine.ts";
import { FeedFetchError, fetchFeed } from "./fetch-feed.ts";
import { CalendarParseError, parseCalendar } from "./parse.ts";
import { checkFeedUrl, parseUrlPrefixes } from "./url-policy.ts";
import { CalendarEvents, CalendarServiceToken, type CalendarFeedInfo, type CalendarService, type Meeting } from "./service.ts";

export { CalendarEvents, CalendarServiceToken };
export type { CalendarService, CalendarFeedInfo, Meeting };
export type { CalendarEvent, ShowAs } from "./service.ts";

/** How long a feed-setting IQ waits for the first fetch before answering "pending". */
const IQ_FETCH_WAIT_MS = 1500;

export default defineModule({
  id: "calendar",
  requires: [AccountServiceToken],
  provides: [CalendarServiceToken],
  async setup(ctx) {
    const cfg = ctx.config.calendar;
    const store = await openCalendarStore(ctx.db);
    const accounts = ctx.use(AccountServiceToken);
    const prefixes = parseUrlPrefixes(cfg.allowedUrlPrefixes);
    const hooks = ctx.host.hooks;

    const engine = new CalendarEngine({
      store,
      pollIntervalMs: cfg.pollIntervalSeconds * 1000,
      maxConcurrent: cfg.maxConcurrentFetches,
      fetch: (url, validators, signal) =>
        fetchFeed(url, {
          prefixes,
          allowPrivateNetworks: cfg.allowPrivateNetworks,
          maxBytes: cfg.maxFeedBytes,
          timeoutMs: cfg.timeoutSeconds * 1000,
          signal,
          ...validators,
        }),
      parse: (body, from, to) => parseCalendar(body, { from, to, floatingTimeZone: cfg.floatingTimeZone }),
      describeError: (err) => (err instanceof FeedFetchError || err instanceof CalendarParseError ? err.message : undefined),
      onChanged: (user, meeting, previous) => {
        void hooks.notify(CalendarEvents.changed, { user, meeting, previous });
      },
      onUpdated: (user) => {
        void hooks.notify(CalendarEvents.updated, { user });
      },
      log: ctx.log,
    });

    const disabled = () => new StanzaError("service-unavailable", "calendar feeds are not enabled on this server (calendar.enabled)");

    /** A local account's bare JID, prepared; StanzaError otherwise. */
    const localUser = (user: string): string => {
      let jid: Jid;
      try {
        jid = Jid.parse(user);
      } catch (err) {
        if (err instanceof JidError) throw new StanzaError("jid-malformed", `not a valid JID: ${user}`);
        throw err;
      }
      if (jid.local === "" || jid.domain !== ctx.domain || jid.resource !== "") throw new StanzaError("item-not-found", `${user} is not a user of ${ctx.domain}`);
      return jid.bareString;
    };

    const service: CalendarService = {
      enabled: cfg.enabled,
      current: (user) => engine.current(user),
      items: (user) => engine.items(user),
      async getFeed(user) {
        if (!cfg.enabled) throw disabled();
        return engine.info(localUser(user));
      },
      async setFeed(user, url) {
        if (!cfg.enabled) throw disabled();
        const bare = localUser(user);
        const check = checkFeedUrl(typeof url === "string" ? url.trim() : "", prefixes);
        if (!check.ok) throw new StanzaError(check.reason === "bad-url" ? "bad-request" : "not-allowed", check.text);
        if (!(await accounts.exists(Jid.parse(bare).local))) throw new StanzaError("item-not-found", `${bare} has no account`);
        await engine.setFeed(bare, check.url.href);
        return engine.info(bare)!;
      },
      async removeFeed(user) {
        if (!cfg.enabled) throw disabled();
        return engine.removeFeed(localUser(user));
      },
      async refresh(user) {
        if (!cfg.enabled) throw disabled();
        const bare = localUser(user);
        await engine.refresh(bare);
        return engine.info(bare);
      },
    };
    ctx.provide(CalendarServiceToken, service);

    ctx.on(AccountEvents.removed, async ({ bare }) => {
      await engine.removeFeed(bare);
    });

    ctx.onUnload(() => engine.stop());
    if (!cfg.enabled) return;

    await engine.start();
    ctx.log.debug({ feeds: engine.size, prefixes: prefixes.map((p) => p.source) }, "calendar feeds loaded");
    ctx.feature(NS.CALENDAR, { account: false });

    const feedElement = (user: string): Element => {
      const info = engine.info(user);
      if (!info) return x("feed", { xmlns: NS.CALENDAR });
      const attrs: Record<string, string> = { xmlns: NS.CALENDAR, url: info.url, status: info.status };
      if (info.lastFetch) attrs.fetched = info.lastFetch.toISOString();
      if (info.lastSuccess) attrs["last-success"] = info.lastSuccess.toISOString();
      const m = engine.current(user);
      return x(
        "feed",
        attrs,
        info.error !== undefined ? x("error", {}, info.error) : null,
        m
          ? x(
              "meeting",
              { start: m.start.toISOString(), end: m.end.toISOString() },
              m.subject ? x("subject", {}, m.subject) : null,
              m.location ? x("location", {}, m.location) : null,
            )
          : null,
      );
    };

    ctx.iq("get", "self", NS.CALENDAR, "feed", (p) => feedElement(p.from.bareString));

    ctx.iq("set", "self", NS.CALENDAR, "feed", async (p, el) => {
      const url = el.attrs.url;
      if (url === undefined || url.trim() === "") throw new StanzaError("bad-request", "<feed/> needs a 'url' (use <remove/> to remove the feed)");
      const user = p.from.bareString;
      await service.setFeed(user, url);
      // Give a quick feed the chance to answer in the reply; a slow one reports "pending".
      let timer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([
        engine.settled(user),
        new Promise<void>((resolve) => (timer = setTimeout(resolve, IQ_FETCH_WAIT_MS))),
      ]);
      clearTimeout(timer);
      return feedElement(user);
    });

    ctx.iq("set", "self", NS.CALENDAR, "remove", async (p) => {
      await service.removeFeed(p.from.bareString);
      return null;
    });
  },
});
