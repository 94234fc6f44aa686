// XEP-0202 Entity Time: the server answers with its UTC time and its time zone offset.
import { defineModule } from "../../core/module/module.ts";
import { x, type Element } from "../../xml/element.ts";
import { NS } from "../../protocol/ns.ts";

/** XEP-0082 time zone offset ("+02:00", "-05:30", "Z" is written as "+00:00" per XEP-0202 examples). */
export function tzo(date: Date): string {
  const minutes = -date.getTimezoneOffset();
  const sign = minutes < 0 ? "-" : "+";
  const abs = Math.abs(minutes);
  return `${sign}${String(Math.floor(abs / 60)).padStart(2, "0")}:${String(abs % 60).padStart(2, "0")}`;
}

/** XEP-0082 DateTime in UTC, with milliseconds ("2024-05-01T12:00:00.123Z"). */
export function utc(date: Date): string {
  return date.toISOString();
}

export function timeElement(date: Date = new Date()): Element {
  return x("time", { xmlns: NS.TIME }, x("tzo", null, tzo(date)), x("utc", null, utc(date)));
}

export default defineModule({
  id: "time",
  setup(ctx) {
    ctx.feature(NS.TIME);
    ctx.iq("get", "host", NS.TIME, "time", () => timeElement());
  },
});
