/**
 * Keeps a lease alive: calls `renew` every ttl/3 and `onLost` once when the lease is gone — `renew` answered false
 * (it is another's, or was deleted), or no renewal succeeded for a whole TTL (its store unreachable, or a command
 * waiting for it never answering), after which anyone may have taken what it guarded. Returns the function that
 * stops renewing.
 */
export function keepLeaseAlive(renew: () => Promise<boolean>, ttlMs: number, onLost: () => void): () => void {
  let renewed = Date.now();
  let inFlight = false;
  let timer: NodeJS.Timeout | undefined;
  const lost = () => {
    if (!timer) return;
    clearInterval(timer);
    timer = undefined;
    onLost();
  };
  timer = setInterval(() => {
    if (Date.now() - renewed >= ttlMs) return lost();
    if (inFlight) return;
    inFlight = true;
    renew().then(
      (held) => {
        inFlight = false;
        if (held) renewed = Date.now();
        else lost();
      },
      () => {
        inFlight = false; // the store unreachable for a moment: the next renewal decides
      },
    );
  }, Math.max(500, Math.floor(ttlMs / 3)));
  timer.unref();
  return () => {
    if (timer) clearInterval(timer);
    timer = undefined;
  };
}
