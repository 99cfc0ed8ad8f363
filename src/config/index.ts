export { ConfigSchema, defaults, type Config } from './schema.ts';
export { configKeys, type ConfigKey } from './keys.ts';
export { loadConfig, type ConfigSources } from './load.ts';
export { maskedConfig, maskSecret } from './print.ts';
