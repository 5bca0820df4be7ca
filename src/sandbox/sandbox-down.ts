import { copyFileSync, existsSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { readStartingRecord, removeOwnDir, stopAll } from './launch-record.js';
import { isRunning } from './processes.js';
import { readSandboxState } from './sandbox-state.js';

/**
 * Stops exactly the processes `sandbox.json` names (by PID) — and those of an `up` that died while starting
 * (`starting.json`) — and removes the sandbox's data, PostgreSQL's data directory included wherever it lives;
 * logs stay in `<dir>/logs` for a look afterwards (PostgreSQL's as `postgres.log`). Returns the names of what it
 * stopped.
 */
export async function sandboxDown(dirOption: string): Promise<{ stopped: string[] }> {
  const dir = resolve(dirOption);
  const state = readSandboxState(dir);
  const unfinished = readStartingRecord(dir);
  if (!state && !unfinished) return { stopped: [] };
  const pids = { ...unfinished?.pids, ...state?.pids };
  const stopped = Object.entries(pids)
    .filter(([, pid]) => pid !== undefined && isRunning(pid))
    .map(([name]) => name);
  await stopAll(pids);
  const postgresLog = state?.postgres.dataDir ? join(state.postgres.dataDir, 'server.log') : undefined;
  if (postgresLog && existsSync(postgresLog)) {
    mkdirSync(join(dir, 'logs'), { recursive: true });
    copyFileSync(postgresLog, join(dir, 'logs', 'postgres.log'));
  }
  for (const own of [...(state?.postgres.dataDir ? [state.postgres.dataDir] : []), ...(unfinished?.ownDirs ?? [])]) removeOwnDir(dir, own);
  if (existsSync(dir)) {
    for (const entry of readdirSync(dir)) if (entry !== 'logs') rmSync(join(dir, entry), { recursive: true, force: true });
  }
  return { stopped };
}
