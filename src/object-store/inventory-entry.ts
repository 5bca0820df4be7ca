/**
 * One object of the cluster bucket as a backup records it: its key in the cluster bucket (relative to the
 * cluster store's prefix), its size and ETag as listed, and `storeKey` — the full key in the backup bucket
 * where its bytes live (its pool key, or a conflict location). A restore copies `storeKey` back to `key`.
 */
export interface InventoryEntry {
  key: string;
  size: number;
  /** Unquoted ETag as the cluster store listed it. */
  etag: string;
  storeKey: string;
}
