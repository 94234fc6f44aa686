import { forEachBackend } from "../../../../test/support/databases.ts";
import { capsStoreContract } from "./caps-store.contract.ts";
import { openCapsStore } from "./sql-caps-store.ts";

forEachBackend("CapsStore", (backend) => capsStoreContract(async () => openCapsStore(await backend.open())));
