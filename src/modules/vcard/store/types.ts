/**
 * vCards (XEP-0054 vcard-temp): for each owner (a local account's prepared bare JID) the
 * serialized <vCard xmlns='vcard-temp'/> element and the SHA-1 of its photo (XEP-0153). The
 * vcard module is the only writer; the store keeps both values exactly as given.
 */
export interface StoredVcard {
  owner: string;
  /** Serialized XML of the <vCard/> element, exactly as set. */
  xml: string;
  /**
   * What the module computed from the photo: 40 lowercase hex digits (SHA-1 of the decoded
   * BINVAL), "" when the vCard has no photo, null when the photo cannot be hashed (EXTVAL).
   */
  photoHash: string | null;
  /** When it was last set (millisecond precision). */
  updatedAt: Date;
}

export interface VcardStore {
  get(owner: string): Promise<StoredVcard | undefined>;
  /** Only the photo hash (presence needs nothing else): undefined when the owner has no vCard. */
  photoHash(owner: string): Promise<string | null | undefined>;
  /** Creates or replaces the owner's vCard; committed when it resolves. */
  set(owner: string, xml: string, photoHash: string | null, updatedAt?: Date): Promise<void>;
  /** Deletes the owner's vCard; true when there was one. */
  remove(owner: string): Promise<boolean>;
}
