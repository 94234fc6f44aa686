// Public surface of the configuration layer: import from here (src/core/config/config.ts).
export { ConfigError, configPathFromArgv, DEFAULT_CONFIG_FILE, loadConfig } from "./load.ts";
export type { LoadConfigOptions } from "./load.ts";
export { envName, LOG_LEVELS, schema } from "./schema.ts";
export type {
  AdminConfig,
  C2sConfig,
  DatabaseConfig,
  DndPolicy,
  PresenceConfig,
  PrivacyConfig,
  HttpConfig,
  LimitsConfig,
  StreamManagementConfig,
  LogConfig,
  LogLevel,
  ParleyConfig,
  TlsConfig,
} from "./schema.ts";
export type { Problem } from "./validate.ts";
export type { CustomStateDef } from "./custom-states.ts";
