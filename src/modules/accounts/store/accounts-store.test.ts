import { forEachBackend } from "../../../../test/support/databases.ts";
import { accountStoreContract } from "./accounts-store.contract.ts";
import { openAccountStore } from "./sql-accounts-store.ts";

forEachBackend("AccountStore", (backend) => accountStoreContract(async () => openAccountStore(await backend.open())));
