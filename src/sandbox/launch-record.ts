import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { basename, join, resolve, sep } from 'node:path';
import { PachbackupError } from '../errors.js';
import { isRunning, stopProcess } from './processes.js';

/** The sandbox's services, in the order `sandbox up` starts them. */
export const SANDBOX_SERVICES = ['postgres', 'redis', 's3', 'kubernetes', 'slack', 'app', 'worker'] as const;
export type SandboxService = (typeof SANDBOX_SERVICES)[number];

/**
 * What a `sandbox up` started so far: each process by service, as soon as it exists, and the folders outside the
 * sandbox's own (PostgreSQL's data directory, as root). Kept in `<dir>/starting.json` while `up` runs, so an `up`
 * that dies half-way (killed, or the machine's power) leaves a record `sandbox down` can stop; the finished
 * `sandbox.json` carries the same PIDs.
 */
export interface LaunchRecord {
  pids: Partial<Record<SandboxService, number>>;
  /** Folders outside the sandbox folder that belong to the sandbox and go with it. */
  ownDirs: string[];
}

export function startingRecordPath(dir: string): string {
  return join(resolve(dir), 'starting.json');
}

export function readStartingRecord(dir: string): LaunchRecord | undefined {
  const path = startingRecordPath(dir);
  if (!existsSync(path)) return undefined;
  try {
    const parsed = JSON.parse(readFileSync(path, 'utf8')) as Partial<LaunchRecord>;
    return { pids: parsed.pids ?? {}, ownDirs: parsed.ownDirs ?? [] };
  } catch (err) {
    throw new PachbackupError('integrity', `${path} is not valid JSON`, { hint: 'stop the processes it named by hand, then remove it', cause: err });
  }
}

/** A record kept on disk as it grows. */
export function createLaunchRecord(dir: string) {
  const record: LaunchRecord = { pids: {}, ownDirs: [] };
  const save = () => writeFileSync(startingRecordPath(dir), `${JSON.stringify(record, null, 2)}\n`, { mode: 0o600 });
  save();
  return {
    record,
    addProcess(service: SandboxService, pid: number): void {
      record.pids[service] = pid;
      save();
    },
    addOwnDir(path: string): void {
      record.ownDirs.push(path);
      save();
    },
    /** The services started so far, in start order. */
    started(): SandboxService[] {
      return SANDBOX_SERVICES.filter((s) => record.pids[s] !== undefined);
    },
    /** `up` finished: sandbox.json holds the record now. */
    done(): void {
      rmSync(startingRecordPath(dir), { force: true });
    },
  };
}

/** Stops processes in reverse start order; PostgreSQL gets SIGINT (its fast shutdown). */
export async function stopAll(pids: Partial<Record<string, number>>): Promise<void> {
  for (const [name, pid] of Object.entries(pids).reverse()) {
    if (pid !== undefined) await stopProcess(pid, { signal: name === 'postgres' ? 'SIGINT' : 'SIGTERM', timeoutMs: 15_000 });
  }
}

/** True when any of the PIDs still runs. */
export function anyRunning(pids: Partial<Record<string, number>>): boolean {
  return Object.values(pids).some((pid) => pid !== undefined && isRunning(pid));
}

/**
 * Removes a folder the sandbox made outside its own folder — only one that is plainly the sandbox's (inside
 * `dir`, or named `pachbackup-postgres-…` as `startPostgres` names them), so a hand-edited record cannot make
 * `sandbox down` delete anything else.
 */
export function removeOwnDir(dir: string, path: string): void {
  const target = resolve(path);
  const inside = target.startsWith(`${resolve(dir)}${sep}`);
  if (!inside && !/^pachbackup-postgres-[A-Za-z0-9]+$/.test(basename(target))) return;
  rmSync(target, { recursive: true, force: true });
}
