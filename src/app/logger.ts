import { pino, stdSerializers, type Logger } from 'pino';
import type { Config } from '../config/index.ts';

/**
 * Errors are logged without the objects drivers hang on them: node-postgres attaches its whole
 * client (connection state, type tables) to DatabaseError, which would make each line kilobytes.
 */
function serializeError(error: Error): object {
  const {
    client: _client,
    connection: _connection,
    ...rest
  } = stdSerializers.err(error) as ReturnType<typeof stdSerializers.err> & {
    client?: unknown;
    connection?: unknown;
  };
  return rest;
}

/** pino JSON logs to stdout; secrets in headers are redacted. */
export function makeLogger(config: Pick<Config, 'log'>): Logger {
  return pino({
    level: config.log.level,
    base: { service: 'ferry', pid: process.pid },
    serializers: { err: serializeError },
    redact: ['req.headers.authorization', 'req.headers["x-api-key"]', 'req.headers.cookie'],
  });
}
