import { forEachBackend } from "../../../../test/support/databases.ts";
import { rosterStoreContract } from "./roster-store.contract.ts";
import { openRosterStore } from "./sql-roster-store.ts";

forEachBackend("RosterStore", (backend) => rosterStoreContract(async () => openRosterStore(await backend.open())));
