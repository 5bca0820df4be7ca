/**
 * Slack acknowledgement latency under load (not a test): on the small sandbox — the app and the worker as their
 * own processes, as deployed — sends `/pachbackup status`, `estimate` and `list` through the sandbox's Slack
 * simulator (signed, over HTTP, as Slack sends them), first one alone, then 50 at once, and prints for each the
 * distribution of the time the app took to acknowledge (Slack gives up at 3 s) and of the time until the answer
 * was shown to the person. First, the same through a Bolt app that only acknowledges (`ack-floor-app.ts`): the
 * floor this machine sets, to read the figures against on a busy machine.
 *
 *   npm run bench:acks            (PACHBACKUP_ACK_BENCH_CONCURRENCY=N to change the 50)
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort, nodeEntry, startProcess, stopProcess, waitForLogLine } from '../src/sandbox/processes.js';
import { SANDBOX } from '../src/sandbox/sandbox-config.js';
import { createRemoteSlackDriver, type RemoteSlackDriver } from '../src/sandbox/slack-sim/remote-driver.js';
import { withBenchSandbox } from './bench-support.js';

const concurrency = Number(process.env.PACHBACKUP_ACK_BENCH_CONCURRENCY ?? 50);
const USER = SANDBOX.operators[0];

/** The q-quantile (nearest rank) of sorted values. */
function quantile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}

function distribution(values: number[]): string {
  const sorted = [...values].sort((a, b) => a - b);
  const ms = (v: number) => `${Math.round(v)} ms`.padStart(8);
  return `p50 ${ms(quantile(sorted, 0.5))}  p90 ${ms(quantile(sorted, 0.9))}  p99 ${ms(quantile(sorted, 0.99))}  max ${ms(sorted.at(-1)!)}`;
}

/** Sends `count` `/pachbackup <text>` at once: each acknowledgement's latency and, when `answered`, when each answer was shown. */
async function burst(slack: RemoteSlackDriver, text: string, count: number, channelId: string, answered = true): Promise<{ acks: number[]; answers: number[] }> {
  const before = answered ? (await slack.snapshot()).ephemerals.filter((e) => e.user === USER).length : 0;
  const started = performance.now();
  const results = await Promise.all(Array.from({ length: count }, () => slack.slashCommand({ text, userId: USER, channelId })));
  for (const r of results) {
    if (!r.ok || r.status !== 200 || r.ackMs === undefined) throw new Error(`/pachbackup ${text} was not acknowledged: ${r.error ?? r.status}`);
  }
  // The answers come through response URLs after the acknowledgement: watch them arrive.
  const answers: number[] = [];
  const deadline = started + 60_000;
  while (answered && answers.length < count && performance.now() < deadline) {
    const seen = (await slack.snapshot()).ephemerals.filter((e) => e.user === USER).length - before;
    while (answers.length < Math.min(seen, count)) answers.push(performance.now() - started);
    if (answers.length < count) await sleep(20);
  }
  if (answered && answers.length < count) throw new Error(`only ${answers.length} of ${count} answers to /pachbackup ${text} were shown within 60 s`);
  return { acks: results.map((r) => r.ackMs!), answers };
}

/** The floor: the Slack simulator and a Bolt app that only acknowledges, each in its own process like the sandbox's. */
async function measureFloor(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'pachbackup-ack-floor-'));
  const [simPort, appPort] = await Promise.all([freePort(), freePort()]);
  const secret = 'ack-floor-signing-secret';
  const sim = nodeEntry(new URL('../src/sandbox/slack-sim/main.ts', import.meta.url));
  const simProc = startProcess(sim.command, [...sim.args, '--port', String(simPort), '--signing-secret', secret, '--app-events-url', `http://127.0.0.1:${appPort}/slack/events`], {
    logFile: join(dir, 'slack.log'),
  });
  const app = nodeEntry(new URL('./ack-floor-app.ts', import.meta.url));
  const appProc = startProcess(app.command, app.args, {
    logFile: join(dir, 'app.log'),
    env: { ...process.env, PORT: String(appPort), SLACK_SIGNING_SECRET: secret, SLACK_API_URL: `http://127.0.0.1:${simPort}/api/` },
  });
  try {
    await Promise.all([
      waitForLogLine(join(dir, 'slack.log'), 'slack-sim listening on', { name: 'the Slack simulator', isAlive: simProc.alive, timeoutMs: 60_000 }),
      waitForLogLine(join(dir, 'app.log'), 'ack-floor listening on', { name: 'the floor app', isAlive: appProc.alive, timeoutMs: 60_000 }),
    ]);
    const slack = createRemoteSlackDriver(`http://127.0.0.1:${simPort}`);
    await burst(slack, 'status', 1, SANDBOX.opsChannel, false);
    const acks: number[] = [];
    for (let round = 0; round < 3; round++) {
      await sleep(1000);
      acks.push(...(await burst(slack, 'status', concurrency, SANDBOX.opsChannel, false)).acks);
    }
    console.log(`floor     ×${concurrency}    ack ${distribution(acks)}   (a Bolt app that only acknowledges; 3 bursts)`);
  } finally {
    await Promise.all([stopProcess(appProc.pid), stopProcess(simProc.pid)]);
    rmSync(dir, { recursive: true, force: true });
  }
}

await withBenchSandbox('acks', async (state) => {
  const slack = createRemoteSlackDriver(state.slack.apiUrl.replace(/\/api\/$/, ''));
  const commands = ['status', `estimate ${state.cluster}`, `list ${state.cluster}`];
  // Warm up: the first request of each kind connects the app's clients.
  for (const text of commands) await burst(slack, text, 1, state.slack.opsChannel);
  console.log(`\nAcknowledgement latency of /pachbackup over HTTP (signed by the Slack simulator, app in its own process)`);
  console.log(`"ack": until the app answered the request (Slack gives up at 3 s); "shown": until the reply reached the person\n`);
  await measureFloor();
  for (const text of commands) {
    await sleep(4000); // let a coalesced read expire: each burst starts cold
    const alone = await burst(slack, text, 1, state.slack.opsChannel);
    await sleep(4000);
    const many = await burst(slack, text, concurrency, state.slack.opsChannel);
    const name = text.split(' ')[0]!.padEnd(9);
    console.log(`${name} alone  ack ${Math.round(alone.acks[0]!)} ms, shown ${Math.round(alone.answers[0]!)} ms`);
    console.log(`${name} ×${concurrency}    ack ${distribution(many.acks)}`);
    console.log(`${' '.repeat(9)}        shown ${distribution(many.answers)}`);
  }
});
