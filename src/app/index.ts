export { makeFerry, type Ferry, type FerryParts, type StartInfo } from './ferry.ts';
export { makeLogger } from './logger.ts';
export { version } from '../config/version.ts';
