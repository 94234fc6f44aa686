// Which of a user's resources get a message sent to the bare JID (RFC 6121 §8.5.2.1).
import type { Session } from "../../core/session/session.ts";

/**
 * normal, chat: the available resources with the highest non-negative priority (every one of
 * them when several share it, so no device misses the conversation); headline: every
 * available resource with non-negative priority; groupchat and error: nobody.
 */
export function selectRecipients(type: string, resources: readonly Session[]): Session[] {
  if (type === "groupchat") return [];
  let best = -1;
  for (const s of resources) if (s.availableForBare && s.priority > best) best = s.priority;
  if (best < 0) return [];
  if (type === "headline" || type === "error") return resources.filter((s) => s.availableForBare);
  return resources.filter((s) => s.availableForBare && s.priority === best);
}
