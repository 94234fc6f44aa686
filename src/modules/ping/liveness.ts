// When the server pings a client and when it gives up (XEP-0199 §4.2 server-to-client pings).

export interface LivenessInput {
  now: number;
  /** When the client last sent anything; undefined = unknown (e.g. a XEP-0198 session waiting for resumption). */
  lastReceived: number | undefined;
  /** When the ping now in flight was sent, if any. */
  pingSentAt: number | undefined;
  intervalMs: number;
  timeoutMs: number;
}

/**
 * "ping": silent for the interval, no ping in flight → send one.
 * "alive": a ping is in flight but the client has sent something since → forget the ping.
 * "drop": a ping in flight got nothing back (not even other traffic) within the timeout.
 * "wait": nothing to do now.
 */
export function pingDecision(s: LivenessInput): "ping" | "alive" | "drop" | "wait" {
  if (s.lastReceived === undefined) return "wait";
  if (s.pingSentAt !== undefined) {
    // ">=": data in the very millisecond the ping left is counted as an answer (at worst one
    // more ping cycle), rather than dropping a client that answered at once.
    if (s.lastReceived >= s.pingSentAt) return "alive";
    return s.now - s.pingSentAt >= s.timeoutMs ? "drop" : "wait";
  }
  return s.now - s.lastReceived >= s.intervalMs ? "ping" : "wait";
}
