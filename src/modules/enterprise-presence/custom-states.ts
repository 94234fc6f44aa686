// Custom presence states defined by the administrator (lync-spec §2): an id, the class they
// are bound to (Available, Busy or Do not disturb) and a label per language (≤ 64 characters).
// The validator lives in src/core/config/custom-states.ts (the config loader reports its
// problems at boot); this file re-exports it and adds lookups and labels.
import { pickLabel } from "./lang.ts";
import type { CustomStateDef } from "../../core/config/custom-states.ts";

export {
  validateCustomStates, formatCustomStateProblems, CUSTOM_STATE_AVAILABILITIES, DEFAULT_MAX_CUSTOM_STATES, MAX_LABEL_CHARS, MAX_ID_CHARS,
} from "../../core/config/custom-states.ts";
export type { CustomStateAvailability, CustomStateDef, CustomStateProblem, CustomStatesResult } from "../../core/config/custom-states.ts";

export function findCustomState(states: readonly CustomStateDef[], id: string): CustomStateDef | undefined {
  for (const s of states) if (s.id === id) return s;
  return undefined;
}

/** The label for a watcher's language: exact → shorter tag → same language → "en" → first. */
export function customStateLabel(state: Pick<CustomStateDef, "labels">, lang: string | undefined): string {
  return pickLabel(state.labels, lang) ?? "";
}
