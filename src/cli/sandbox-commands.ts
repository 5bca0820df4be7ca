import { InvalidArgumentError, type Command } from 'commander';
import { PachbackupError } from '../errors.js';
import { createLogger } from '../log.js';
import { SANDBOX_SERVICES, type SandboxService } from '../sandbox/launch-record.js';
import { describeSandbox } from '../sandbox/describe-sandbox.js';
import { runSandboxDemo } from '../sandbox/sandbox-demo.js';
import { sandboxDown } from '../sandbox/sandbox-down.js';
import { DEFAULT_SANDBOX_DIR } from '../sandbox/sandbox-state.js';
import { sandboxStatus } from '../sandbox/sandbox-status.js';
import { sandboxUp } from '../sandbox/sandbox-up.js';
import type { DatasetSize } from '../sandbox/seed/chunks.js';

/**
 * `PACHBACKUP_SANDBOX_FAIL=<service>`: a test hook that makes that service's start fail for real (its port is
 * taken), to watch `sandbox up` stop everything it had started.
 */
function failAtFromEnv(env: NodeJS.ProcessEnv = process.env): SandboxService | undefined {
  const value = env.PACHBACKUP_SANDBOX_FAIL;
  if (value === undefined || value === '') return undefined;
  if (!(SANDBOX_SERVICES as readonly string[]).includes(value)) {
    throw new PachbackupError('usage', `PACHBACKUP_SANDBOX_FAIL=${value} names no sandbox service`, { hint: `use one of ${SANDBOX_SERVICES.join(', ')}, or unset it` });
  }
  return value as SandboxService;
}

/** An AbortSignal aborted by the first Ctrl-C (or SIGTERM) while `fn` runs: a sandbox half started is stopped again. */
async function interruptible<T>(fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const controller = new AbortController();
  const abort = () => controller.abort();
  process.once('SIGINT', abort);
  process.once('SIGTERM', abort);
  try {
    return await fn(controller.signal);
  } finally {
    process.off('SIGINT', abort);
    process.off('SIGTERM', abort);
  }
}

function parseSlackMode(value: string): 'socket' | 'http' {
  if (value !== 'socket' && value !== 'http') throw new InvalidArgumentError('expected socket (Socket Mode, as a real install) or http');
  return value;
}

function parseSize(value: string): DatasetSize {
  if (value !== 'small' && value !== 'bench') throw new InvalidArgumentError('expected small or bench');
  return value;
}

/** `pachbackup sandbox up|status|down|demo`: the whole system on one machine, on loopback. */
export function registerSandboxCommands(program: Command): void {
  const sandbox = program
    .command('sandbox')
    .description('run PostgreSQL, Redis, S3 and Kubernetes/Slack simulators on this machine, seeded like a Pachyderm cluster')
    .option('--dir <dir>', 'where the sandbox keeps its state', DEFAULT_SANDBOX_DIR);
  const dirOf = (cmd: Command) => (cmd.optsWithGlobals() as { dir: string }).dir;

  sandbox
    .command('up')
    .description('start the sandbox (in the foreground until Ctrl-C, or --detach)')
    .option('--detach', 'leave it running in the background and return')
    .option('--size <size>', 'small (a few hundred objects) or bench (hundreds of MiB)', parseSize, 'small')
    .option('--slack-mode <mode>', 'how the Slack app receives what people do: socket (Socket Mode, as a real install) or http', parseSlackMode, 'socket')
    .action(async (opts: { detach?: boolean; size: DatasetSize; slackMode: 'socket' | 'http' }, cmd: Command) => {
      const logger = createLogger({ level: process.env.LOG_LEVEL ?? 'warn' });
      const dir = dirOf(cmd);
      const failAt = failAtFromEnv();
      const state = await interruptible((signal) => sandboxUp({ dir, size: opts.size, slackMode: opts.slackMode, logger, signal, ...(failAt ? { failAt } : {}) }));
      console.log(describeSandbox(state));
      if (opts.detach) return;
      console.log('\nRunning; Ctrl-C stops it.');
      await new Promise<void>((resolve) => {
        process.once('SIGINT', resolve);
        process.once('SIGTERM', resolve);
      });
      const { stopped } = await sandboxDown(dir);
      console.log(`Stopped ${stopped.join(', ')}.`);
    });

  sandbox
    .command('status')
    .description('show what the sandbox runs and whether each service answers')
    .option('--json', 'print JSON')
    .action(async (opts: { json?: boolean }, cmd: Command) => {
      const status = await sandboxStatus(dirOf(cmd));
      if (!status) {
        if (opts.json) console.log(JSON.stringify({ running: false }));
        else console.log('No sandbox here. Start one with `pachbackup sandbox up --detach`.');
        process.exitCode = 3;
        return;
      }
      const healthy = status.services.every((s) => s.running && s.listening);
      if (opts.json) {
        console.log(JSON.stringify({ running: healthy, services: status.services, state: status.state }, null, 2));
      } else {
        console.log(describeSandbox(status.state));
        console.log('');
        for (const s of status.services) {
          console.log(`  ${s.name.padEnd(11)} pid ${String(s.pid).padEnd(8)} ${s.running ? 'running' : 'STOPPED'}  ${s.endpoint ? `${s.endpoint} ${s.listening ? 'answers' : 'NOT LISTENING'}` : '(no port)'}`);
        }
      }
      if (!healthy) process.exitCode = 1;
    });

  sandbox
    .command('down')
    .description('stop every process the sandbox started and remove its data (logs stay)')
    .action(async (_opts: unknown, cmd: Command) => {
      const { stopped } = await sandboxDown(dirOf(cmd));
      console.log(stopped.length ? `Stopped ${stopped.join(', ')}.` : 'Nothing was running.');
    });

  sandbox
    .command('demo')
    .description('bring the sandbox up, show it working end to end as a person would see it, and take it down')
    .option('--size <size>', 'small or bench', parseSize, 'small')
    .option('--slack-mode <mode>', 'socket (Socket Mode, as a real install) or http', parseSlackMode, 'socket')
    .action(async (opts: { size: DatasetSize; slackMode: 'socket' | 'http' }, cmd: Command) => {
      await runSandboxDemo({ dir: dirOf(cmd), size: opts.size, slackMode: opts.slackMode });
    });
}
