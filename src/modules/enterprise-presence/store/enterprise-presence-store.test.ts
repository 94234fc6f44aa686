import { forEachBackend } from "../../../../test/support/databases.ts";
import { enterprisePresenceStoreContract } from "./enterprise-presence-store.contract.ts";
import { openEnterprisePresenceStore } from "./sql-enterprise-presence-store.ts";

forEachBackend("EnterprisePresenceStore", (backend) => enterprisePresenceStoreContract(async () => openEnterprisePresenceStore(await backend.open())));
