import type { S3Client } from '@aws-sdk/client-s3';
import type { ClusterConfig, Config, ObjectStoreConfig } from '../config/config.js';
import { sameBucket, type Sameness } from './same-bucket.js';
import { sameServer } from './same-server.js';

/** What asking the systems found: problems (exit 2, like any config problem) and questions it could not ask. */
export interface IdentityFindings {
  problems: string[];
  unknown: string[];
}

/**
 * The checks of `pachbackup config check` that spelling cannot decide, asked of the buckets and servers
 * themselves (see sameBucket, sameServer):
 * - no backup store is a bucket a configured cluster runs on (its own, or another cluster's), however the
 *   endpoints are spelt — the marker is written into the backup store, which pachbackup owns;
 * - no two clusters run on the same database of the same PostgreSQL server (asked only when a database name
 *   appears in both).
 * A backup store shared by several clusters is fine: its pool is collected from every backup in it.
 */
export async function checkConfigIdentities(config: Config, deps: { clientFor(store: ObjectStoreConfig): S3Client; signal?: AbortSignal }): Promise<IdentityFindings> {
  const findings: IdentityFindings = { problems: [], unknown: [] };
  const clusters = Object.values(config.clusters);
  const signal = deps.signal ? { signal: deps.signal } : {};
  const record = (answer: Sameness, problem: string, question: string) => {
    if (answer.verdict === 'same') findings.problems.push(`${problem} (${answer.how})`);
    else if (answer.verdict === 'unknown') findings.unknown.push(`${question}: ${answer.how}`);
  };

  for (const cluster of clusters) {
    for (const other of clusters) {
      const answer = await sameBucket(
        { store: cluster.backupStore, s3: deps.clientFor(cluster.backupStore) },
        { store: other.objectStore, s3: deps.clientFor(other.objectStore) },
        { markerPrefix: cluster.backupStore.prefix, ...signal },
      );
      const whose = other.name === cluster.name ? "the cluster's own bucket" : `the bucket cluster ${other.name} runs on`;
      record(
        answer,
        `clusters.${cluster.name}.backupStore: s3://${cluster.backupStore.bucket}${at(cluster.backupStore)} is ${whose}, s3://${other.objectStore.bucket}${at(other.objectStore)}; expected a separate bucket, so that a backup survives what happens to the cluster's data`,
        `is clusters.${cluster.name}.backupStore the bucket cluster ${other.name} runs on`,
      );
    }
  }

  for (const [i, a] of clusters.entries()) {
    for (const b of clusters.slice(i + 1)) {
      const shared = a.postgres.databases.filter((db) => b.postgres.databases.includes(db));
      if (shared.length === 0) continue;
      const answer = await sameServer({ config: a.postgres, database: shared[0]! }, { config: b.postgres, database: shared[0]! }, signal);
      record(
        answer,
        `clusters.${b.name}.postgres: database${shared.length > 1 ? 's' : ''} ${shared.map((d) => `"${d}"`).join(', ')} on ${where(b)} ${shared.length > 1 ? 'are' : 'is'} cluster ${a.name}'s (${where(a)}); expected each cluster on databases of its own`,
        `do clusters ${a.name} and ${b.name} share databases ${shared.join(', ')}`,
      );
    }
  }
  return findings;
}

function at(store: ObjectStoreConfig): string {
  return store.endpoint ? ` at ${store.endpoint}` : '';
}

function where(cluster: ClusterConfig): string {
  return `${cluster.postgres.host}:${cluster.postgres.port}`;
}
