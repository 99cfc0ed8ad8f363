/**
 * What a (re)connected client receives first, in this order: `session_expired` (when its old
 * session could not be resumed), `connection_established`, any `warning`, then the replayed
 * messages. Building the list also switches the session to the new connection, in the same
 * synchronous step, so a message arriving next goes out live after the replay, never before.
 */
import { FerryError } from '../errors/index.ts';
import type { Attachment } from './attach.ts';
import { frame } from './protocol.ts';
import type { SessionLink } from './session.ts';

export interface GreetingSettings {
  now: number;
  heartbeatSeconds: number;
  maxMessageBytes: number;
  messagesPerMinute: number;
}

type WarningCode = 'FERRY_ERR_LIVE_SESSION_FOREIGN' | 'FERRY_ERR_LIVE_REPLAY_TRUNCATED';

function warning(code: WarningCode, params: Record<string, unknown>): string {
  return frame('warning', { code, detail: new FerryError(code, params).message, ...params });
}

function expiredFrame(reason: string): string {
  return frame('session_expired', {
    code: 'FERRY_ERR_LIVE_SESSION_EXPIRED',
    detail: new FerryError('FERRY_ERR_LIVE_SESSION_EXPIRED', { reason }).message,
    reason,
    resync: 'Read the current state over REST, then subscribe again.',
  });
}

/** The frames to send, in order, and how many messages the client missed. */
export function greet(
  a: Attachment,
  link: SessionLink,
  settings: GreetingSettings,
): { frames: string[]; missed: number } {
  const { session } = a;
  const replay = session.outbox.after(a.cursor);
  session.restoring = false;
  session.detachedAt = undefined;
  session.link = link;
  const missed = replay.length + a.dropped;
  const frames: string[] = [];
  if (a.expired !== undefined) frames.push(expiredFrame(a.expired));
  frames.push(
    frame('connection_established', {
      session_token: a.token,
      session_id: session.id,
      session_recognized: a.recognized,
      context_available: a.recognized,
      recovered: a.recovered,
      missed_count: missed,
      replayed_count: replay.length,
      dropped_count: a.dropped,
      last_offset: a.cursor,
      location_change_detected: a.locationChanged,
      security_checks_passed: a.securityPassed,
      subscriptions: [...session.subscriptions.keys()],
      server_time: new Date(settings.now).toISOString(),
      heartbeat_seconds: settings.heartbeatSeconds,
      limits: {
        max_message_bytes: settings.maxMessageBytes,
        messages_per_minute: settings.messagesPerMinute,
      },
    }),
  );
  if (!a.securityPassed) frames.push(warning('FERRY_ERR_LIVE_SESSION_FOREIGN', {}));
  if (a.dropped > 0) {
    const params = { dropped: a.dropped, missed, replayed: replay.length };
    frames.push(warning('FERRY_ERR_LIVE_REPLAY_TRUNCATED', params));
  }
  for (const item of replay) frames.push(item.frame);
  return { frames, missed };
}
