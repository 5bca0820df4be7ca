import { existsSync, readdirSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { isRunning } from './processes.js';
import { stopAll } from './sandbox-up.js';
import { readSandboxState } from './sandbox-state.js';

/**
 * Stops exactly the processes `sandbox.json` names (by PID) and removes the sandbox's data; logs stay in
 * `<dir>/logs` for a look afterwards. Returns the names of what it stopped.
 */
export async function sandboxDown(dirOption: string): Promise<{ stopped: string[] }> {
  const dir = resolve(dirOption);
  const state = readSandboxState(dir);
  if (!state) return { stopped: [] };
  const stopped = Object.entries(state.pids)
    .filter(([, pid]) => isRunning(pid))
    .map(([name]) => name);
  await stopAll(state.pids);
  if (existsSync(dir)) {
    for (const entry of readdirSync(dir)) if (entry !== 'logs') rmSync(join(dir, entry), { recursive: true, force: true });
  }
  return { stopped };
}
