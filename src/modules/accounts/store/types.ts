/**
 * Account storage: one row per local user of this server's domain, holding the SCRAM
 * verifiers (never the password). Usernames are the localparts after PRECIS preparation
 * (UsernameCaseMapped); the store compares them byte for byte and never normalises. There is
 * one domain per server for now, so no domain column: hosting several domains will add one
 * (with a migration) rather than encoding the domain into the username.
 */

import type { ScramCredentials } from "../../../core/sasl/types.ts";

/** SCRAM verifiers for one hash function; all binary values base64-encoded. */
export type { ScramCredentials };

export interface AccountRecord {
  username: string;
  sha1: ScramCredentials;
  sha256: ScramCredentials;
  createdAt: Date;
}

export interface NewAccount {
  username: string;
  sha1: ScramCredentials;
  sha256: ScramCredentials;
}

export interface AccountStore {
  /** false if the username exists (the stored record is left unchanged). */
  create(rec: NewAccount): Promise<boolean>;
  get(username: string): Promise<AccountRecord | undefined>;
  /** false if there is no such account. */
  setCredentials(username: string, sha1: ScramCredentials, sha256: ScramCredentials): Promise<boolean>;
  /** false if there was no such account. */
  remove(username: string): Promise<boolean>;
  /** Usernames in code-point order, starting after `after`, at most `limit`. */
  list(opts?: { after?: string; limit?: number }): Promise<string[]>;
  count(): Promise<number>;
  /**
   * Bulk creation (migration from another server, directory sync): one transaction per batch
   * of 1000, multi-row inserts. Existing usernames (and repeats within recs) are skipped.
   */
  importMany(recs: NewAccount[]): Promise<{ created: number; skipped: number }>;
}
