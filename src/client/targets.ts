/**
 * Which node a call goes to. Round robin over healthy nodes, preferring the client's zone; calls
 * about a job go to the node that owns it (sticky) while that node is healthy; a node that
 * failed is skipped until it answers a ping again; a node of another protocol major is never used.
 */

/** What the client knows about one node. */
export interface NodeState {
  url: string;
  /** From its ping; undefined until it answered one. */
  nodeId: string | undefined;
  zone: string | undefined;
  /** The server's protocol version, from any answer's Ferry-Protocol header. */
  protocol: string | undefined;
  /** The negotiated capabilities (ours ∩ the node's), from Ferry-Capabilities. */
  capabilities: ReadonlySet<string> | undefined;
  /** False after a failure that says the node is unreachable, until a ping answers. */
  healthy: boolean;
  /** Another protocol major: never used. */
  incompatible: boolean;
  /** Why it is incompatible (both versions), for the error when no node is left. */
  mismatch: string | undefined;
  /** When it last failed (clock ms). */
  failedAt: number | undefined;
}

export type Targets = ReturnType<typeof makeTargets>;

export function makeTargets(urls: readonly string[], zone: string | undefined) {
  const nodes = new Map<string, NodeState>();
  const sticky = new Map<string, string>();
  let turn = 0;

  function add(url: string): NodeState {
    let node = nodes.get(url);
    if (!node) {
      node = {
        url,
        nodeId: undefined,
        zone: undefined,
        protocol: undefined,
        capabilities: undefined,
        healthy: true,
        incompatible: false,
        mismatch: undefined,
        failedAt: undefined,
      };
      nodes.set(url, node);
    }
    return node;
  }
  for (const url of urls) add(url);

  const usable = (n: NodeState) => n.healthy && !n.incompatible;

  /**
   * The node for the next call: the job's owner when it is usable, offers `capability` and is
   * not excluded, else the next in round robin among such nodes (those of our zone first).
   */
  function pick(
    jobId?: string,
    exclude: ReadonlySet<string> = new Set(),
    capability?: string,
  ): NodeState | undefined {
    // A feature a node did not negotiate is not used on it (unknown until its first answer).
    const offers = (n: NodeState) =>
      capability === undefined || n.capabilities === undefined || n.capabilities.has(capability);
    const owner = jobId === undefined ? undefined : nodes.get(sticky.get(jobId) ?? '');
    if (owner && usable(owner) && offers(owner) && !exclude.has(owner.url)) return owner;
    const candidates = [...nodes.values()].filter(
      (n) => usable(n) && offers(n) && !exclude.has(n.url),
    );
    const local = zone === undefined ? [] : candidates.filter((n) => n.zone === zone);
    const pool = local.length > 0 ? local : candidates;
    if (pool.length === 0) return undefined;
    const node = pool[turn % pool.length];
    turn = (turn + 1) % 1_000_000_007;
    return node;
  }

  return {
    pick,
    add,
    get: (url: string) => nodes.get(url),
    all: () => [...nodes.values()],
    /** Calls about `jobId` go to `url` from now on (it took the job, or took it over). */
    stick(jobId: string, url: string): void {
      add(url);
      sticky.set(jobId, url);
    },
    stickyFor: (jobId: string) => sticky.get(jobId),
    forget(jobId: string): void {
      sticky.delete(jobId);
    },
    /** The node could not be reached: skip it until a ping answers. */
    markFailed(url: string, at: number): void {
      const node = nodes.get(url);
      if (!node) return;
      node.healthy = false;
      node.failedAt = at;
    },
    markHealthy(url: string, info: { nodeId?: string; zone?: string } = {}): void {
      const node = add(url);
      node.healthy = true;
      node.failedAt = undefined;
      if (info.nodeId !== undefined) node.nodeId = info.nodeId;
      if (info.zone !== undefined) node.zone = info.zone;
    },
    /** Records what the node's answer said about its protocol and capabilities. */
    negotiated(url: string, protocol: string | undefined, capabilities: string | undefined): void {
      const node = nodes.get(url);
      if (!node) return;
      if (protocol !== undefined) node.protocol = protocol;
      if (capabilities !== undefined) {
        node.capabilities = new Set(
          capabilities
            .split(',')
            .map((c) => c.trim())
            .filter(Boolean),
        );
      }
    },
    markIncompatible(url: string, protocol: string | undefined, why: string): void {
      const node = add(url);
      node.incompatible = true;
      node.mismatch = why;
      if (protocol !== undefined) node.protocol = protocol;
    },
    /** Nodes that failed and should be pinged. */
    down: () => [...nodes.values()].filter((n) => !n.healthy && !n.incompatible),
  };
}
