import { pino, stdSerializers, type Logger } from 'pino';
import pretty from 'pino-pretty';
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

/** What `log.format: auto` means: people read a terminal, machines read a pipe or a file. */
export function resolveLogFormat(
  format: Config['log']['format'],
  isTerminal: boolean,
): 'json' | 'pretty' {
  if (format !== 'auto') return format;
  return isTerminal ? 'pretty' : 'json';
}

/**
 * pino logs to stdout, JSON or pretty (`log.format`); secrets in headers are redacted either way.
 * Pretty lines are written synchronously: a terminal is slow enough already, and a line logged
 * just before exit must not be lost in a buffer.
 */
export function makeLogger(
  config: Pick<Config, 'log'>,
  isTerminal: boolean = process.stdout.isTTY,
): Logger {
  const options = {
    level: config.log.level,
    base: { service: 'ferry', pid: process.pid },
    serializers: { err: serializeError },
    redact: ['req.headers.authorization', 'req.headers["x-api-key"]', 'req.headers.cookie'],
  };
  if (resolveLogFormat(config.log.format, isTerminal) === 'json') return pino(options);
  return pino(
    options,
    pretty({ colorize: isTerminal, sync: true, ignore: 'pid,hostname,service' }),
  );
}
