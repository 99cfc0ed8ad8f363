/**
 * Host key checking against an OpenSSH known_hosts file: plain host patterns, `[host]:port`
 * entries and hashed (`|1|salt|hash`) names. A server is accepted only when the key it presents
 * is listed for its host; `@revoked` lines refuse a key, `@cert-authority` lines are not used.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

/** One usable line of a known_hosts file. */
interface Entry {
  hosts: string;
  keyType: string;
  key: Buffer;
  revoked: boolean;
}

function parse(text: string): Entry[] {
  const out: Entry[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const fields = line.split(/\s+/);
    let revoked = false;
    if (fields[0]?.startsWith('@')) {
      const marker = fields.shift();
      if (marker === '@cert-authority') continue;
      revoked = marker === '@revoked';
    }
    const [hosts, keyType, key] = fields;
    if (!hosts || !keyType || !key) continue;
    out.push({ hosts, keyType, key: Buffer.from(key, 'base64'), revoked });
  }
  return out;
}

/** The name OpenSSH records for a host: `host` on port 22, `[host]:port` otherwise. */
export function hostName(host: string, port: number): string {
  return port === 22 ? host : `[${host}]:${port}`;
}

function globMatch(pattern: string, name: string): boolean {
  const source = pattern
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  return new RegExp(`^${source}$`, 'i').test(name);
}

function hostsMatch(hosts: string, name: string): boolean {
  if (hosts.startsWith('|1|')) {
    const [, , salt, hash] = hosts.split('|');
    if (!salt || !hash) return false;
    const digest = createHmac('sha1', Buffer.from(salt, 'base64')).update(name).digest();
    const expected = Buffer.from(hash, 'base64');
    return expected.length === digest.length && timingSafeEqual(expected, digest);
  }
  let matched = false;
  for (const pattern of hosts.split(',')) {
    if (pattern.startsWith('!')) {
      if (globMatch(pattern.slice(1), name)) return false;
    } else if (globMatch(pattern, name)) matched = true;
  }
  return matched;
}

/**
 * Whether `key` (the SSH wire form of the server's public key) is known for host:port.
 * A revoked key is refused even where another line lists it.
 */
export function knownHostAccepts(text: string, host: string, port: number, key: Buffer): boolean {
  const name = hostName(host, port);
  let accepted = false;
  for (const entry of parse(text)) {
    if (!entry.key.equals(key)) continue;
    if (entry.revoked) return false;
    if (hostsMatch(entry.hosts, name)) accepted = true;
  }
  return accepted;
}
