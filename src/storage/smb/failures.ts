/**
 * smbclient reports failures as text: `NT_STATUS_…` lines for commands, and
 * `do_connect:` / `protocol negotiation failed:` / `session setup failed:` /
 * `tree connect failed:` lines when it never got as far as the share. These map to the
 * backend-independent StorageError reasons; the status name stays in the message for operators.
 */
import { StorageError, type StorageFailure } from '../types.ts';

const byStatus: Record<string, StorageFailure> = {
  NT_STATUS_OBJECT_NAME_NOT_FOUND: 'not_found',
  NT_STATUS_OBJECT_PATH_NOT_FOUND: 'not_found',
  NT_STATUS_NO_SUCH_FILE: 'not_found',
  NT_STATUS_NOT_A_DIRECTORY: 'not_found',
  NT_STATUS_DELETE_PENDING: 'not_found',
  NT_STATUS_BAD_NETWORK_NAME: 'not_found',
  NT_STATUS_OBJECT_NAME_COLLISION: 'exists',
  NT_STATUS_DIRECTORY_NOT_EMPTY: 'exists',
  NT_STATUS_ACCESS_DENIED: 'permission_denied',
  NT_STATUS_CANNOT_DELETE: 'permission_denied',
  NT_STATUS_MEDIA_WRITE_PROTECTED: 'permission_denied',
  NT_STATUS_LOGON_FAILURE: 'permission_denied',
  NT_STATUS_WRONG_PASSWORD: 'permission_denied',
  NT_STATUS_ACCOUNT_DISABLED: 'permission_denied',
  NT_STATUS_ACCOUNT_LOCKED_OUT: 'permission_denied',
  NT_STATUS_ACCOUNT_RESTRICTION: 'permission_denied',
  NT_STATUS_PASSWORD_EXPIRED: 'permission_denied',
  NT_STATUS_NETWORK_ACCESS_DENIED: 'permission_denied',
  NT_STATUS_DISK_FULL: 'no_space',
  NT_STATUS_QUOTA_EXCEEDED: 'no_space',
  NT_STATUS_OBJECT_NAME_INVALID: 'invalid_name',
  NT_STATUS_NAME_TOO_LONG: 'invalid_name',
  NT_STATUS_CONNECTION_REFUSED: 'unreachable',
  NT_STATUS_CONNECTION_RESET: 'unreachable',
  NT_STATUS_CONNECTION_DISCONNECTED: 'unreachable',
  NT_STATUS_CONNECTION_ABORTED: 'unreachable',
  NT_STATUS_HOST_UNREACHABLE: 'unreachable',
  NT_STATUS_NETWORK_UNREACHABLE: 'unreachable',
  NT_STATUS_PORT_UNREACHABLE: 'unreachable',
  NT_STATUS_IO_TIMEOUT: 'unreachable',
  NT_STATUS_NETWORK_NAME_DELETED: 'unreachable',
  NT_STATUS_INVALID_NETWORK_RESPONSE: 'unreachable',
  NT_STATUS_BAD_NETWORK_PATH: 'unreachable',
  NT_STATUS_PIPE_BROKEN: 'unreachable',
  NT_STATUS_NETWORK_SESSION_EXPIRED: 'unreachable',
  NT_STATUS_USER_SESSION_DELETED: 'unreachable',
};

/** The reason an NT status maps to ('io' for anything not listed). */
export function reasonOf(status: string): StorageFailure {
  return byStatus[status] ?? 'io';
}

/** `mkdir` (recurse) racing another session that made the same folder first. */
const folderExisted = /NT_STATUS_OBJECT_NAME_COLLISION making remote directory/;

/** The first `NT_STATUS_…` failure line in `lines`, with its status. */
export function statusLine(lines: readonly string[]): { status: string; line: string } | undefined {
  for (const line of lines) {
    // A parent folder another session created meanwhile (files of one folder written at once):
    // the folder exists, as wanted; a command that then fails prints its own status.
    if (folderExisted.test(line)) continue;
    const m = /\b(NT_STATUS_[A-Z0-9_]+)\b/.exec(line);
    if (m?.[1] !== undefined && m[1] !== 'NT_STATUS_OK') return { status: m[1], line: line.trim() };
  }
  return undefined;
}

/** The StorageError for a failed command's section, or undefined when the section has none. */
export function commandFailure(
  lines: readonly string[],
  path: string,
  what: string,
): StorageError | undefined {
  const found = statusLine(lines);
  if (!found) return undefined;
  return new StorageError(reasonOf(found.status), path, `${what} failed: ${found.line}`);
}

/** Context for connection-failure messages. */
export interface ConnectionContext {
  readonly location: string;
  readonly user: string;
  readonly share: string;
}

/**
 * The StorageError when smbclient never reached the share (connect, negotiate, login or share
 * failure), or undefined when `text` shows none of those.
 */
export function connectionFailure(
  text: string,
  path: string,
  context: ConnectionContext,
): StorageError | undefined {
  const lines = text.split('\n');
  const find = (prefix: RegExp) => lines.find((line) => prefix.test(line))?.trim();
  const connect = find(/^do_connect: |^protocol negotiation failed: |^Connection to .* failed/);
  if (connect !== undefined) {
    return new StorageError('unreachable', path, `cannot reach ${context.location}: ${connect}`);
  }
  const login = find(/^session setup failed: /);
  if (login !== undefined) {
    const status = statusLine([login])?.status ?? '';
    const reason = reasonOf(status) === 'unreachable' ? 'unreachable' : 'permission_denied';
    const hint =
      reason === 'permission_denied'
        ? ` (login as ${context.user} refused: check the user name, password and domain)`
        : '';
    return new StorageError(reason, path, `${context.location}: ${login}${hint}`);
  }
  const tree = find(/^tree connect failed: /);
  if (tree !== undefined) {
    const status = statusLine([tree])?.status ?? '';
    const hint =
      status === 'NT_STATUS_BAD_NETWORK_NAME' ? ` (no share named ${context.share})` : '';
    return new StorageError(reasonOf(status), path, `${context.location}: ${tree}${hint}`);
  }
  return undefined;
}
