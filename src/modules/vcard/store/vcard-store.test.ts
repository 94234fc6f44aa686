import { forEachBackend } from "../../../../test/support/databases.ts";
import { vcardStoreContract } from "./vcard-store.contract.ts";
import { openVcardStore } from "./sql-vcard-store.ts";

forEachBackend("VcardStore", (backend) => vcardStoreContract(async () => openVcardStore(await backend.open())));
