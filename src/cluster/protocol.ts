/**
 * Protocol negotiation: the server's protocol version and capability list are data here; a
 * client sends `Ferry-Protocol: MAJOR.MINOR` and `Ferry-Capabilities: a,b`, every answer carries
 * the server's version and the capabilities both sides have.
 */
import { FerryError } from '../errors/index.ts';

/** The cluster API's protocol version. A new major breaks clients; a new minor adds only. */
export const protocolVersion = '1.0';

/** What this server offers; a client uses a feature only when it is negotiated. */
export const capabilities = [
  'jobs',
  'jobs.idempotency',
  'jobs.wait',
  'jobs.cancel',
  'jobs.zones',
  'live.jobs',
  'live.batch',
  'fencing',
  'redirect',
] as const;

/** The capabilities to announce: the client's intersected with ours, or ours when it sent none. */
export function negotiate(
  clientProtocol: string | undefined,
  clientCapabilities: string | undefined,
): string[] {
  if (clientProtocol !== undefined) {
    const match = /^(\d{1,4})\.(\d{1,4})$/.exec(clientProtocol.trim());
    const serverMajor = protocolVersion.split('.')[0];
    if (!match || match[1] !== serverMajor) {
      throw new FerryError('FERRY_ERR_PROTOCOL_UNSUPPORTED', {
        client: clientProtocol.slice(0, 20),
        server: protocolVersion,
      });
    }
  }
  if (clientCapabilities === undefined) return [...capabilities];
  const wanted = new Set(clientCapabilities.split(',').map((c) => c.trim()));
  return capabilities.filter((c) => wanted.has(c));
}
