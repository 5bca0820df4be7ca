import { setTimeout as sleep } from 'node:timers/promises';
import { OPS, type SlackFixture } from './slack-fixture.js';

/** Waits until the run's step `name` is running (or past it), as the state database records it. */
export async function stepReached(f: SlackFixture, runId: string, name: string, timeoutMs = 120_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    const step = (await f.state.runs.getSteps(runId)).find((s) => s.name === name);
    if (step && step.state !== 'pending') return;
    await sleep(5);
  }
  throw new Error(`step ${name} of ${runId} never started`);
}

/** The replies in the run's thread in the ops channel, oldest first. */
export const threadOf = (f: SlackFixture, runId: string): string[] => f.messagesIn(OPS).find((m) => m.text.includes(runId))?.replies.map((r) => r.text) ?? [];
