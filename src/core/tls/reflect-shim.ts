// A minimal stand-in for the `reflect-metadata` polyfill, which `@peculiar/x509` needs through
// its dependency `tsyringe` (tsyringe throws at import time without Reflect.getMetadata).
// Only the calls tsyringe and tslib's __metadata make are provided; an existing polyfill, if
// one was loaded first, is left untouched. Import this module before `@peculiar/x509`.

type MetaTarget = object;
type MetaStore = Map<unknown, Map<string | symbol | undefined, unknown>>;

interface ReflectMetadataApi {
  getMetadata?: (key: unknown, target: MetaTarget, prop?: string | symbol) => unknown;
  getOwnMetadata?: (key: unknown, target: MetaTarget, prop?: string | symbol) => unknown;
  hasMetadata?: (key: unknown, target: MetaTarget, prop?: string | symbol) => boolean;
  hasOwnMetadata?: (key: unknown, target: MetaTarget, prop?: string | symbol) => boolean;
  defineMetadata?: (key: unknown, value: unknown, target: MetaTarget, prop?: string | symbol) => void;
  metadata?: (key: unknown, value: unknown) => (target: MetaTarget, prop?: string | symbol) => void;
}

const R = Reflect as unknown as ReflectMetadataApi;

if (typeof R.getMetadata !== "function") {
  const stores = new WeakMap<MetaTarget, MetaStore>();
  const own = (target: MetaTarget, key: unknown, prop: string | symbol | undefined): { found: boolean; value: unknown } => {
    const byKey = stores.get(target)?.get(key);
    return byKey && byKey.has(prop) ? { found: true, value: byKey.get(prop) } : { found: false, value: undefined };
  };
  const lookup = (target: MetaTarget, key: unknown, prop: string | symbol | undefined): { found: boolean; value: unknown } => {
    for (let t: MetaTarget | null = target; t !== null; t = Object.getPrototypeOf(t) as MetaTarget | null) {
      const r = own(t, key, prop);
      if (r.found) return r;
    }
    return { found: false, value: undefined };
  };
  R.defineMetadata = (key, value, target, prop) => {
    let store = stores.get(target);
    if (!store) stores.set(target, (store = new Map()));
    let byKey = store.get(key);
    if (!byKey) store.set(key, (byKey = new Map()));
    byKey.set(prop, value);
  };
  R.getOwnMetadata = (key, target, prop) => own(target, key, prop).value;
  R.hasOwnMetadata = (key, target, prop) => own(target, key, prop).found;
  R.getMetadata = (key, target, prop) => lookup(target, key, prop).value;
  R.hasMetadata = (key, target, prop) => lookup(target, key, prop).found;
  R.metadata = (key, value) => (target, prop) => R.defineMetadata!(key, value, target, prop);
}

export {};
