import { setImmediate as afterPendingIo } from 'node:timers/promises';

/**
 * Acknowledges a Slack request, then waits until the requests that have already arrived were read (and, reaching
 * their own `ackFirst`, acknowledged) before this one's work starts. Node runs a request's continuation right after
 * its `ack()`; without the wait, 50 commands arriving at once are acknowledged one by one between the others'
 * work (database writes, rendering, answers), and the last waits for all of it — Slack gives up at 3 s. With it,
 * work waits for the next turn of the event loop, after the I/O already pending.
 */
export async function ackFirst(ack: () => Promise<void>): Promise<void> {
  await ack();
  await afterPendingIo();
}

/** Lets the requests that have already arrived be acknowledged before this one's work (events Bolt acknowledged itself). */
export async function afterAcks(): Promise<void> {
  await afterPendingIo();
}
