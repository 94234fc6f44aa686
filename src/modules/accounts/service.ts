// AccountService: the only way other parts (SASL, CLI, admin API) create, change or delete
// local accounts. Passwords are turned into salted SCRAM verifiers here and never stored.
import { defineService } from "../../core/module/module.ts";
import { defineNotifyEvent } from "../../core/hooks/hooks.ts";
import type { CredentialLookup } from "../../core/sasl/index.ts";

export class AccountError extends Error {
  readonly code: "exists" | "not-found" | "invalid-username" | "invalid-password";
  constructor(code: AccountError["code"], message: string) {
    super(message);
    this.code = code;
  }
}

export interface ImportResult {
  created: number;
  skipped: number;
  invalid: Array<{ line: number; error: string }>;
}

export interface AccountService {
  /** Prepares a username (PRECIS localpart); throws AccountError("invalid-username"). */
  prepareUsername(username: string): string;
  create(username: string, password: string): Promise<void>;
  remove(username: string): Promise<boolean>;
  setPassword(username: string, password: string): Promise<void>;
  exists(username: string): Promise<boolean>;
  list(opts?: { after?: string; limit?: number }): Promise<string[]>;
  count(): Promise<number>;
  /** Bulk creation: derives verifiers in parallel; existing accounts are skipped. */
  importMany(rows: Array<{ username: string; password: string; line?: number }>): Promise<ImportResult>;
  readonly credentials: CredentialLookup;
}

export const AccountServiceToken = defineService<AccountService>("AccountService");

export const AccountEvents = Object.freeze({
  /** An account was deleted; owners of per-user data drop it and sessions are ended. */
  removed: defineNotifyEvent<{ username: string; bare: string }>("accounts/removed"),
  /** A password changed; other sessions of the account may be ended by policy. */
  passwordChanged: defineNotifyEvent<{ username: string; bare: string }>("accounts/password-changed"),
});
