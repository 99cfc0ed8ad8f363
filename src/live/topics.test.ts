/** The topic table and its authorization rules, without a server. */
import { describe, expect, it } from 'vitest';
import type { Principal } from '../auth/index.ts';
import { makeOutbox } from './outbox.ts';
import { parseMessage } from './protocol.ts';
import { covers, maySee, parseTopic, routeEvent, subscribeProblem } from './topics.ts';

const user: Principal = { kind: 'user', role: 'user', id: 7, userId: 7, label: 'user 7' };
const admin: Principal = { kind: 'api_key', role: 'admin', id: 1, userId: undefined, label: 'k' };
const keyWithoutUser: Principal = { ...admin, role: 'user' };

describe('topic table', () => {
  it('routes each carried domain event to its topics and owner', () => {
    expect(
      routeEvent('transfer:status', { transferId: 3, ownerId: 7, status: 'paused', error: null }),
    ).toEqual({ topics: ['transfer:3', 'watch:3'], ownerId: 7 });
    expect(routeEvent('watch:cycle', { transferId: 3, ownerId: null, cycle: 2 })).toEqual({
      topics: ['watch:3'],
      ownerId: null,
    });
    expect(
      routeEvent('run:file', { pipeline: 'p', runId: 'r', file: 'f', remitter: 'x', status: 'ok' }),
    ).toEqual({
      topics: ['pipeline:p'],
      ownerId: null,
    });
    expect(routeEvent('event:accepted', { ids: [1], userId: 7, taskId: null })).toEqual({
      topics: ['events'],
      ownerId: 7,
    });
    expect(routeEvent('job:completed', { name: 'n', id: 'j', output: null })).toEqual({
      topics: ['queue:j'],
      ownerId: null,
    });
    expect(routeEvent('lease:lost', { name: 'n', holder: 'h', token: 1 })).toBeUndefined();
  });

  it('parses topic names, wildcards included, and refuses unknown ones', () => {
    expect(parseTopic('transfer:12')).toEqual({
      topic: 'transfer:12',
      family: 'transfer',
      id: '12',
    });
    expect(parseTopic('pipeline:*')?.id).toBe('*');
    expect(parseTopic('events')?.id).toBeUndefined();
    expect(parseTopic('jobs')?.id).toBeUndefined();
    expect(parseTopic('jobs:0b7c')?.id).toBe('0b7c');
    for (const bad of [
      'transfer',
      'transfer:',
      'jobs:',
      'cluster:x',
      'events:1',
      'nope:1',
      'transfer:a b',
      'system:x',
    ]) {
      expect(parseTopic(bad), bad).toBeUndefined();
    }
    expect(covers('transfer:*', 'transfer:9')).toBe(true);
    expect(covers('transfer:*', 'watch:9')).toBe(false);
    expect(covers('transfer:9', 'transfer:90')).toBe(false);
  });

  it('lets users subscribe to their families but not to admin ones', () => {
    const name = (t: string) => {
      const parsed = parseTopic(t);
      if (!parsed) throw new Error(`not a topic: ${t}`);
      return parsed;
    };
    expect(subscribeProblem(user, name('transfer:*'))).toBeUndefined();
    expect(subscribeProblem(user, name('pipeline:x'))).toMatch(/admins only/);
    expect(subscribeProblem(user, name('queue:*'))).toMatch(/admins only/);
    expect(subscribeProblem(admin, name('queue:*'))).toBeUndefined();
    expect(subscribeProblem(user, name('jobs'))).toBeUndefined();
    expect(subscribeProblem(user, name('jobs:*'))).toBeUndefined();
    expect(subscribeProblem(keyWithoutUser, name('events'))).toMatch(/has no user/);
    expect(subscribeProblem(keyWithoutUser, name('system'))).toBeUndefined();
  });

  it('shows a message to its owner and to admins only', () => {
    expect(maySee(user, 'transfer:1', 7)).toBe(true);
    expect(maySee(user, 'transfer:1', 8)).toBe(false);
    expect(maySee(user, 'transfer:1', null)).toBe(false);
    expect(maySee(user, 'system', null)).toBe(true);
    expect(maySee(user, 'jobs:1', null)).toBe(false);
    expect(maySee(admin, 'transfer:1', 8)).toBe(true);
  });
});

describe('outbox', () => {
  it('keeps unacknowledged messages in offset order, bounded, and reports a gap', () => {
    const outbox = makeOutbox(3);
    for (const offset of [10, 12, 11, 12, 14]) outbox.push(offset, `m${offset}`);
    expect(outbox.after(0).map((o) => o.offset)).toEqual([11, 12, 14]);
    expect(outbox.lostAfter(9)).toBe(true);
    expect(outbox.lostAfter(10)).toBe(false);
    outbox.ack(12);
    expect(outbox.after(0).map((o) => o.offset)).toEqual([14]);
    expect(outbox.chars).toBe(3);
  });
});

describe('parseMessage', () => {
  it('accepts a command and names the first problem of a bad one', () => {
    expect(parseMessage('{"type":"ack","payload":{"offset":3}}')).toEqual({
      ok: true,
      command: { type: 'ack', payload: { offset: 3 }, id: undefined },
    });
    const bad = parseMessage('{"type":"ack","payload":{"offset":-1},"id":9}');
    expect(bad).toMatchObject({
      ok: false,
      id: 9,
      problem: { code: 'FERRY_ERR_LIVE_INVALID_PAYLOAD', params: { type: 'ack' } },
    });
    expect(!bad.ok && bad.problem.params.reason).toMatch(/^payload\.offset /);
    expect(parseMessage('{"type":"ping","id":{}}')).toMatchObject({
      ok: false,
      problem: { params: { reason: expect.stringMatching(/^id must be/) } },
    });
  });
});
