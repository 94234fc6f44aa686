// The process logger: pino, JSON lines on standard output (also on a TTY: pipe through
// `npx pino-pretty` yourself if you want colours; the project ships no pretty printer).

import { hostname } from "node:os";
import { pino } from "pino";
import type { DestinationStream, Logger as PinoLogger } from "pino";
import type { LogLevel } from "../config/config.ts";

export type Logger = PinoLogger;

export interface LoggerOptions {
  /** Where JSON lines go; defaults to standard output (synchronous, so nothing is lost at exit). */
  destination?: DestinationStream;
  /** Fields added to every line (e.g. { node: "n1" } in a cluster). pid and hostname are always added. */
  base?: Record<string, unknown>;
}

export function createLogger(level: LogLevel | string = "info", opts: LoggerOptions = {}): Logger {
  return pino(
    {
      level,
      base: { pid: process.pid, hostname: hostname(), ...opts.base },
      timestamp: pino.stdTimeFunctions.isoTime,
      // "level":"info" rather than "level":30: readable without a pretty printer.
      formatters: { level: (label) => ({ level: label }) },
    },
    opts.destination ?? pino.destination({ dest: 1, sync: true }),
  );
}

/** A logger that drops everything (for tests that do not look at logs). */
export function silentLogger(): Logger {
  return pino({ level: "silent" });
}
