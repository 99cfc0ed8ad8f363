import { pino, type Logger } from 'pino';
import type { Config } from '../config/index.ts';

/** pino JSON logs to stdout; secrets in headers are redacted. */
export function makeLogger(config: Pick<Config, 'log'>): Logger {
  return pino({
    level: config.log.level,
    base: { service: 'ferry', pid: process.pid },
    redact: ['req.headers.authorization', 'req.headers["x-api-key"]', 'req.headers.cookie'],
  });
}
