import { forEachBackend } from "../../../../test/support/databases.ts";
import { calendarStoreContract } from "./calendar-store.contract.ts";
import { openCalendarStore } from "./sql-calendar-store.ts";

forEachBackend("CalendarStore", (backend) => calendarStoreContract(async () => openCalendarStore(await backend.open())));
