/**
 * The retry budget: a token bucket shared by every call of one client. A retry costs tokens (a
 * retry after a timeout costs more: the node may still be working), a success earns some back.
 * When most calls fail the bucket empties and errors surface at once instead of multiplying the
 * load on a cluster that is already struggling (the AWS SDK's "standard" retry mode).
 */

export interface RetryBudgetOptions {
  capacity: number;
  retryCost: number;
  timeoutCost: number;
  successRefund: number;
}

export type RetryBudget = ReturnType<typeof makeRetryBudget>;

export function makeRetryBudget(options: RetryBudgetOptions) {
  let tokens = options.capacity;
  return {
    /** Takes the cost of one retry; false (and nothing taken) when the bucket cannot pay. */
    tryAcquire(kind: 'retry' | 'timeout'): boolean {
      const cost = kind === 'timeout' ? options.timeoutCost : options.retryCost;
      if (cost > tokens) return false;
      tokens -= cost;
      return true;
    },
    /** A call succeeded: earn tokens back, up to the capacity. */
    onSuccess(): void {
      tokens = Math.min(options.capacity, tokens + options.successRefund);
    },
    get tokens(): number {
      return tokens;
    },
  };
}
