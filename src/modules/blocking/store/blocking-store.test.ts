import { forEachBackend } from "../../../../test/support/databases.ts";
import { blockingStoreContract } from "./blocking-store.contract.ts";
import { openBlockingStore } from "./sql-blocking-store.ts";

forEachBackend("BlockingStore", (backend) => blockingStoreContract(async () => openBlockingStore(await backend.open())));
