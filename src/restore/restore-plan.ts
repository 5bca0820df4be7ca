/**
 * Restore planning: everything a restore will do, decided before anything runs, from the backup store and the
 * target alone. Decisions, for operators and reviewers:
 *
 * - Verification: a backup is restored only if it passes verification. A plan trusts verify.json when it passed
 *   within the last 24 hours (DEFAULT_MAX_VERIFICATION_AGE_MS) and otherwise verifies now (and records verify.json);
 *   a failed verify.json is never trusted, only re-checked. The restore job verifies again as its first real step
 *   (before anything changes), whatever the plan relied on.
 * - Pausing: the target is paused only when the restore replaces state it runs on (its configured databases or its
 *   bucket), and then only around the swap of the databases and a last object copy — the dumps are restored into
 *   staging databases and the objects copied while it runs. A side-by-side restore (new databases, another bucket)
 *   needs no outage: the switch happens when the operator runs the helm command. `pause: true` forces a pause.
 * - Key prefixes: Pachyderm 2.11's AMAZON backend opens the bucket named in storageURL and ignores any prefix;
 *   GOOGLE and MICROSOFT go through gocloud, which honours `?prefix=` (see `prefixSupported`). A restore into a
 *   prefix is refused unless the backup's storage backend can use it — and so is using the backup pool in place
 *   (it lives under `<prefix>/objects/`), which is therefore possible only for GOOGLE/MICROSOFT and only when every
 *   inventory object is at its pool key; the plan then says loudly that the backup store stops being a backup.
 * - Guardrails are refusals, not warnings: a non-empty target database or bucket without `overwrite`, another
 *   configured cluster's live database or bucket, a target overlapping a backup store, Helm values that cannot
 *   point at the target. With `overwrite`, `overwrites` lists exactly what is replaced.
 */
import { createHash } from 'node:crypto';
import { stringify } from 'yaml';
import type { BackupManifest, ManifestDatabase, VerificationRecord } from '../catalog/manifest.js';
import { backupFiles, storePath } from '../catalog/backup-layout.js';
import { createCatalog } from '../catalog/catalog.js';
import type { ObjectStoreConfig, PostgresConfig } from '../config/config.js';
import { overlappingAreas, type Sameness } from '../identity/same-bucket.js';
import { sameServer } from '../identity/same-server.js';
import { describeError, isPachbackupError, PachbackupError } from '../errors.js';
import { formatBytes } from '../format-units.js';
import { decodeHelmRelease } from '../helm/release-secret.js';
import type { WorkloadSnapshot } from '../kubernetes/pachyderm-workloads.js';
import { readInventory } from '../object-store/inventory.js';
import { poolKey, storeKeyPrefix } from '../object-store/pool-keys.js';
import { verifyBackup } from '../backup/verify-backup.js';
import { compareVersions, parsePachydermVersion, versionOfImage } from './pachyderm-version.js';
import { readBackupHelmValues, readBackupManifest } from './read-backup.js';
import { redactSecrets } from '../secrets/redact-secrets.js';
import { helmInstallCommand, helmValuesSource, prefixSupported, redactHelmChanges, redactHelmValues, renderRestoredHelmValues, storageBackendOf, storageStyleOf, type HelmRestoreTargets, type RenderedHelmValues } from './render-helm-values.js';
import type { RestoreEnvironment } from './restore-deps.js';
import type { DatabaseTarget, ObjectTarget, ResolvedRestoreRequest, RestoreRequest } from './restore-request.js';
import { bucketExists, describeStore, firstObjectUnder } from './inventory-objects.js';
import { inspectDatabases, inspectRole, MAX_DATABASE_NAME_BYTES, suffixedName, type DatabaseState, type RolePrivileges } from './target-databases.js';

/** A verification this recent (verify.json) is trusted by a plan; an older one is run again. */
export const DEFAULT_MAX_VERIFICATION_AGE_MS = 24 * 60 * 60 * 1000;

/** Which Pachyderm database a dump holds: its own (`postgresqlDatabase`) or dex's (`identityDatabaseFullNameOverride`). */
export type DatabaseRole = 'pachyderm' | 'dex' | 'other';

/** One database of the backup and where it goes. */
export interface PlannedDatabase {
  /** Its name in the backup. */
  source: string;
  role: DatabaseRole;
  /** Its name on the target server. */
  target: string;
  /** The target database exists now … */
  exists: boolean;
  /** … and holds this many user objects (0: empty or absent). */
  objects: number;
  /** A non-empty database is replaced (only with overwrite). */
  replaces: boolean;
  /** It is one of the databases the target cluster runs on. */
  live: boolean;
  dumpBytes: number;
  tables: number;
  rows: number;
}

/** Where the objects go and what is there now. */
export interface PlannedObjects {
  /** `copy` the inventory into the bucket, or use the backup store's pool where it is (`backup-pool`). */
  mode: 'copy' | 'backup-pool';
  bucket: string;
  prefix: string;
  /** The endpoint pachbackup writes to (the target cluster's object store unless one was given). */
  endpoint?: string;
  bucketExists: boolean;
  /** Nothing under the prefix now. */
  empty: boolean;
  /** A key found there, when not empty. */
  firstKey?: string;
  /** It is the bucket (and prefix) the target cluster runs on. */
  live: boolean;
  /** Objects (and bytes) the backup holds: at most this many are copied; those already there with the same size are skipped. */
  count: number;
  bytes: number;
}

/**
 * Everything a restore will do, computed before anything runs, from the backup store and the target alone —
 * shown for confirmation and approval. `refusals` are hard stops (a restore of a plan with any is refused);
 * `overwrites` lists exactly what is replaced. `fingerprint` binds an approval: it is the sha256 of the backup
 * (id and the manifest's bytes) and every target decision (databases, bucket, overwrite and what it overwrites,
 * pause, Helm inputs), so the same request planned again over unchanged state gives the same fingerprint, and
 * any change — a rewritten manifest, another bucket, a database that became non-empty — gives another.
 */
export interface RestorePlan {
  formatVersion: 1;
  fingerprint: string;
  plannedAt: string;
  request: ResolvedRestoreRequest;
  backup: {
    id: string;
    cluster: string;
    completedAt: string;
    requestedBy: string;
    manifestKey: string;
    manifestSha256: string;
    store: string;
    chartVersion?: string;
    pachydermVersion?: string;
    objects: { count: number; bytes: number };
    /** The verification the plan relies on: verify.json when recent, or one run now. Null when skipped and none exists. */
    verification: { ok: boolean; verifiedAt: string; source: 'verify.json' | 'verified-now'; failed: string[] } | null;
  };
  target: {
    cluster: string;
    displayName: string;
    namespace: string;
    helmRelease: string;
    pachyderm: { installed: boolean; running: boolean; version?: string; pachd?: string; workers?: number };
    postgres: { host: string; port: number; user: string };
  };
  /** Every database and the bucket are the ones the target cluster runs on: it restarts on the restored state. */
  inPlace: boolean;
  pause: { needed: boolean; reason: string; workloads: string[] };
  databases: PlannedDatabase[];
  objects: PlannedObjects;
  /** The steps the job will run, in order. */
  steps: { name: string; title: string }[];
  creates: string[];
  overwrites: string[];
  changes: string[];
  warnings: string[];
  refusals: string[];
  helm: {
    release: string;
    namespace: string;
    chartVersion?: string;
    command: string;
    /** The rendered values for people to read, secrets redacted; the job renders the real file from the backup. */
    valuesYaml: string;
    /** What the values are rendered with (the job renders exactly this). */
    targets: HelmRestoreTargets;
    changes: RenderedHelmValues['changes'];
    storage: RenderedHelmValues['storage'];
  };
}

/** How a plan treats the backup's verification. */
export type VerificationPolicy = 'if-stale' | 'always' | 'skip';

/** What planning needs besides the environment. */
export interface PlanRestoreOptions {
  env: RestoreEnvironment;
  request: RestoreRequest | ResolvedRestoreRequest;
  /**
   * `if-stale` (default): trust a passing verify.json younger than `maxVerificationAgeMs`, otherwise verify now
   * (every dump's sha256 and `pg_restore --list`, every inventory object in the pool) and record verify.json;
   * `always`: verify now; `skip`: show verify.json if there is one, decide nothing (the restore job verifies
   * as its own step). A backup that fails verification is refused.
   */
  verification?: VerificationPolicy;
  maxVerificationAgeMs?: number;
  now?: Date;
  signal?: AbortSignal;
}

/** `yyyymmdd` in UTC. */
function dateStamp(at: Date): string {
  return at.toISOString().slice(0, 10).replace(/-/g, '');
}

/**
 * Whether two (bucket, prefix) areas share keys, asked of the stores when the spelling cannot tell (a marker
 * written through `writer`, see overlappingAreas): a restore never decides "another bucket" from how an endpoint
 * is spelt.
 */
function askOverlap(env: RestoreEnvironment, writer: ObjectStoreConfig, other: ObjectStoreConfig, signal: AbortSignal | undefined): Promise<Sameness> {
  return overlappingAreas({ store: writer, s3: env.objectStoreClient(writer) }, { store: other, s3: env.objectStoreClient(other) }, signal ? { signal } : {});
}

/**
 * Which database of the backup is Pachyderm's and which is dex's: by the names the backup's Helm values give
 * (`postgresqlDatabase`, default `pachyderm`; `identityDatabaseFullNameOverride`, default `dex`), then by shape
 * (Pachyderm's has the pfs/pps/storage schemas), then by order (pachyderm first, as configured).
 */
export function databaseRoles(manifest: BackupManifest, values: Record<string, unknown> | undefined): Map<string, DatabaseRole> {
  const pg = ((values?.global as Record<string, unknown> | undefined)?.postgresql ?? {}) as Record<string, unknown>;
  const pachName = typeof pg.postgresqlDatabase === 'string' && pg.postgresqlDatabase ? pg.postgresqlDatabase : 'pachyderm';
  const dexName = typeof pg.identityDatabaseFullNameOverride === 'string' && pg.identityDatabaseFullNameOverride ? pg.identityDatabaseFullNameOverride : 'dex';
  const roles = new Map<string, DatabaseRole>();
  const taken = (role: DatabaseRole) => [...roles.values()].includes(role);
  for (const db of manifest.databases) {
    if (db.name === pachName && !taken('pachyderm')) roles.set(db.name, 'pachyderm');
    else if (db.name === dexName && !taken('dex')) roles.set(db.name, 'dex');
  }
  const looksLikePachyderm = (db: ManifestDatabase) => db.tables.some((t) => ['pfs', 'pps', 'storage'].includes(t.schema));
  const remaining = () => manifest.databases.filter((db) => !roles.has(db.name));
  if (!taken('pachyderm')) {
    const byShape = remaining().find(looksLikePachyderm);
    const pick = byShape ?? (manifest.databases.some(looksLikePachyderm) ? undefined : remaining()[0]);
    if (pick) roles.set(pick.name, 'pachyderm');
  }
  if (!taken('dex')) {
    const pick = remaining().find((db) => !looksLikePachyderm(db));
    if (pick) roles.set(pick.name, 'dex');
  }
  for (const db of remaining()) roles.set(db.name, 'other');
  return roles;
}

/** Resolves every default of a request (see ResolvedRestoreRequest). */
export function resolveRestoreRequest(request: RestoreRequest | ResolvedRestoreRequest, manifest: BackupManifest, env: Pick<RestoreEnvironment, 'target' | 'backup'>, now: Date): ResolvedRestoreRequest {
  const databases: DatabaseTarget = request.databases ?? { kind: 'new' };
  const names: Record<string, string> = {};
  for (const db of manifest.databases) {
    if (databases.kind === 'original') names[db.name] = db.name;
    else if (databases.kind === 'names') names[db.name] = databases.names[db.name] ?? '';
    else names[db.name] = suffixedName(db.name, `_${databases.suffix ?? `restored_${dateStamp(now)}`}`.replace(/^__/, '_'));
  }
  const objects: ObjectTarget | ResolvedRestoreRequest['objects'] = request.objects ?? { kind: 'cluster-bucket' };
  const resolvedObjects: ResolvedRestoreRequest['objects'] =
    objects.kind === 'backup-pool'
      ? { kind: 'backup-pool' }
      : objects.kind === 'cluster-bucket'
        ? { kind: 'bucket', bucket: env.target.objectStore.bucket, prefix: env.target.objectStore.prefix }
        : { kind: 'bucket', bucket: objects.bucket, prefix: (objects.prefix ?? '').replace(/^\/+|\/+$/g, ''), ...(objects.endpoint ? { endpoint: objects.endpoint } : {}) };
  return {
    backupId: request.backupId,
    databases: { kind: 'names', names },
    objects: resolvedObjects,
    overwrite: request.overwrite ?? false,
    ...(request.credentialsSecret ? { credentialsSecret: request.credentialsSecret } : {}),
    ...(request.chartVersion ? { chartVersion: request.chartVersion } : {}),
    ...(request.helmPostgres ? { helmPostgres: request.helmPostgres } : {}),
    ...(request.pause !== undefined ? { pause: request.pause } : {}),
  };
}

/** The store a resolved object target is written through: the target cluster's object store with this bucket and prefix. */
export function objectTargetStore(request: ResolvedRestoreRequest, env: Pick<RestoreEnvironment, 'target' | 'backup'>): ObjectStoreConfig {
  if (request.objects.kind === 'backup-pool') return { ...env.backup.store, prefix: storePath(env.backup.store, 'objects') };
  const { bucket, prefix, endpoint } = request.objects;
  const base = env.target.objectStore;
  return { ...base, bucket, prefix, ...(endpoint ? { endpoint } : base.endpoint ? { endpoint: base.endpoint } : {}) };
}

/** Step names and titles of a restore, in order; which appear depends on the plan. */
export function plannedSteps(plan: Pick<RestorePlan, 'pause' | 'objects'>): { name: string; title: string }[] {
  return [
    { name: 'check-plan', title: 'Check the approved plan' },
    { name: 'verify', title: 'Verify the backup' },
    ...(plan.objects.mode === 'backup-pool' ? [{ name: 'mark-pool-in-use', title: 'Record that the cluster runs on the backup pool' }] : []),
    { name: 'restore-databases', title: 'Restore the databases' },
    ...(plan.objects.mode === 'copy' ? [{ name: 'copy-objects', title: 'Copy the objects' }] : []),
    ...(plan.pause.needed ? [{ name: 'pause', title: 'Pause Pachyderm' }] : []),
    ...(plan.pause.needed && plan.objects.mode === 'copy' && plan.objects.live ? [{ name: 'copy-delta', title: 'Copy objects still missing (paused)' }] : []),
    { name: 'swap-databases', title: 'Put the restored databases in place' },
    { name: 'helm-values', title: 'Render the Helm values' },
    ...(plan.pause.needed ? [{ name: 'resume', title: 'Resume Pachyderm' }] : []),
  ];
}

async function readVerification(env: RestoreEnvironment, backupId: string): Promise<VerificationRecord | undefined> {
  return createCatalog(env.backup.s3, env.backup.store).readVerification(env.backup.cluster, backupId);
}

/** The target cluster's Pachyderm as Kubernetes shows it; never throws (a cluster without Pachyderm is a fact, not an error). */
async function inspectTargetCluster(env: RestoreEnvironment): Promise<{ snapshot?: WorkloadSnapshot; installed: boolean; version?: string; problem?: string }> {
  let snapshot: WorkloadSnapshot;
  try {
    snapshot = await env.workloads.snapshot();
  } catch (err) {
    if (isPachbackupError(err) && err.code === 'not-found') return { installed: false };
    return { installed: false, problem: describeError(err) };
  }
  let version = versionOfImage(snapshot.pachdImage)?.text;
  if (!version) {
    try {
      const secrets = await env.workloads.listHelmReleaseSecrets(env.target.pachyderm.helmRelease);
      const deployed = secrets.find((s) => s.metadata?.labels?.status === 'deployed');
      if (deployed?.data?.release) version = parsePachydermVersion(decodeHelmRelease(deployed.data.release).chart.metadata.appVersion)?.text;
    } catch {
      // the version stays unknown; the plan says so
    }
  }
  return { snapshot, installed: true, ...(version ? { version } : {}) };
}

function fingerprintOf(material: unknown): string {
  return createHash('sha256').update(JSON.stringify(material)).digest('hex');
}

/**
 * Plans a restore of one backup into a configured cluster: reads the manifest and Helm values from the backup
 * store, relies on (or runs) its verification, looks at the target databases, bucket and cluster, and decides
 * what will be paused, created, copied, changed and overwritten — refusing (in `refusals`) when a target database
 * or bucket is not empty without `overwrite`, when a target is another configured cluster's live state or inside
 * a backup store, when the backup fails verification, or when the Helm values cannot point Pachyderm at the
 * targets. Changes nothing (except writing verify.json when it verified). Throws only when the backup cannot be
 * read at all ('not-found', 'integrity', 'unavailable').
 */
export async function planRestore(options: PlanRestoreOptions): Promise<RestorePlan> {
  const { env, signal } = options;
  const now = options.now ?? new Date();
  const { target } = env;
  const refusals: string[] = [];
  const warnings: string[] = [];
  const creates: string[] = [];
  const overwrites: string[] = [];
  const changes: string[] = [];

  const { manifest, key: manifestKey, sha256: manifestSha256 } = await readBackupManifest(env.backup, options.request.backupId, signal);
  const request = resolveRestoreRequest(options.request, manifest, env, now);

  // The backup must pass verification (see PlanRestoreOptions.verification).
  const policy = options.verification ?? 'if-stale';
  let verification: RestorePlan['backup']['verification'] = null;
  const recorded = await readVerification(env, manifest.id).catch(() => undefined);
  const maxAge = options.maxVerificationAgeMs ?? DEFAULT_MAX_VERIFICATION_AGE_MS;
  const fresh = recorded && recorded.ok && now.getTime() - Date.parse(recorded.verifiedAt) <= maxAge;
  if (policy === 'skip' || (policy === 'if-stale' && fresh)) {
    if (recorded) verification = { ok: recorded.ok, verifiedAt: recorded.verifiedAt, source: 'verify.json', failed: recorded.checks.filter((c) => !c.ok).map((c) => `${c.name}: ${c.detail}`) };
  } else {
    const record = await verifyBackup({ s3: env.backup.s3, store: env.backup.store, manifest, ...(signal ? { signal } : {}) });
    await createCatalog(env.backup.s3, env.backup.store).writeVerification(env.backup.cluster, record);
    verification = { ok: record.ok, verifiedAt: record.verifiedAt, source: 'verified-now', failed: record.checks.filter((c) => !c.ok).map((c) => `${c.name}: ${c.detail}`) };
  }
  if (verification && !verification.ok && policy !== 'skip') {
    refusals.push(`backup ${manifest.id} fails verification (${verification.source === 'verify.json' ? `verify.json of ${verification.verifiedAt}` : 'verified now'}): ${verification.failed.join('; ')}`);
  }

  let values: Record<string, unknown> | undefined;
  try {
    values = await readBackupHelmValues(env.backup, manifest, signal);
    if (!values) warnings.push(`backup ${manifest.id} has no Helm values (the cluster was not installed with Helm, or the release was not found): the rendered values hold only the keys that point at the restored state — merge them into your own`);
  } catch (err) {
    refusals.push(`the backup's Helm values cannot be used: ${describeError(err)}`);
  }

  // Databases.
  const roles = databaseRoles(manifest, values);
  const targetNames = manifest.databases.map((db) => request.databases.names[db.name] ?? '');
  for (const [i, name] of targetNames.entries()) {
    const source = manifest.databases[i]!.name;
    if (name === '') refusals.push(`no target name for the backup's database "${source}"`);
    else if (Buffer.byteLength(name) > MAX_DATABASE_NAME_BYTES) refusals.push(`database name "${name}" is longer than PostgreSQL's ${MAX_DATABASE_NAME_BYTES} bytes`);
  }
  if (new Set(targetNames).size !== targetNames.length) refusals.push(`two of the backup's databases would be restored into the same database (${targetNames.join(', ')})`);
  let states: DatabaseState[] = targetNames.map((name) => ({ name, exists: false, objects: 0 }));
  try {
    const named = targetNames.filter((n) => n !== '');
    const [found, role] = await Promise.all([inspectDatabases(target.postgres, named, signal), inspectRole(target.postgres, named, signal)]);
    states = found;
    refusals.push(...privilegeRefusals(role, target.postgres, found));
  } catch (err) {
    refusals.push(`cannot inspect the target databases on ${target.postgres.host}:${target.postgres.port}: ${describeError(err)}`);
  }
  const others = (options.env.knownClusters ?? []).filter((c) => c.name !== target.name);
  // Is another cluster's server the target's? Asked of the servers (see sameServer) when a target name is one of its databases.
  const otherServers = new Map<string, Sameness>();
  for (const other of others) {
    const shared = targetNames.find((n) => other.postgres.databases.includes(n));
    if (shared) otherServers.set(other.name, await sameServer({ config: target.postgres, database: target.postgres.databases[0]! }, { config: other.postgres, database: shared }, signal ? { signal } : {}));
  }
  const databases: PlannedDatabase[] = manifest.databases.map((db, i) => {
    const name = targetNames[i]!;
    const state = states.find((s) => s.name === name) ?? { name, exists: false, objects: 0 };
    const live = target.postgres.databases.includes(name);
    const replaces = state.exists && state.objects > 0;
    const where = `database "${name}" on ${target.postgres.host}:${target.postgres.port}`;
    if (replaces && !request.overwrite) {
      refusals.push(`${where} exists and is not empty (${state.objects} objects${live ? `; it is what cluster ${target.name} runs on` : ''}): restore into new databases, or allow overwriting`);
    } else if (replaces) {
      overwrites.push(`${where} (${state.objects} objects${live ? `, the live database of ${target.name}` : ''}) is DROPPED and replaced by the backup's "${db.name}"`);
    } else {
      creates.push(state.exists ? `${where} (exists, empty) receives the backup's "${db.name}"` : `${where} is created from the backup's "${db.name}"`);
    }
    for (const other of others) {
      const server = otherServers.get(other.name);
      if (!server || !other.postgres.databases.includes(name)) continue;
      if (server.verdict === 'same') refusals.push(`${where} is the live database of cluster ${other.name} (${server.how}): a restore into ${target.name} must not replace another cluster's state`);
      if (server.verdict === 'unknown') refusals.push(`cannot tell whether ${where} is the live database of cluster ${other.name} (${server.how}): restore into databases of other names`);
    }
    return {
      source: db.name,
      role: roles.get(db.name) ?? 'other',
      target: name,
      exists: state.exists,
      objects: state.objects,
      replaces,
      live,
      dumpBytes: db.bytes,
      tables: db.tables.length,
      rows: db.tables.reduce((n, t) => n + t.rows, 0),
    };
  });
  if (target.postgres.user && values) {
    const pgValues = ((values.global as Record<string, unknown> | undefined)?.postgresql ?? {}) as Record<string, unknown>;
    const pachydermUser = typeof pgValues.postgresqlUsername === 'string' ? pgValues.postgresqlUsername : 'pachyderm';
    if (pachydermUser !== target.postgres.user) {
      warnings.push(`the restored tables are owned by "${target.postgres.user}" (pg_restore --no-owner, as pachbackup connects) while Pachyderm connects as "${pachydermUser}": grant it access (e.g. ALTER DATABASE … OWNER TO ${pachydermUser} and REASSIGN OWNED) before starting Pachyderm on them`);
    }
  }

  // Objects.
  const store = objectTargetStore(request, env);
  const mode = request.objects.kind === 'backup-pool' ? 'backup-pool' : 'copy';
  let live = false;
  let exists = true;
  let first: { key: string; page: number } | undefined;
  if (mode === 'copy') {
    try {
      const s3 = env.objectStoreClient(store);
      exists = await bucketExists(s3, store.bucket, signal);
      first = exists ? await firstObjectUnder(s3, store, signal) : undefined;
    } catch (err) {
      refusals.push(`cannot inspect ${describeStore(store)}: ${describeError(err)}`);
    }
    if (!exists) creates.push(`bucket s3://${store.bucket}${store.endpoint ? ` at ${store.endpoint}` : ''} is created`);
    // A bucket that does not exist yet is nobody's; one that does is asked whose it is.
    const clusterAreas = exists ? await Promise.all([target, ...others].map(async (c) => ({ cluster: c, answer: await askOverlap(env, store, c.objectStore, signal) }))) : [];
    for (const { cluster: c, answer } of clusterAreas) {
      if (c.name === target.name) live = answer.verdict === 'same';
      else if (answer.verdict === 'same') refusals.push(`${describeStore(store)} is the bucket cluster ${c.name} runs on (${answer.how}): a restore into ${target.name} must not write into another cluster's data`);
      if (answer.verdict === 'unknown') refusals.push(`cannot tell whether ${describeStore(store)} is the bucket cluster ${c.name} runs on (${answer.how}): restore into a bucket you can tell apart`);
    }
    if (first && !request.overwrite) {
      refusals.push(`${describeStore(store)} is not empty (${first.page >= 1000 ? 'at least 1000' : first.page} objects, e.g. ${first.key}${live ? `; it is what cluster ${target.name} runs on` : ''}): restore into an empty bucket, or allow overwriting`);
    } else if (first) {
      overwrites.push(
        `${describeStore(store)} holds objects (${first.page >= 1000 ? 'at least 1000' : first.page}, e.g. ${first.key}): objects with the backup's keys are kept when their size matches and REPLACED otherwise; objects not in the backup are left as they are`,
      );
    }
    for (const backupStore of [env.backup.store, target.backupStore, ...others.map((o) => o.backupStore)]) {
      const answer = await askOverlap(env, backupStore, store, signal);
      if (answer.verdict === 'same') {
        refusals.push(`${describeStore(store)} overlaps the backup store s3://${backupStore.bucket}/${storeKeyPrefix(backupStore)} (${answer.how}): restore the objects elsewhere (or use the backup pool in place on purpose)`);
        break;
      }
    }
  } else {
    warnings.push(
      `THE BACKUP STORE STOPS BEING A BACKUP: Pachyderm will read and write s3://${store.bucket}/${storeKeyPrefix(store)} directly — new chunks land in the pool and its garbage collection deletes chunks that other backups still reference. Take a new backup to another store as soon as the cluster runs, and stop retention from touching this pool`,
    );
    const backend = values ? storageBackendOf(values) : undefined;
    if (!prefixSupported(storageStyleOf(values ?? {}, request.chartVersion ?? manifest.pachyderm.chartVersion), backend)) {
      refusals.push(
        `the backup pool is under "${storeKeyPrefix(store)}" in s3://${store.bucket}, and Pachyderm with the ${backend ?? 'configured'} storage backend cannot read chunks under a prefix (only GOOGLE and MICROSOFT honour the storage URL's prefix, from chart 2.11): copy the objects into a bucket instead`,
      );
    } else {
      // Objects filed at conflict locations (.versions/…) are not where Pachyderm would look for them.
      let misplaced = 0;
      for await (const entry of readInventory({ s3: env.backup.s3, bucket: env.backup.store.bucket, key: manifest.objects.inventory.key, ...(signal ? { signal } : {}) })) {
        if (entry.storeKey !== poolKey(env.backup.store, entry.key)) misplaced += 1;
      }
      if (misplaced > 0) refusals.push(`${misplaced} of the backup's objects are kept at conflict locations in the pool, not at their keys: the pool cannot be used in place; copy the objects instead`);
    }
  }
  const objects: PlannedObjects = {
    mode,
    bucket: store.bucket,
    prefix: store.prefix,
    ...(store.endpoint ? { endpoint: store.endpoint } : {}),
    bucketExists: exists,
    empty: first === undefined,
    ...(first ? { firstKey: first.key } : {}),
    live,
    count: manifest.objects.count,
    bytes: manifest.objects.bytes,
  };
  if (mode === 'copy') changes.push(`up to ${manifest.objects.count} objects (${formatBytes(manifest.objects.bytes)}) are copied into ${describeStore(store)}; those already there with the same size are skipped`);

  // The target cluster: what runs, which version, what must pause.
  const cluster = await inspectTargetCluster(env);
  const running = cluster.snapshot ? cluster.snapshot.pachd.replicas > 0 || cluster.snapshot.workers.some((w) => w.replicas > 0) : false;
  const touchesLive = databases.some((d) => d.live) || live;
  const inPlace = databases.every((d) => d.live) && live;
  let pauseNeeded = false;
  let pauseReason: string;
  if (cluster.problem) {
    const message = `cannot read cluster ${target.name}'s Pachyderm workloads in namespace ${target.kubernetes.namespace}: ${cluster.problem}`;
    if (touchesLive || request.pause) refusals.push(`${message}; it must be paused for this restore`);
    else warnings.push(message);
    pauseReason = 'the cluster could not be inspected';
  } else if (!cluster.installed) {
    pauseReason = `Pachyderm is not installed in namespace ${target.kubernetes.namespace}: nothing to pause`;
  } else if (!running) {
    pauseReason = 'Pachyderm is scaled to 0 there: nothing to pause';
  } else if (request.pause === false && touchesLive) {
    refusals.push(`the restore writes to what cluster ${target.name} runs on while it runs: it must be paused (do not pass pause: false)`);
    pauseReason = 'pausing was turned off';
  } else if (request.pause ?? touchesLive) {
    pauseNeeded = true;
    pauseReason = touchesLive ? 'the restore replaces state the running cluster uses' : 'asked for';
  } else {
    pauseReason = 'the restore writes only to new databases and another bucket; the running cluster is not touched (the switch happens when you run the helm command)';
  }
  const workloads = cluster.snapshot
    ? [`${cluster.snapshot.pachd.name} ×${cluster.snapshot.pachd.replicas}`, ...cluster.snapshot.deployments.map((d) => `${d.name} ×${d.replicas}`), ...cluster.snapshot.workers.filter((w) => w.replicas > 0).map((w) => `${w.name} ×${w.replicas}`)]
    : [];
  if (pauseNeeded) changes.push(`cluster ${target.name} is paused (${workloads.join(', ')}) from the swap of the databases until it is resumed${inPlace ? ' on the restored state, and pachd is checked ready' : ''}`);
  if (touchesLive && !inPlace && cluster.installed) {
    warnings.push(
      `the restore replaces only part of what cluster ${target.name} runs on (${[...databases.filter((d) => d.live).map((d) => `database ${d.target}`), ...(live ? ['its bucket'] : [])].join(', ') || 'nothing'}): after it, the cluster runs on a mix of restored and current state until you run the helm command`,
    );
  }

  const backupVersion = parsePachydermVersion(manifest.pachyderm.appVersion) ?? versionOfImage(manifest.pachyderm.pachdImage);
  const targetVersion = parsePachydermVersion(cluster.version);
  if (backupVersion && targetVersion && compareVersions(targetVersion, backupVersion) < 0) {
    warnings.push(
      `cluster ${target.name} runs Pachyderm ${targetVersion.text}, older than the backup's ${backupVersion.text}: pachd refuses a database newer than itself ("database state is newer than application is expecting") — install ${backupVersion.text} or newer (the helm command below does)${inPlace ? '; the readiness check after the resume will fail until then' : ''}`,
    );
  } else if (backupVersion && targetVersion && compareVersions(targetVersion, backupVersion) > 0) {
    warnings.push(`cluster ${target.name} runs Pachyderm ${targetVersion.text}, newer than the backup's ${backupVersion.text}: pachd migrates the restored databases forward when it starts on them (there is no way back to ${backupVersion.text} with them)`);
  } else if (backupVersion && cluster.installed && !targetVersion) {
    warnings.push(`cannot tell which Pachyderm version cluster ${target.name} runs; the backup is of ${backupVersion.text}: restore onto that version or newer`);
  }

  // Helm values pointed at the restored state.
  const chartVersion = request.chartVersion ?? manifest.pachyderm.chartVersion;
  const pachydermDb = databases.find((d) => d.role === 'pachyderm');
  const dexDb = databases.find((d) => d.role === 'dex');
  if (!pachydermDb) warnings.push('none of the backup\'s databases looks like Pachyderm\'s own: set global.postgresql.postgresqlDatabase yourself');
  const helmTargets: HelmRestoreTargets = {
    postgres: request.helmPostgres ?? { host: target.postgres.host, port: target.postgres.port },
    pachydermDatabase: pachydermDb?.target ?? 'pachyderm',
    ...(dexDb ? { dexDatabase: dexDb.target } : {}),
    ...(request.credentialsSecret ? { credentialsSecret: request.credentialsSecret } : {}),
    objects: {
      bucket: store.bucket,
      prefix: store.prefix,
      ...(request.objects.kind === 'bucket' && request.objects.endpoint ? { endpoint: request.objects.endpoint, region: store.region } : {}),
    },
  };
  const rendered = renderRestoredHelmValues(values ?? {}, helmTargets, chartVersion);
  const secrets = helmValuesSource(env.backup.store, manifest.helmValues?.key ?? backupFiles.helmValues(env.backup.store, manifest.cluster, manifest.id), manifest.id);
  refusals.push(...rendered.problems);
  warnings.push(...rendered.warnings);
  if (!chartVersion) warnings.push('the backup does not record its chart version: fill in --version in the helm command');
  const command = helmInstallCommand({ release: target.pachyderm.helmRelease, namespace: target.kubernetes.namespace, chartVersion });
  changes.push(`the Helm values pointing at the restored state are stored beside the backup; run: ${command}`);

  const plan: Omit<RestorePlan, 'fingerprint' | 'steps'> = {
    formatVersion: 1,
    plannedAt: now.toISOString(),
    request,
    backup: {
      id: manifest.id,
      cluster: manifest.cluster,
      completedAt: manifest.completedAt,
      requestedBy: manifest.requestedBy,
      manifestKey,
      manifestSha256,
      store: describeStore(env.backup.store),
      ...(manifest.pachyderm.chartVersion ? { chartVersion: manifest.pachyderm.chartVersion } : {}),
      ...(backupVersion ? { pachydermVersion: backupVersion.text } : {}),
      objects: { count: manifest.objects.count, bytes: manifest.objects.bytes },
      verification,
    },
    target: {
      cluster: target.name,
      displayName: target.displayName,
      namespace: target.kubernetes.namespace,
      helmRelease: target.pachyderm.helmRelease,
      pachyderm: {
        installed: cluster.installed,
        running,
        ...(cluster.version ? { version: cluster.version } : {}),
        ...(cluster.snapshot ? { pachd: `${cluster.snapshot.pachd.name} ×${cluster.snapshot.pachd.replicas}`, workers: cluster.snapshot.workers.reduce((n, w) => n + w.replicas, 0) } : {}),
      },
      postgres: { host: target.postgres.host, port: target.postgres.port, user: target.postgres.user },
    },
    inPlace,
    pause: { needed: pauseNeeded, reason: pauseReason, workloads: pauseNeeded ? workloads : [] },
    databases,
    objects,
    creates,
    overwrites,
    changes,
    warnings,
    refusals: [...new Set(refusals)],
    helm: {
      release: target.pachyderm.helmRelease,
      namespace: target.kubernetes.namespace,
      ...(chartVersion ? { chartVersion } : {}),
      command,
      valuesYaml: stringify(redactHelmValues(rendered.values, secrets), { lineWidth: 0 }), // placeholders on one line each
      targets: helmTargets,
      changes: redactHelmChanges(rendered.changes, secrets),
      storage: rendered.storage,
    },
  };
  const fingerprint = fingerprintOf({
    v: 1,
    backup: { id: manifest.id, cluster: manifest.cluster, manifestSha256, store: `${env.backup.store.endpoint ?? 'aws'}/${env.backup.store.bucket}/${env.backup.store.prefix}` },
    target: { cluster: target.name, namespace: target.kubernetes.namespace, release: target.pachyderm.helmRelease, postgres: `${target.postgres.host}:${target.postgres.port}` },
    databases: databases.map((d) => [d.source, d.target]),
    objects: { mode, bucket: store.bucket, prefix: store.prefix, endpoint: store.endpoint ?? null, explicitEndpoint: request.objects.kind === 'bucket' ? (request.objects.endpoint ?? null) : null },
    overwrite: request.overwrite,
    overwritten: [...databases.filter((d) => d.replaces).map((d) => `database:${d.target}`), ...(first ? [`objects:${store.bucket}/${store.prefix}`] : [])],
    pause: pauseNeeded,
    helm: { chartVersion: chartVersion ?? null, credentialsSecret: request.credentialsSecret ?? null, postgres: request.helmPostgres ?? null },
  });
  // Nothing secret leaves the store with the plan (Slack, the state database, Redis, --json): see redactSecrets.
  return redactSecrets({ ...plan, fingerprint, steps: plannedSteps(plan) }, secrets);
}

/** Throws the plan's refusals as one 'precondition' error; no-op when there are none. */
export function assertRestorable(plan: RestorePlan): void {
  if (plan.refusals.length === 0) return;
  throw new PachbackupError('precondition', `restore of ${plan.backup.id} into ${plan.target.cluster} refused: ${plan.refusals.join('; ')}`);
}

/** What differs between an approved plan and the same request planned again, in words (for the refusal). */
export function describePlanDifferences(approved: RestorePlan, current: RestorePlan): string[] {
  const out: string[] = [];
  if (approved.backup.manifestSha256 !== current.backup.manifestSha256) out.push(`the manifest of ${current.backup.id} changed`);
  const dbs = (p: RestorePlan) => p.databases.map((d) => `${d.source}→${d.target}${d.replaces ? ' (replaces)' : ''}`).join(', ');
  if (dbs(approved) !== dbs(current)) out.push(`databases: approved ${dbs(approved)}, now ${dbs(current)}`);
  const objs = (p: RestorePlan) => `${p.objects.mode} s3://${p.objects.bucket}/${p.objects.prefix}${p.objects.endpoint ? ` at ${p.objects.endpoint}` : ''}${p.objects.empty ? '' : ' (not empty)'}`;
  if (objs(approved) !== objs(current)) out.push(`objects: approved ${objs(approved)}, now ${objs(current)}`);
  if (approved.pause.needed !== current.pause.needed) out.push(`pause: approved ${approved.pause.needed ? 'yes' : 'no'}, now ${current.pause.needed ? 'yes' : 'no'} (${current.pause.reason})`);
  if (approved.request.overwrite !== current.request.overwrite) out.push('overwrite differs');
  if (approved.target.postgres.host !== current.target.postgres.host || approved.target.postgres.port !== current.target.postgres.port) out.push('the target PostgreSQL server differs');
  if (approved.helm.command !== current.helm.command) out.push(`helm: approved \`${approved.helm.command}\`, now \`${current.helm.command}\``);
  return out.length > 0 ? out : ['the plan\'s inputs differ'];
}

/**
 * Why the configured role cannot carry out the database part of a restore, found at planning rather than halfway:
 * the staging databases need CREATEDB, and replacing an existing database needs to own it.
 */
function privilegeRefusals(role: RolePrivileges, server: PostgresConfig, states: DatabaseState[]): string[] {
  if (role.superuser) return [];
  const where = `${server.host}:${server.port}`;
  const refusals: string[] = [];
  if (!role.createDatabases) {
    refusals.push(`the PostgreSQL role "${role.role}" on ${where} cannot create databases, which a restore needs (it restores into new staging databases, then renames them): grant it with ALTER ROLE "${role.role}" CREATEDB, or configure a role that may`);
  }
  for (const s of states) {
    const owner = role.owners[s.name];
    if (s.exists && owner !== undefined && owner !== role.role) {
      refusals.push(`database "${s.name}" on ${where} is owned by "${owner}", so the role "${role.role}" cannot drop it to put the restored one in its place: configure "${owner}"'s credentials, or restore into new databases`);
    }
  }
  return refusals;
}
