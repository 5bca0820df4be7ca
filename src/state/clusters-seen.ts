import type pg from 'pg';

/**
 * When pachbackup first saw each configured cluster (state database table `clusters_seen`). A cluster added to
 * the config yesterday cannot be blamed for having no backup from last week: the stale-backup check measures
 * "expected every 26 h" from here at the earliest.
 */
export interface ClustersSeen {
  /**
   * The first-seen time of each of `clusters`, recording `now` for those never seen before (atomically: two
   * processes meeting a new cluster at once agree on one time).
   */
  firstSeen(clusters: readonly string[], now: Date): Promise<Map<string, Date>>;
}

/** The first-seen times kept in the state database. */
export function createClustersSeen(pool: Pick<pg.Pool, 'query'>): ClustersSeen {
  return {
    async firstSeen(clusters, now) {
      if (clusters.length === 0) return new Map();
      await pool.query(`INSERT INTO clusters_seen (cluster, first_seen_at) SELECT unnest($1::text[]), $2 ON CONFLICT (cluster) DO NOTHING`, [[...clusters], now]);
      const { rows } = await pool.query<{ cluster: string; first_seen_at: Date }>(`SELECT cluster, first_seen_at FROM clusters_seen WHERE cluster = ANY($1::text[])`, [[...clusters]]);
      return new Map(rows.map((r) => [r.cluster, r.first_seen_at]));
    },
  };
}
