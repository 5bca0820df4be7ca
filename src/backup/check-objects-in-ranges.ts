import type { FanOut } from '../fan-out/fan-out.js';
import { planRanges, type FanOutSettings } from '../fan-out/plan-ranges.js';
import type { ObjectsCheck } from './verify-backup.js';

/**
 * The object check of `verifyBackup` split into key ranges run by the workers, for step `step` of run `runId`:
 * each range merges its slice of the inventory with its slice of the pool listing, so listing a pool of
 * millions of objects is shared out instead of done page by page in one process. Backups with fewer objects
 * than `settings.minObjects` are checked in one pass as before (the check returns undefined for them).
 * `storeOf` names the configured cluster whose backup store holds the backup.
 */
export function checkObjectsInRanges(options: { fanOut: FanOut; runId: string; step: string; storeOf: string; settings: FanOutSettings; signal: AbortSignal }): ObjectsCheck {
  const { fanOut, runId, step, storeOf, settings, signal } = options;
  return async (manifest, onProgress) => {
    const ranges = planRanges(manifest.objects.count, settings, await fanOut.capacity());
    if (!ranges) return undefined;
    return {
      async check() {
        const result = await fanOut.run({
          runId,
          step,
          work: { kind: 'pool-verify', backup: { cluster: storeOf, role: 'backup' }, inventory: { key: manifest.objects.inventory.key } },
          ranges,
          signal,
          onProgress: ({ totals }) => onProgress({ checked: totals?.checked ?? 0 }),
        });
        return result.totals;
      },
    };
  };
}
