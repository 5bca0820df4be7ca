import { randomBytes } from 'node:crypto';

/**
 * Ids of restores and drills: `<cluster>-<yyyymmdd>t<hhmmss>z-<kind>-<6 hex>`, sorting by time like backup ids
 * but never parseable as one (`parseBackupId` wants the 4-hex tail right after the stamp).
 */
export function newOperationId(kind: 'restore' | 'drill', cluster: string, at: Date = new Date(), random: () => string = () => randomBytes(3).toString('hex')): string {
  const stamp = at.toISOString().replace(/[-:]/g, '').replace(/\.\d{3}Z$/, 'z').replace('T', 't');
  return `${cluster}-${stamp}-${kind}-${random()}`;
}

/** The random tail of an operation id (for scratch names); the whole id, cleaned, when it has none. */
export function shortIdOf(id: string): string {
  const tail = /-([0-9a-f]{4,})$/.exec(id)?.[1];
  return (tail ?? id.replace(/[^a-z0-9]/gi, '').slice(-8)).toLowerCase();
}
