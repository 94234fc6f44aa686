/**
 * Storage of the enterprise presence module: per user, what must survive a restart (the
 * manual state, the personal note, automatic replies, privacy mode, the last sign-out time),
 * and the messages held while the user is on Do Not Disturb. `owner` is a prepared bare JID,
 * compared exactly. Endpoint (device) state is never stored: it lives with the sessions.
 */
import type { ManualMode } from "../model.ts";

export interface StoredManual {
  mode: ManualMode;
  customStateId?: string;
  /** Epoch ms. */
  setAt: number;
  until?: number;
  /** Resource that set it. */
  setBy?: string;
}

export interface StoredNote {
  text: string;
  setBy?: string;
}

/** Automatic replies (Exchange-style out of office), optionally scheduled. */
export interface StoredOutOfOffice {
  note?: string;
  start?: number;
  end?: number;
}

export interface StoredPresence {
  manual?: StoredManual;
  note?: StoredNote;
  ooo?: StoredOutOfOffice;
  privacyMode: boolean;
  lastSignOutAt?: number;
}

export interface HeldMessage {
  id: number;
  owner: string;
  /** Serialized stanza, exactly as held. */
  stanza: string;
  /** When it was held (epoch ms). */
  stamp: number;
}

export interface EnterprisePresenceStore {
  /** The user's row, or undefined when nothing was ever stored. */
  get(owner: string): Promise<StoredPresence | undefined>;
  /** Replaces the user's row (absent fields are cleared). */
  put(owner: string, value: StoredPresence): Promise<void>;
  /** Holds one message; committed when it resolves. Returns its id (increasing, never reused). */
  hold(owner: string, stanza: string, stamp: number): Promise<number>;
  /** Held messages, oldest first, at most `limit`. */
  held(owner: string, limit?: number): Promise<HeldMessage[]>;
  /** Deletes the owner's held messages with these ids; the number deleted. */
  release(owner: string, ids: readonly number[]): Promise<number>;
  heldCount(owner: string): Promise<number>;
  /** The account was deleted: its row and held messages go. */
  removeOwner(owner: string): Promise<void>;
}
