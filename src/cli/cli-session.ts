import { hostname, userInfo } from 'node:os';
import { redactSecrets, scrubSecretText } from '../secrets/redact-secrets.js';

/** A command's answer on stdout: for people, or one JSON object for scripts — with every secret left out (see redactSecrets). */
export function print(json: boolean | undefined, value: unknown, human: () => string): void {
  console.log(json ? JSON.stringify(redactSecrets(value), null, 2) : scrubSecretText(human()));
}

/** Who runs a CLI command, for the audit log and a run's requester. */
export function cliActor(): string {
  return `cli:${userInfo().username}@${hostname()}`;
}

/**
 * Ctrl-C (or SIGTERM) for a command that changes a cluster: the first one aborts `signal` — the run undoes what it
 * did, resuming the cluster — and says so; a second one quits at once (the next pachbackup start then recovers).
 * Handlers are installed by `listen()` and removed by `dispose()`.
 */
export function cancelOnSignal(message: string) {
  const controller = new AbortController();
  const onSignal = () => {
    if (controller.signal.aborted) process.exit(130);
    console.error(`\n${message} Ctrl-C again to quit at once.`);
    controller.abort();
  };
  return {
    signal: controller.signal,
    listen() {
      process.on('SIGINT', onSignal);
      process.on('SIGTERM', onSignal);
    },
    dispose() {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    },
  };
}
