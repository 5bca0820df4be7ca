/**
 * Why a run must stop although nobody cancelled it: the process running it is shutting down (SIGTERM, with the
 * deadline by which it exits), or the run lost its cluster lease (at once: another process may take the cluster
 * over). The runner decides how to stop from where the run is — see `runSteps`.
 */
export interface Interruption {
  /** For people: "worker shutting down", "lost its cluster lock". */
  reason: string;
  /** Epoch ms by which the run must have stopped; absent: as soon as it is safe. */
  deadline?: number;
  /** How a run that fails because of it ends: `cancelled` (asked to stop) or `failed` (a fault). Default cancelled. */
  phase?: 'cancelled' | 'failed';
}

/** Where interruptions come from, as the runner reads them: a signal that fires at the first, and the strictest so far. */
export interface Interruptions {
  readonly signal: AbortSignal;
  current(): Interruption | undefined;
}

/**
 * Collects interruptions from several sources (a shutdown, a lost lease) into one. The one with the earliest
 * deadline wins: one without a deadline beats all.
 */
export function createInterruptions(): Interruptions & { interrupt(interruption: Interruption): void } {
  const controller = new AbortController();
  let current: Interruption | undefined;
  const urgency = (i: Interruption) => i.deadline ?? Number.NEGATIVE_INFINITY;
  return {
    signal: controller.signal,
    current: () => current,
    interrupt(interruption) {
      if (!current || urgency(interruption) < urgency(current)) current = interruption;
      controller.abort(interruption.reason);
    },
  };
}

/**
 * The interruptions of one run: the process's shutdown (SIGTERM, with its deadline) from the start, and whatever
 * the caller adds with `interrupt` (a lost lease). `dispose` stops listening when the run ends.
 */
export function runInterruptions(shutdown?: { signal: AbortSignal; deadline(): number }) {
  const interruptions = createInterruptions();
  const onShutdown = () => interruptions.interrupt({ reason: `worker shutting down (${String(shutdown!.signal.reason ?? 'stopping')})`, deadline: shutdown!.deadline() });
  if (shutdown?.signal.aborted) onShutdown();
  else shutdown?.signal.addEventListener('abort', onShutdown, { once: true });
  return { ...interruptions, dispose: () => shutdown?.signal.removeEventListener('abort', onShutdown) };
}

/**
 * What a run's downtime estimate (as kept with the run: `expectedSeconds`, `highSeconds`, `perStep`) says each
 * step takes, scaled to the high end of its range — deciding whether a paused run can finish before a
 * deadline must not bet on the average. Undefined for a step it does not name, or without an estimate.
 */
export function expectedStepSeconds(estimate: unknown): (step: string) => number | undefined {
  const e = estimate as { expectedSeconds?: number; highSeconds?: number; perStep?: { step: string; expectedSeconds: number }[] } | null | undefined;
  const perStep = Array.isArray(e?.perStep) ? e.perStep : [];
  const scale = e?.expectedSeconds && e.highSeconds && e.highSeconds > e.expectedSeconds ? e.highSeconds / e.expectedSeconds : 1;
  return (step) => {
    const found = perStep.find((p) => p.step === step);
    return found && Number.isFinite(found.expectedSeconds) ? found.expectedSeconds * scale : undefined;
  };
}
