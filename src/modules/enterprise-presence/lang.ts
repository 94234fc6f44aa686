// Language selection for labels (custom states, built-in state names): BCP 47 tags compared
// case-insensitively, with a fixed fallback chain. Pure.

/** Lowercased tag with "_" read as "-" ("de_CH" → "de-ch"). */
export function normalizeLang(tag: string): string {
  return tag.trim().replace(/_/g, "-").toLowerCase();
}

/**
 * Picks the best key of `available` for a watcher who wants `wanted`:
 *   1. the exact tag ("de-CH");
 *   2. the tag cut back one subtag at a time ("de-CH-1996" → "de-CH" → "de");
 *   3. another region/script of the same language ("de" wanted, "de-AT" available);
 *   4. `fallback` (default "en"), then any "en-…";
 *   5. the first available key.
 * Returns the key as spelled in `available`, or undefined when `available` is empty.
 */
export function pickLanguage(available: readonly string[], wanted: string | undefined, fallback = "en"): string | undefined {
  if (available.length === 0) return undefined;
  const byNorm = new Map<string, string>();
  for (const k of available) {
    const n = normalizeLang(k);
    if (!byNorm.has(n)) byNorm.set(n, k);
  }
  const tryChain = (tag: string | undefined): string | undefined => {
    if (!tag) return undefined;
    let t = normalizeLang(tag);
    while (t) {
      const hit = byNorm.get(t);
      if (hit !== undefined) return hit;
      const cut = t.lastIndexOf("-");
      if (cut < 0) break;
      t = t.slice(0, cut);
    }
    const primary = t; // the primary subtag after cutting
    for (const [n, k] of byNorm) if (n.startsWith(primary + "-")) return k;
    return undefined;
  };
  return tryChain(wanted) ?? tryChain(fallback) ?? available[0];
}

/** Picks a label from a per-language record (see pickLanguage). */
export function pickLabel(labels: Readonly<Record<string, string>>, wanted: string | undefined, fallback = "en"): string | undefined {
  const key = pickLanguage(Object.keys(labels), wanted, fallback);
  return key === undefined ? undefined : labels[key];
}
