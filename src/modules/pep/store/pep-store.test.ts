import { forEachBackend } from "../../../../test/support/databases.ts";
import { pepStoreContract } from "./pep-store.contract.ts";
import { openPepStore } from "./sql-pep-store.ts";

forEachBackend("PepStore", (backend) => pepStoreContract(async () => openPepStore(await backend.open())));
