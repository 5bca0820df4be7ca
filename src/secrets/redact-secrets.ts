/**
 * The one place that decides what a secret looks like, used wherever data leaves the backup store: Slack messages
 * and files, logs, the audit log, the state database, Redis job data and `--json` output. The backup store keeps
 * the real values (a restore needs them); everything else gets a visible placeholder that says where the value is.
 *
 * A value is a secret by the name it is filed under or by its shape:
 * - names (keys, or the `name` of a `{ name, value }` pair as in Kubernetes `env` lists and Helm `extraEnv`) with a
 *   word such as password, secret, token, credential(s), license, passphrase, authorization, or a qualified key
 *   (apiKey, privateKey, accessKey, licenseKey, AWS_SECRET_ACCESS_KEY, …) — split into words across camelCase,
 *   snake_case, kebab-case and dots;
 * - but not references to where a secret is kept, which stay as they are: names ending in Name, Ref, File, Path
 *   (`postgresqlExistingSecretName`, `secretKeyRef`, `keyFile`), anything with `existing` (`existingSecret`,
 *   `postgresqlExistingSecretKey`), a Secret object named by what it holds (`tlsSecret`, `postgresqlSSLSecret`,
 *   `credentialsSecret`), lists of Secret objects (`imagePullSecrets`), a `…SecretKey` beside its `…SecretName`
 *   (the key inside that Secret), ids (`accessKeyId`, `clientId`: identifiers, not secrets) and settings about a
 *   secret rather than the secret (`IDTokenExpiry`);
 * - shapes, wherever they appear in text: the password of a URL's userinfo, credentials in a query string
 *   (`?secret=…`, `&X-Amz-Signature=…`), `NAME=value` and `--name=value` with a secret name, PEM private keys,
 *   Slack tokens and `Authorization: Bearer …` values.
 * Booleans and empty strings are never secrets (`enabled: true`, `rootToken: ""`).
 */

/** What replaces a secret. Without a source, `[redacted]`; with one, where the real value is and how to print it. */
export interface SecretSource {
  /** Where the full, unredacted value is kept, e.g. `s3://bucket/prefix/backups/prod/<id>/helm-values.yaml`. */
  location: string;
  /** The command that prints it for someone with access to that place, e.g. `pachbackup values <id>`. */
  command: string;
}

/** The placeholder that stands for a secret from `source` (or `[redacted]`). */
export function secretPlaceholder(source?: SecretSource): string {
  return source ? `<secret: in ${source.location}; print with \`${source.command}\`>` : '[redacted]';
}

const SECRET_WORDS = new Set([
  'password', 'passwd', 'pwd', 'passphrase', 'secret', 'token', 'credential', 'credentials', 'cred', 'creds', 'license', 'licence', 'apikey', 'privatekey',
  'authorization', 'cookie',
]);
/** Secret words run together with others, as in PGPASSWORD or dbpassword. */
const SECRET_WITHIN_WORD = /password|passwd|passphrase|secret|token|credential|apikey|privatekey/;
/** The word before `key` that makes it a secret key rather than, say, an object key. */
const KEY_QUALIFIERS = new Set([
  'api', 'private', 'access', 'secret', 'license', 'licence', 'encryption', 'signing', 'master', 'client', 'auth', 'session', 'shared', 'account', 'root', 'ssh', 'enterprise', 'hmac', 'service', 'storage',
]);
/** Last words that make a name a reference to a secret, or a setting about it — not the secret. */
const REFERENCE_LAST_WORDS = new Set([
  'name', 'names', 'ref', 'refs', 'file', 'files', 'path', 'paths', 'dir', 'mount', 'id', 'ids', 'secrets', 'url' /* checked by shape */,
  'expiry', 'expiration', 'ttl', 'lifetime', 'timeout', 'duration', 'length', 'type', 'enabled', 'required', 'algorithm',
]);
/** `<word> secret` naming a Kubernetes Secret by what it holds. */
const SECRET_OBJECT_QUALIFIERS = new Set(['tls', 'ssl', 'credentials', 'credential', 'pull', 'existing', 'cert', 'certificate', 'ca']);

/** A name's words in lower case: `postgresqlSSLSecret` → postgresql, ssl, secret; `AWS_SECRET_ACCESS_KEY` → aws, secret, access, key. */
export function nameWords(name: string): string[] {
  return name
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .replace(/([A-Z]+)([A-Z][a-z])/g, '$1 $2')
    .split(/[^A-Za-z0-9]+/)
    .filter((w) => w !== '')
    .map((w) => w.toLowerCase());
}

/** True when a value filed under `name` is a secret (see the module's doc); `siblings` are the other keys beside it. */
export function isSecretName(name: string, siblings: readonly string[] = []): boolean {
  const words = nameWords(name);
  if (words.length === 0) return false;
  const last = words[words.length - 1]!;
  if (REFERENCE_LAST_WORDS.has(last) || words.includes('existing')) return false;
  if (last === 'secret' && words.length > 1 && SECRET_OBJECT_QUALIFIERS.has(words[words.length - 2]!)) return false;
  if (last === 'key' && siblings.includes(name.replace(/key$/i, (k) => (k === 'KEY' ? 'NAME' : k === 'key' ? 'name' : 'Name')))) return false;
  if (words.length === 1 && words[0] === 'pass') return true;
  return words.some((w, i) => SECRET_WORDS.has(w) || SECRET_WITHIN_WORD.test(w) || (w === 'key' && i > 0 && KEY_QUALIFIERS.has(words[i - 1]!)));
}

/** A placeholder already in the text (redacting twice changes nothing). */
function isPlaceholder(value: string): boolean {
  return value.startsWith('<secret:') || value.startsWith('[redacted]');
}

/** Query parameters that carry credentials (presigned URLs, tokens, passwords). */
function isSecretQueryName(name: string): boolean {
  const lower = name.toLowerCase();
  return lower.startsWith('x-amz-') ? ['x-amz-signature', 'x-amz-credential', 'x-amz-security-token'].includes(lower) : ['sig', 'signature'].includes(lower) || isSecretName(name);
}

const URL_USERINFO = /\b([a-z][a-z0-9+.-]*:\/\/)([^\s/@:"'\\<>]*):([^\s/@"'\\<>]+)@/gi;
const URL_USER_ONLY = /\b([a-z][a-z0-9+.-]*:\/\/)([^\s/@:"'\\<>]+)@/gi;
const QUERY_PARAM = /([?&])([A-Za-z0-9_.-]+)=([^&#\s"'\\<>]+)/g;
const ASSIGNMENT = /(^|[\s,;'"(\[])(--?)?([A-Za-z][A-Za-z0-9_.-]*)=([^\s,;'"&)\]]+)/g;
const PEM_PRIVATE_KEY = /-----BEGIN ([A-Z0-9 ]*)PRIVATE KEY-----[\s\S]*?(-----END \1PRIVATE KEY-----\r?\n?|$)/g;
const SLACK_TOKEN = /\bxox[abpoesr]-[A-Za-z0-9-]+/g;
const SLACK_APP_TOKEN = /\bxapp-[A-Za-z0-9-]+/g;
const AUTH_HEADER = /\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]{16,}/g;

/**
 * `text` with every secret that shows by its shape replaced: URL passwords (`postgres://user:<secret>@host`),
 * credentials in query strings, `NAME=value` / `--name=value` assignments of secret names, PEM private keys,
 * Slack tokens and Authorization header values. A URL that names only a user keeps it (`postgres://pachbackup@db`).
 */
export function scrubSecretText(text: string, source?: SecretSource): string {
  if (text.length < 6) return text;
  const hide = secretPlaceholder(source);
  return text
    .replace(PEM_PRIVATE_KEY, hide)
    .replace(URL_USERINFO, (_m, scheme: string, user: string) => `${scheme}${user}:${hide}@`)
    .replace(URL_USER_ONLY, (m, scheme: string, user: string) => (/^[A-Za-z0-9_.-]{1,64}$/.test(user) && !/^(xox|xapp|ghp_|AKIA)/.test(user) ? m : `${scheme}${hide}@`))
    .replace(QUERY_PARAM, (m, sep: string, name: string, value: string) => (isSecretQueryName(name) && !isPlaceholder(value) ? `${sep}${name}=${hide}` : m))
    .replace(ASSIGNMENT, (m, lead: string, dashes: string | undefined, name: string, value: string) => (isSecretName(name) && !isPlaceholder(value) ? `${lead}${dashes ?? ''}${name}=${hide}` : m))
    .replace(SLACK_TOKEN, source ? hide : 'xox?-[redacted]')
    .replace(SLACK_APP_TOKEN, source ? hide : 'xapp-[redacted]')
    .replace(AUTH_HEADER, (_m, scheme: string) => `${scheme} ${hide}`);
}

/** Whether a URL carries a credential inline: a password in its userinfo, or a secret query parameter. */
export function inlineUrlCredential(url: string): 'password' | 'query' | undefined {
  if (!URL.canParse(url)) return undefined;
  const parsed = new URL(url);
  if (parsed.password !== '') return 'password';
  for (const name of parsed.searchParams.keys()) if (isSecretQueryName(name)) return 'query';
  return undefined;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value) as unknown;
  return proto === Object.prototype || proto === null;
}

/** A secret scalar becomes the placeholder; booleans, null and empty strings stay. */
function hideScalar(value: unknown, hide: string): unknown {
  if (typeof value === 'string') return value === '' || isPlaceholder(value) ? value : hide;
  if (typeof value === 'number' || typeof value === 'bigint') return hide;
  return value;
}

/**
 * A deep copy of `value` with every secret replaced by the placeholder (see the module's doc): values filed under
 * secret names, the `value` of `{ name, value }` pairs whose name is a secret's, secret-shaped text in any string,
 * and anything in an array or object under a secret name that is not itself an object with names of its own.
 * Plain objects and arrays are copied; other objects (Dates, Buffers, Errors) are kept as they are. Never throws.
 */
export function redactSecrets<T>(value: T, source?: SecretSource): T {
  const hide = secretPlaceholder(source);
  const seen = new WeakSet<object>();
  const walk = (node: unknown, secret: boolean): unknown => {
    if (typeof node === 'string') return secret ? hideScalar(node, hide) : scrubSecretText(node, source);
    if (typeof node !== 'object' || node === null) return secret ? hideScalar(node, hide) : node;
    if (seen.has(node)) return node;
    if (Array.isArray(node)) {
      seen.add(node);
      return node.map((item) => walk(item, secret && !isPlainObject(item)));
    }
    if (!isPlainObject(node)) return node;
    seen.add(node);
    const keys = Object.keys(node);
    const pairName = typeof node.name === 'string' && 'value' in node ? node.name : undefined;
    const out: Record<string, unknown> = {};
    for (const key of keys) {
      const child = node[key];
      const isSecret = (key === 'value' && pairName !== undefined && isSecretName(pairName)) || isSecretName(key, keys);
      out[key] = walk(child, isSecret);
    }
    return out;
  };
  return walk(value, false) as T;
}
