import type { Database, Queryable } from "../../../core/storage/database.ts";
import { loadMigrations } from "../../../core/storage/database.ts";
import { chunks, listPlaceholders, toDate } from "../../../core/storage/values.ts";
import type { PepItem, PepNode, PepNodeConfig, PepStore } from "./types.ts";

/** Migration owner and table prefix. */
export const PEP_OWNER = "pep";

const OWNER_BATCH = 500; // owners per IN (…) list
const ID_BATCH = 500;

interface NodeRow {
  owner: string;
  node: string;
  config: unknown;
  created_at: unknown;
}

interface ItemRow {
  item_id: string;
  payload: string;
  publisher: string;
  published_at: unknown;
}

function toNode(r: NodeRow): PepNode {
  // SQLite: JSON text; PostgreSQL: jsonb, already parsed by pg.
  const config = (typeof r.config === "string" ? JSON.parse(r.config) : r.config) as PepNodeConfig;
  return { owner: r.owner, node: r.node, config, created: toDate(r.created_at) };
}

function toItem(r: ItemRow): PepItem {
  return { id: r.item_id, payload: r.payload, publisher: r.publisher, published: toDate(r.published_at) };
}

function checkDate(d: Date, what: string): Date {
  if (!(d instanceof Date) || Number.isNaN(d.getTime())) throw new TypeError(`${what} must be a valid Date`);
  return d;
}

function checkMax(n: number): number {
  if (!Number.isInteger(n) || n < 0) throw new RangeError(`bad item count ${n}`);
  return n;
}

const TRIM = `DELETE FROM pep_items WHERE owner = $1 AND node = $2 AND seq NOT IN
  (SELECT seq FROM pep_items WHERE owner = $1 AND node = $2 ORDER BY seq DESC LIMIT $3)`;

export class SqlPepStore implements PepStore {
  readonly #db: Database;

  constructor(db: Database) {
    this.#db = db;
  }

  async getNode(owner: string, node: string): Promise<PepNode | undefined> {
    const rows = await this.#db.query<NodeRow>("SELECT owner, node, config, created_at FROM pep_nodes WHERE owner = $1 AND node = $2", [owner, node]);
    return rows.length ? toNode(rows[0]) : undefined;
  }

  async listNodes(owner: string): Promise<PepNode[]> {
    const rows = await this.#db.query<NodeRow>("SELECT owner, node, config, created_at FROM pep_nodes WHERE owner = $1 ORDER BY node", [owner]);
    return rows.map(toNode);
  }

  async createNode(owner: string, node: string, config: PepNodeConfig, created = new Date()): Promise<boolean> {
    const { changes } = await this.#db.run(
      "INSERT INTO pep_nodes (owner, node, config, created_at) VALUES ($1, $2, $3, $4) ON CONFLICT (owner, node) DO NOTHING",
      [owner, node, JSON.stringify(config), checkDate(created, "created")],
    );
    return changes > 0;
  }

  async setConfig(owner: string, node: string, config: PepNodeConfig): Promise<boolean> {
    const { changes } = await this.#db.run("UPDATE pep_nodes SET config = $3 WHERE owner = $1 AND node = $2", [owner, node, JSON.stringify(config)]);
    return changes > 0;
  }

  async deleteNode(owner: string, node: string): Promise<boolean> {
    return this.#db.transaction(async (tx) => {
      await tx.run("DELETE FROM pep_items WHERE owner = $1 AND node = $2", [owner, node]);
      const { changes } = await tx.run("DELETE FROM pep_nodes WHERE owner = $1 AND node = $2", [owner, node]);
      return changes > 0;
    });
  }

  async publish(owner: string, node: string, item: PepItem, maxItems: number): Promise<void> {
    checkMax(maxItems);
    checkDate(item.published, "published");
    if (typeof item.payload !== "string") throw new TypeError("item payload must be a string");
    await this.#db.transaction(async (tx) => {
      await tx.run("DELETE FROM pep_items WHERE owner = $1 AND node = $2 AND item_id = $3", [owner, node, item.id]);
      await tx.run(
        "INSERT INTO pep_items (owner, node, item_id, payload, publisher, published_at) VALUES ($1, $2, $3, $4, $5, $6)",
        [owner, node, item.id, item.payload, item.publisher, item.published],
      );
      await tx.run(TRIM, [owner, node, maxItems]);
    });
  }

  async retract(owner: string, node: string, id: string): Promise<boolean> {
    const { changes } = await this.#db.run("DELETE FROM pep_items WHERE owner = $1 AND node = $2 AND item_id = $3", [owner, node, id]);
    return changes > 0;
  }

  async purge(owner: string, node: string): Promise<number> {
    const { changes } = await this.#db.run("DELETE FROM pep_items WHERE owner = $1 AND node = $2", [owner, node]);
    return changes;
  }

  async trim(owner: string, node: string, maxItems: number): Promise<number> {
    const { changes } = await this.#db.run(TRIM, [owner, node, checkMax(maxItems)]);
    return changes;
  }

  async items(owner: string, node: string, opts: { max?: number; ids?: readonly string[] } = {}): Promise<PepItem[]> {
    const cols = "item_id, payload, publisher, published_at";
    if (opts.ids !== undefined) {
      const unique = [...new Set(opts.ids)];
      const found = new Map<string, PepItem>();
      for (const batch of chunks(unique, ID_BATCH)) {
        const rows = await this.#db.query<ItemRow>(
          `SELECT ${cols} FROM pep_items WHERE owner = $1 AND node = $2 AND item_id IN (${listPlaceholders(batch.length, 3)})`,
          [owner, node, ...batch],
        );
        for (const r of rows) found.set(r.item_id, toItem(r));
      }
      const out: PepItem[] = [];
      for (const id of unique) {
        const it = found.get(id);
        if (it) out.push(it);
      }
      return opts.max !== undefined ? out.slice(0, checkMax(opts.max)) : out;
    }
    if (opts.max !== undefined) {
      const rows = await this.#db.query<ItemRow>(
        `SELECT ${cols} FROM pep_items WHERE owner = $1 AND node = $2 ORDER BY seq DESC LIMIT $3`,
        [owner, node, checkMax(opts.max)],
      );
      return rows.reverse().map(toItem);
    }
    const rows = await this.#db.query<ItemRow>(`SELECT ${cols} FROM pep_items WHERE owner = $1 AND node = $2 ORDER BY seq`, [owner, node]);
    return rows.map(toItem);
  }

  async lastItem(owner: string, node: string): Promise<PepItem | undefined> {
    const rows = await this.#db.query<ItemRow>(
      "SELECT item_id, payload, publisher, published_at FROM pep_items WHERE owner = $1 AND node = $2 ORDER BY seq DESC LIMIT 1",
      [owner, node],
    );
    return rows.length ? toItem(rows[0]) : undefined;
  }

  async nodesWithLast(owners: readonly string[], nodes?: readonly string[]): Promise<Array<{ node: PepNode; last: PepItem | undefined }>> {
    const out: Array<{ node: PepNode; last: PepItem | undefined }> = [];
    if (owners.length === 0 || (nodes !== undefined && nodes.length === 0)) return out;
    const nodeList = nodes ? [...new Set(nodes)] : undefined;
    for (const batch of chunks([...new Set(owners)], OWNER_BATCH)) {
      const args: unknown[] = [...batch];
      let nodeFilter = "";
      if (nodeList) {
        nodeFilter = ` AND n.node IN (${listPlaceholders(nodeList.length, args.length + 1)})`;
        args.push(...nodeList);
      }
      const rows = await this.#db.query<NodeRow & { item_id: string | null; payload: string | null; publisher: string | null; published_at: unknown }>(
        `SELECT n.owner, n.node, n.config, n.created_at, i.item_id, i.payload, i.publisher, i.published_at
           FROM pep_nodes n
           LEFT JOIN (SELECT owner, node, MAX(seq) AS seq FROM pep_items
                       WHERE owner IN (${listPlaceholders(batch.length)}) GROUP BY owner, node) m
             ON m.owner = n.owner AND m.node = n.node
           LEFT JOIN pep_items i ON i.seq = m.seq
          WHERE n.owner IN (${listPlaceholders(batch.length)})${nodeFilter}
          ORDER BY n.owner, n.node`,
        args,
      );
      for (const r of rows) {
        out.push({
          node: toNode(r),
          last: r.item_id === null ? undefined : toItem({ item_id: r.item_id, payload: r.payload!, publisher: r.publisher!, published_at: r.published_at }),
        });
      }
    }
    return out;
  }

  async removeOwner(owner: string): Promise<void> {
    await this.#db.transaction(async (tx: Queryable) => {
      await tx.run("DELETE FROM pep_items WHERE owner = $1", [owner]);
      await tx.run("DELETE FROM pep_nodes WHERE owner = $1", [owner]);
    });
  }
}

/** Applies the pep migrations and returns the store. */
export async function openPepStore(db: Database): Promise<SqlPepStore> {
  await db.migrate(PEP_OWNER, loadMigrations(new URL("./migrations/", import.meta.url), db.dialect));
  return new SqlPepStore(db);
}
