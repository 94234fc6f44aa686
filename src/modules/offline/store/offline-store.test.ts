import { forEachBackend } from "../../../../test/support/databases.ts";
import { offlineStoreContract } from "./offline-store.contract.ts";
import { openOfflineStore } from "./sql-offline-store.ts";

forEachBackend("OfflineStore", (backend) => offlineStoreContract(async () => openOfflineStore(await backend.open())));
