import { parseDocument, stringify } from 'yaml';
import { isSecretName, redactSecrets, scrubSecretText, secretPlaceholder, type SecretSource } from '../secrets/redact-secrets.js';
import { isAtLeast, parsePachydermVersion } from './pachyderm-version.js';

/**
 * Where the restored state is, as the Helm values must name it. `objects.endpoint`/`region` are given only when
 * the restored bucket is on another object store than the backup's values name: otherwise the storage URL's own
 * query parameters (endpoint, region, disableSSL — how pachd, from inside the cluster, reaches the store) are kept.
 */
export interface HelmRestoreTargets {
  postgres: { host: string; port: number };
  /** The restored name of Pachyderm's own database (`global.postgresql.postgresqlDatabase`). */
  pachydermDatabase: string;
  /** The restored name of dex's database (`global.postgresql.identityDatabaseFullNameOverride`), when the backup has one. */
  dexDatabase?: string;
  /** The Kubernetes Secret with the PostgreSQL password (`postgresqlExistingSecretName`); default: the backup's. */
  credentialsSecret?: string;
  objects: { bucket: string; prefix: string; endpoint?: string; region?: string };
}

/** How the chart names Pachyderm's bucket: one storage URL (chart 2.11+, or 2.9–2.10 with gocdkEnabled), or per-backend keys. */
export type StorageStyle = 'storage-url' | 'legacy';

/** The values with every change listed, and what keeps them from pointing at the targets. */
export interface RenderedHelmValues {
  values: Record<string, unknown>;
  yaml: string;
  changes: { path: string; from: unknown; to: unknown }[];
  /** Why these values cannot point Pachyderm at the targets; a plan with problems is refused. */
  problems: string[];
  warnings: string[];
  storage: { style: StorageStyle; backend: string | undefined; prefixSupported: boolean };
}

type Values = Record<string, unknown>;

function isObject(v: unknown): v is Values {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function read(values: Values, path: string): unknown {
  let current: unknown = values;
  for (const part of path.split('.')) {
    if (!isObject(current)) return undefined;
    current = current[part];
  }
  return current;
}

function readString(values: Values, path: string): string | undefined {
  const v = read(values, path);
  return typeof v === 'string' && v !== '' ? v : typeof v === 'number' ? String(v) : undefined;
}

/** The storage backend the chart derives (templates/_helpers.tpl `pachyderm.storageBackend`). */
export function storageBackendOf(values: Values): string | undefined {
  const explicit = readString(values, 'pachd.storage.backend');
  if (explicit) return explicit.toUpperCase();
  const target = readString(values, 'deployTarget')?.toUpperCase();
  return target && ['AMAZON', 'GOOGLE', 'MICROSOFT', 'LOCAL', 'MINIO'].includes(target) ? target : undefined;
}

/**
 * Which keys name the bucket. Chart 2.11 reads only `pachd.storage.storageURL`; 2.9 and 2.10 read it when
 * `pachd.storage.gocdkEnabled` is true; older charts (and 2.9–2.10 without gocdk) use the per-backend keys.
 */
export function storageStyleOf(values: Values, chartVersion: string | undefined): StorageStyle {
  const chart = parsePachydermVersion(chartVersion);
  if (chart) {
    if (isAtLeast(chart, 2, 11)) return 'storage-url';
    return isAtLeast(chart, 2, 9) && read(values, 'pachd.storage.gocdkEnabled') === true ? 'storage-url' : 'legacy';
  }
  if (readString(values, 'pachd.storage.storageURL')) return 'storage-url';
  const legacyKeys = ['pachd.storage.amazon.bucket', 'pachd.storage.minio.bucket', 'pachd.storage.google.bucket', 'pachd.storage.microsoft.container'];
  return legacyKeys.some((k) => readString(values, k)) ? 'legacy' : 'storage-url';
}

/**
 * Whether Pachyderm can keep its chunks under a key prefix. Checked in Pachyderm v2.11.6
 * (src/internal/obj/bucket.go `NewBucket`): for AMAZON it parses the storage URL itself and opens the bucket by
 * name with only endpoint, region and disableSSL taken from the query — a `prefix` is ignored; for GOOGLE and
 * MICROSOFT it hands the URL to gocloud's `blob.OpenBucket` (gocloud v0.27), which honours `?prefix=` by wrapping
 * the bucket in a PrefixedBucket. The per-backend keys of older charts take a bucket name only.
 */
export function prefixSupported(style: StorageStyle, backend: string | undefined): boolean {
  return style === 'storage-url' && (backend === 'GOOGLE' || backend === 'MICROSOFT');
}

const URL_SHAPE = /^([A-Za-z][A-Za-z0-9+.-]*):\/\/([^/?#]*)([^?#]*)(?:\?([^#]*))?$/;

function setQuery(query: string | undefined, updates: Record<string, string | undefined>): string {
  const pairs = (query ?? '').split('&').filter((p) => p !== '');
  const keyOf = (pair: string) => decodeURIComponent(pair.split('=')[0] ?? '');
  const out: string[] = [];
  const done = new Set<string>();
  for (const pair of pairs) {
    const key = keyOf(pair);
    if (!(key in updates)) {
      out.push(pair);
      continue;
    }
    if (done.has(key)) continue;
    done.add(key);
    const value = updates[key];
    if (value !== undefined) out.push(`${encodeURIComponent(key)}=${encodeURIComponent(value).replace(/%3A/gi, ':').replace(/%2F/gi, '/')}`);
  }
  for (const [key, value] of Object.entries(updates)) {
    if (!done.has(key) && value !== undefined) out.push(`${encodeURIComponent(key)}=${encodeURIComponent(value).replace(/%3A/gi, ':').replace(/%2F/gi, '/')}`);
  }
  return out.join('&');
}

/** host[:port] of an http(s) endpoint, as Pachyderm's `endpoint=` parameter takes it. */
function endpointHost(endpoint: string): { host: string; tls: boolean } {
  if (URL.canParse(endpoint)) {
    const u = new URL(endpoint);
    return { host: u.host, tls: u.protocol === 'https:' };
  }
  return { host: endpoint, tls: true };
}

/**
 * The storage URL with its bucket swapped for the target's, its query kept (endpoint, region, disableSSL, …),
 * `prefix` set or removed, and — only when the target names another endpoint — endpoint, disableSSL and region
 * replaced. Undefined when the URL cannot be read.
 */
export function rewriteStorageUrl(url: string, objects: HelmRestoreTargets['objects']): string | undefined {
  const m = URL_SHAPE.exec(url.trim());
  if (!m) return undefined;
  const scheme = m[1]!.toLowerCase();
  let authority = m[2]!;
  if (scheme === 'wasb') {
    // wasb://<container>@<account>/…: the container is the user part.
    const at = authority.indexOf('@');
    authority = at >= 0 ? `${objects.bucket}${authority.slice(at)}` : objects.bucket;
  } else {
    authority = objects.bucket;
  }
  const updates: Record<string, string | undefined> = { prefix: objects.prefix === '' ? undefined : `${objects.prefix}/` };
  if (objects.endpoint !== undefined && scheme === 's3') {
    const { host, tls } = endpointHost(objects.endpoint);
    updates.endpoint = host;
    updates.disableSSL = tls ? undefined : 'true';
    if (objects.region) updates.region = objects.region;
  }
  const query = setQuery(m[4], updates);
  // The path of a storage URL names an object, not a folder: Pachyderm ignores it for the bucket (ParseURL).
  return `${m[1]}://${authority}${m[3] ?? ''}${query ? `?${query}` : ''}`;
}

/** A storage URL for the target when the backup's values have none (no Helm values kept). */
function buildStorageUrl(backend: string | undefined, objects: HelmRestoreTargets['objects']): string {
  const scheme = backend === 'GOOGLE' ? 'gs' : backend === 'MICROSOFT' ? 'azblob' : 's3';
  const query: Record<string, string | undefined> = { prefix: objects.prefix === '' ? undefined : `${objects.prefix}/` };
  if (scheme === 's3') {
    if (objects.region) query.region = objects.region;
    if (objects.endpoint) {
      const { host, tls } = endpointHost(objects.endpoint);
      query.endpoint = host;
      if (!tls) query.disableSSL = 'true';
    }
  }
  const q = setQuery('', query);
  return `${scheme}://${objects.bucket}${q ? `?${q}` : ''}`;
}

/**
 * The backup's Helm values (the release's user-supplied values) pointed at the restored state: PostgreSQL host,
 * port and database names (`global.postgresql.*`, with `identityDatabaseFullNameOverride` for dex), the
 * credentials Secret when a new one is given, and the bucket — `pachd.storage.storageURL` (chart 2.11+, or
 * gocdk on 2.9–2.10) with its query kept and the bucket swapped, or the per-backend key of older charts
 * (`pachd.storage.amazon.bucket`, `minio.bucket`, `google.bucket`, `microsoft.container`). Everything else is
 * kept as it was. Pure: returns problems rather than throwing, so a plan can show them all.
 */
export function renderRestoredHelmValues(values: Values, targets: HelmRestoreTargets, chartVersion: string | undefined): RenderedHelmValues {
  const out = structuredClone(values);
  const changes: RenderedHelmValues['changes'] = [];
  const problems: string[] = [];
  const warnings: string[] = [];
  const set = (path: string, to: unknown) => {
    const parts = path.split('.');
    let node: Values = out;
    for (const part of parts.slice(0, -1)) {
      const next = node[part];
      if (!isObject(next)) node[part] = {};
      node = node[part] as Values;
    }
    const last = parts[parts.length - 1]!;
    const from = node[last];
    if (from === to) return;
    node[last] = to;
    changes.push({ path, from, to });
  };

  set('global.postgresql.postgresqlHost', targets.postgres.host);
  set('global.postgresql.postgresqlPort', String(targets.postgres.port));
  set('global.postgresql.postgresqlDatabase', targets.pachydermDatabase);
  if (targets.dexDatabase !== undefined) set('global.postgresql.identityDatabaseFullNameOverride', targets.dexDatabase);
  if (targets.credentialsSecret !== undefined) set('global.postgresql.postgresqlExistingSecretName', targets.credentialsSecret);
  if (read(values, 'postgresql.enabled') !== false) {
    warnings.push(
      'the backup\'s values use the chart\'s bundled PostgreSQL (postgresql.enabled is not false): the rendered values point pachd at the restored server, but the chart still deploys its own; set postgresql.enabled=false if the restored server is external',
    );
  }

  const backend = storageBackendOf(values);
  const style = storageStyleOf(values, chartVersion);
  const canPrefix = prefixSupported(style, backend);
  const { objects } = targets;
  if (objects.prefix !== '' && !canPrefix) {
    problems.push(
      `the restored objects would be under "${objects.prefix}/" in s3://${objects.bucket}, but Pachyderm${chartVersion ? ` (chart ${chartVersion})` : ''} with the ${backend ?? 'configured'} storage backend reads its chunks from the root of its bucket: ${style === 'legacy' ? 'the chart names a bucket only' : 'for AMAZON it opens the bucket of pachd.storage.storageURL and ignores any prefix'}. Restore into the root of a bucket`,
    );
  }
  if (backend === 'LOCAL') {
    problems.push('the backup\'s values use the LOCAL storage backend (chunks on a node\'s disk): a bucket cannot be configured for it; install with an object-store backend');
  }

  if (style === 'storage-url') {
    const current = readString(values, 'pachd.storage.storageURL');
    if (current) {
      const rewritten = rewriteStorageUrl(current, objects);
      if (rewritten) set('pachd.storage.storageURL', rewritten);
      else problems.push(`pachd.storage.storageURL "${current}" is not a URL pachbackup can rewrite; set it to the restored bucket yourself`);
    } else {
      set('pachd.storage.storageURL', buildStorageUrl(backend, objects));
      warnings.push('the backup\'s values have no pachd.storage.storageURL: one was built from the target bucket; check its endpoint and region');
    }
  } else {
    switch (backend) {
      case 'AMAZON':
        set('pachd.storage.amazon.bucket', objects.bucket);
        if (objects.endpoint) set('pachd.storage.amazon.customEndpoint', objects.endpoint);
        if (objects.endpoint && objects.region) set('pachd.storage.amazon.region', objects.region);
        break;
      case 'MINIO':
        set('pachd.storage.minio.bucket', objects.bucket);
        if (objects.endpoint) {
          const { host, tls } = endpointHost(objects.endpoint);
          set('pachd.storage.minio.endpoint', host);
          set('pachd.storage.minio.secure', tls ? 'true' : 'false');
        }
        break;
      case 'GOOGLE':
        set('pachd.storage.google.bucket', objects.bucket);
        break;
      case 'MICROSOFT':
        set('pachd.storage.microsoft.container', objects.bucket);
        break;
      case 'LOCAL':
        break;
      default:
        problems.push('cannot tell the storage backend from the backup\'s values (neither pachd.storage.backend nor a known deployTarget): set the bucket yourself');
    }
  }
  return { values: out, yaml: stringify(out), changes, problems, warnings, storage: { style, backend, prefixSupported: canPrefix } };
}

/**
 * Where Helm values that leave the backup store point for their secrets: the file in the store, and the command
 * that prints it for someone with access to the store (`pachbackup values <backup-id> [--restore <restore-id>]`).
 */
export function helmValuesSource(store: { bucket: string }, key: string, backupId: string, restoreId?: string): SecretSource {
  return { location: `s3://${store.bucket}/${key}`, command: `pachbackup values ${backupId}${restoreId ? ` --restore ${restoreId}` : ''}` };
}

/**
 * A copy of Helm values with every secret (by name and by shape: see `redactSecrets`) replaced by a placeholder
 * naming `source` — for plans shown in Slack and kept in the state database and Redis. The values written beside
 * the backup are never redacted.
 */
export function redactHelmValues(values: Record<string, unknown>, source: SecretSource): Record<string, unknown> {
  return redactSecrets(values, source);
}

/** The changes a render made, with the values of secret keys (by the path's last name) and secret shapes hidden. */
export function redactHelmChanges(changes: RenderedHelmValues['changes'], source: SecretSource): RenderedHelmValues['changes'] {
  return changes.map((c) => {
    const hide = isSecretName(c.path.split('.').at(-1) ?? '');
    return { path: c.path, from: hide ? secretPlaceholder(source) : redactSecrets(c.from, source), to: hide ? secretPlaceholder(source) : redactSecrets(c.to, source) };
  });
}

/**
 * A values file as written to the store (YAML, headed by comments) with every secret replaced — for a copy that
 * leaves the store (a Slack attachment). Comments at the top are kept; a file that is not a YAML mapping has its
 * secret-shaped text scrubbed.
 */
export function redactHelmValuesFile(text: string, source: SecretSource): string {
  const doc = parseDocument(text);
  const values: unknown = doc.errors.length === 0 ? doc.toJS() : undefined;
  if (values === null || typeof values !== 'object' || Array.isArray(values)) return scrubSecretText(text, source);
  const header = text.split('\n').filter((line, i, lines) => line.startsWith('#') && lines.slice(0, i).every((l) => l.startsWith('#'))).join('\n');
  return `${header ? `${header}\n` : ''}${stringify(redactSecrets(values, source), { lineWidth: 0 })}`;
}

/** One shell word, quoted only when it needs to be. */
function shellWord(word: string): string {
  return /^[A-Za-z0-9_./:=@+-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

/**
 * The command that installs Pachyderm on the restored state, e.g.
 * `helm upgrade --install pachyderm pachyderm/pachyderm --version 2.11.6 -n pachyderm -f restored-values.yaml`.
 * Without a known chart version the version is a placeholder to fill in: installing the newest chart onto an
 * older database is an upgrade nobody asked for.
 */
export function helmInstallCommand(options: { release: string; namespace: string; chartVersion: string | undefined; valuesFile?: string }): string {
  return [
    'helm upgrade --install',
    shellWord(options.release),
    'pachyderm/pachyderm',
    '--version',
    options.chartVersion ? shellWord(options.chartVersion) : '<CHART_VERSION>',
    '-n',
    shellWord(options.namespace),
    '-f',
    shellWord(options.valuesFile ?? 'restored-values.yaml'),
  ].join(' ');
}
