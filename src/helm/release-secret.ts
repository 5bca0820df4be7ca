import { gunzipSync, gzipSync, constants as zlibConstants } from 'node:zlib';
import { PachbackupError } from '../errors.js';

/**
 * Helm 3 stores each revision of a release in a Secret (helm/helm pkg/storage/driver/secrets.go):
 * named `sh.helm.release.v1.<release>.v<revision>`, type `helm.sh/release.v1`, labelled
 * `owner=helm,name=<release>,status=<status>,version=<revision>`, with `data.release` holding the release
 * JSON gzipped and base64-encoded (pkg/storage/driver/util.go). The Kubernetes API base64-encodes Secret
 * `data` once more, so what a client reads in `secret.data.release` is base64(base64(gzip(json))).
 */

/** A release's state (helm/helm pkg/release/status.go). */
export type HelmReleaseStatus =
  | 'unknown'
  | 'deployed'
  | 'uninstalled'
  | 'superseded'
  | 'failed'
  | 'uninstalling'
  | 'pending-install'
  | 'pending-upgrade'
  | 'pending-rollback';

/** `chart.metadata` of a release: which chart, at which version, packaging which app version. */
export interface HelmChartMetadata {
  name: string;
  version: string;
  appVersion?: string;
  apiVersion?: string;
  description?: string;
  [key: string]: unknown;
}

/**
 * The parts of a Helm release pachbackup reads. `config` holds only the values the user supplied (what
 * `helm get values` prints, and what a restore must reinstall with); `chart.values` are the chart's defaults.
 * Unknown fields are kept, so a decoded release re-encodes without loss.
 */
export interface HelmRelease {
  name: string;
  namespace: string;
  /** The revision number (the `v<N>` of the Secret's name). */
  version: number;
  info: {
    status: HelmReleaseStatus;
    first_deployed?: string;
    last_deployed?: string;
    deleted?: string;
    description?: string;
    notes?: string;
    [key: string]: unknown;
  };
  config: Record<string, unknown>;
  chart: {
    metadata: HelmChartMetadata;
    values: Record<string, unknown>;
    [key: string]: unknown;
  };
  manifest: string;
  [key: string]: unknown;
}

/** The Secret `type` Helm 3 gives release Secrets. */
export const HELM_RELEASE_SECRET_TYPE = 'helm.sh/release.v1';

/** The name of the Secret holding one revision of a release. */
export function helmReleaseSecretName(release: string, revision: number): string {
  return `sh.helm.release.v1.${release}.v${revision}`;
}

/** The labels Helm sets on a release Secret (and selects them by: `owner=helm,name=<release>`). */
export function helmReleaseLabels(release: Pick<HelmRelease, 'name' | 'version' | 'info'>): Record<string, string> {
  return { name: release.name, owner: 'helm', status: release.info.status, version: String(release.version) };
}

/** The label selector that finds every revision of a release. */
export function helmReleaseSelector(release: string): string {
  return `owner=helm,name=${release}`;
}

const GZIP_MAGIC = [0x1f, 0x8b, 0x08];
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

function integrity(message: string, cause?: unknown): PachbackupError {
  return new PachbackupError('integrity', message, {
    hint: 'expected the data.release value of a helm.sh/release.v1 Secret as the Kubernetes API returns it (base64 of Helm\'s base64 gzipped JSON)',
    ...(cause === undefined ? {} : { cause }),
  });
}

function decodeBase64Strict(text: string, layer: string): Buffer {
  const compact = text.replace(/\s+/g, '');
  if (compact.length === 0) throw integrity(`Helm release data is empty (${layer})`);
  if (compact.length % 4 !== 0 || !BASE64.test(compact)) throw integrity(`Helm release data is not valid base64 (${layer})`);
  return Buffer.from(compact, 'base64');
}

function startsWithGzip(bytes: Buffer): boolean {
  return GZIP_MAGIC.every((b, i) => bytes[i] === b);
}

/**
 * Decodes `secret.data.release` as read through the Kubernetes API into the release. Undoes the API's
 * base64, then Helm's base64, then gunzips (Helm stores uncompressed JSON for very old releases; that is
 * accepted too, as Helm does). Also accepts the value with the API's layer already removed (what
 * `kubectl get secret -o jsonpath='{.data.release}' | base64 -d` prints). Anything else throws a
 * PachbackupError with code 'integrity'.
 */
export function decodeHelmRelease(secretDataRelease: string): HelmRelease {
  if (typeof secretDataRelease !== 'string') throw integrity('Helm release data must be a string');
  let bytes = decodeBase64Strict(secretDataRelease, 'Kubernetes Secret data');
  if (!startsWithGzip(bytes) && bytes[0] !== 0x7b) {
    bytes = decodeBase64Strict(bytes.toString('latin1'), 'Helm release encoding');
  }
  let json: Buffer = bytes;
  if (startsWithGzip(bytes)) {
    try {
      json = gunzipSync(bytes);
    } catch (err) {
      throw integrity('Helm release data is not a valid gzip stream (truncated or corrupted)', err);
    }
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(json.toString('utf8'));
  } catch (err) {
    throw integrity('Helm release data does not hold a JSON document', err);
  }
  return checkRelease(parsed);
}

function checkRelease(value: unknown): HelmRelease {
  const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
  if (!isObject(value)) throw integrity('Helm release JSON is not an object');
  if (typeof value.name !== 'string' || value.name === '') throw integrity('Helm release JSON has no release name');
  if (typeof value.version !== 'number' || !Number.isInteger(value.version)) throw integrity(`Helm release "${value.name}" has no revision number`);
  if (!isObject(value.info) || typeof value.info.status !== 'string') throw integrity(`Helm release "${value.name}" has no info.status`);
  if (!isObject(value.chart) || !isObject(value.chart.metadata) || typeof value.chart.metadata.name !== 'string') {
    throw integrity(`Helm release "${value.name}" has no chart metadata`);
  }
  // Helm omits empty fields: `config` is absent when no values were supplied, `namespace`/`manifest` may be too.
  const release = value as HelmRelease;
  if (typeof release.namespace !== 'string') release.namespace = '';
  if (!isObject(release.config)) release.config = {};
  if (!isObject(release.chart.values)) release.chart.values = {};
  if (typeof release.manifest !== 'string') release.manifest = '';
  return release;
}

/**
 * Encodes a release the way it appears in `secret.data.release` over the Kubernetes API:
 * base64(base64(gzip(json))). Put it in a Secret's `data` (not `stringData`) when creating the Secret through
 * the API; {@link decodeHelmRelease} reverses it.
 */
export function encodeHelmRelease(release: HelmRelease): string {
  const gz = gzipSync(Buffer.from(JSON.stringify(release), 'utf8'), { level: zlibConstants.Z_BEST_COMPRESSION });
  const helmEncoded = gz.toString('base64');
  return Buffer.from(helmEncoded, 'latin1').toString('base64');
}

/** A release Secret as Helm writes it, ready to create through the Kubernetes API. */
export interface HelmReleaseSecret {
  apiVersion: 'v1';
  kind: 'Secret';
  metadata: { name: string; namespace: string; labels: Record<string, string> };
  type: typeof HELM_RELEASE_SECRET_TYPE;
  data: { release: string };
}

/**
 * The Secret Helm would store for this release revision. `createdAt` (seconds since the epoch) becomes the
 * `createdAt` label Helm sets on create.
 */
export function buildHelmReleaseSecret(release: HelmRelease, options: { createdAt?: number } = {}): HelmReleaseSecret {
  const labels = helmReleaseLabels(release);
  if (options.createdAt !== undefined) labels.createdAt = String(options.createdAt);
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: helmReleaseSecretName(release.name, release.version), namespace: release.namespace, labels },
    type: HELM_RELEASE_SECRET_TYPE,
    data: { release: encodeHelmRelease(release) },
  };
}
