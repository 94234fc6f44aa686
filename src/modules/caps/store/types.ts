/**
 * Verified entity capabilities (XEP-0115): what a disco#info result said, keyed by the hash
 * function and the verification string it hashes to. Only results whose hash was checked are
 * stored, so an entry is the same for every entity advertising that 'ver' (global cache, §5.4).
 * The caps module is the only writer. The three JSON columns are kept exactly as given.
 */
export interface CapsRecord {
  /** The caps 'hash' attribute, e.g. "sha-1". */
  hash: string;
  ver: string;
  /** JSON: [{category, type, lang?, name?}] */
  identities: string;
  /** JSON: ["feature var", …] */
  features: string;
  /** JSON: [{formType, fields: [{var, values}]}] */
  forms: string;
}

export interface CapsStore {
  get(hash: string, ver: string): Promise<CapsRecord | undefined>;
  /** Stores a verified entry; an existing one for the same hash and ver is kept (they are equal by construction). */
  put(rec: CapsRecord): Promise<void>;
  count(): Promise<number>;
}
