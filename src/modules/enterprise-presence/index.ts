// Enterprise presence (issue #5): the pure half — availability model, aggregation, privacy
// levels and matrix, custom states, wire format. No I/O; the presence module wires it in.
// Rules and wire format: docs/presence.md.
export * from "./model.ts";
export * from "./aggregate.ts";
export * from "./privacy.ts";
export * from "./custom-states.ts";
export * from "./wire.ts";
export { pickLanguage, pickLabel, normalizeLang } from "./lang.ts";
export { type Clock, systemClock, FakeClock, SECOND, MINUTE, HOUR, DAY } from "./clock.ts";
