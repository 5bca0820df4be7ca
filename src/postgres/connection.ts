import { readFileSync } from 'node:fs';
import { connect as connectTcp } from 'node:net';
import type { ConnectionOptions } from 'node:tls';
import pg from 'pg';
import type { ClientConfig } from 'pg';
import type { PostgresConfig } from '../config/config.js';
import { PachbackupError } from '../errors.js';
import { withConnectRetry } from './postgres-retry.js';

/**
 * How pachbackup reaches PostgreSQL, for its own queries (node-pg) and for the libpq tools it runs (pg_dump,
 * pg_restore, psql), with the same `sslmode` meaning for both.
 *
 * sslmode, as libpq defines it (https://www.postgresql.org/docs/current/libpq-ssl.html), and what node-pg is
 * given for it:
 * - `disable`: no TLS.
 * - `allow`: plain first; TLS only when the server refuses a plain connection (pg_hba `hostssl`). Without
 *   `sslRootCert` the TLS attempt does not verify the certificate.
 * - `prefer`: TLS when the server offers it (asked with an SSLRequest probe, as libpq does), plain when it
 *   answers that it has no TLS. Unlike libpq, a failed TLS handshake is not retried in plain text: a server that
 *   offers TLS and then fails it is a fault worth seeing, not a reason to send the password unencrypted.
 * - `require`: TLS, certificate not verified — unless `sslRootCert` is given: libpq then verifies the chain
 *   (as verify-ca), and so do we.
 * - `verify-ca`: TLS, chain verified against `sslRootCert`, host name not checked.
 * - `verify-full`: TLS, chain and host name (or IP SAN) verified.
 * In every mode that may use TLS, a given `sslRootCert` is used to verify the chain, matching libpq, which
 * verifies whenever its root certificate file exists.
 */

/** `PGCONNECT_TIMEOUT` and node-pg's connection timeout: a server that does not answer fails in this time. */
export const CONNECT_TIMEOUT_SECONDS = 10;

/** The `application_name` pachbackup's sessions carry, so a DBA can see (and tell apart) its connections. */
export const APPLICATION_NAME = 'pachbackup';

/** Either a configured PostgreSQL server or a connection URL (tests, drills against a scratch server). */
export type PostgresServer = PostgresConfig | string;

/** `user@host:port/database (sslmode …)` — for messages; never includes the password. */
export function describeConnection(config: PostgresConfig, database: string): string {
  return `${config.user}@${config.host}:${config.port}/${database} (sslmode ${config.sslmode})`;
}

/** Where a connection URL points, without its password — for messages. */
export function describeUrl(url: string, database?: string): string {
  try {
    const u = new URL(url);
    return `${decodeURIComponent(u.username) || '(default user)'}@${u.hostname}:${u.port || '5432'}/${database ?? decodeURIComponent(u.pathname.replace(/^\//, ''))}`;
  } catch {
    return '(unparseable PostgreSQL URL)';
  }
}

/** Reads the CA bundle named by `sslRootCert`, failing with the path in the message when it cannot. */
function readRootCert(config: PostgresConfig): string | undefined {
  if (config.sslRootCert === undefined) return undefined;
  try {
    return readFileSync(config.sslRootCert, 'utf8');
  } catch (err) {
    throw new PachbackupError('config-invalid', `cannot read sslRootCert ${config.sslRootCert}: ${(err as Error).message}`, {
      hint: 'point postgres.sslRootCert at the PEM file of the CA that signed the server certificate',
      cause: err,
    });
  }
}

/** node-pg's TLS options for a mode that uses TLS (`require` and looser: verify only when a CA is given). */
function tlsOptions(config: PostgresConfig): ConnectionOptions {
  const ca = readRootCert(config);
  switch (config.sslmode) {
    case 'verify-full':
      if (ca === undefined) throw missingRootCert(config);
      // node-pg sets `servername` for host names (not IPs); tls.connect then checks the name or IP SAN.
      return { ca, rejectUnauthorized: true };
    case 'verify-ca':
      if (ca === undefined) throw missingRootCert(config);
      return { ca, rejectUnauthorized: true, checkServerIdentity: () => undefined };
    default:
      // libpq verifies the chain (not the host name) whenever a root certificate is available.
      return ca === undefined ? { rejectUnauthorized: false } : { ca, rejectUnauthorized: true, checkServerIdentity: () => undefined };
  }
}

function missingRootCert(config: PostgresConfig): PachbackupError {
  return new PachbackupError('config-invalid', `sslmode ${config.sslmode} needs sslRootCert (the CA that signed the server certificate)`, {
    hint: 'set postgres.sslRootCert, or use sslmode require to encrypt without verifying',
  });
}

/**
 * The node-pg configuration for the first connection attempt to `database`. For `allow` that is a plain
 * connection and for `prefer` a TLS one; `connectPostgres` makes the libpq-style second attempt when needed.
 * The result holds the password: hand it to node-pg, never to a log.
 */
export function pgClientConfig(config: PostgresConfig, database: string): ClientConfig {
  const base: ClientConfig = {
    host: config.host,
    port: config.port,
    user: config.user,
    database,
    application_name: APPLICATION_NAME,
    connectionTimeoutMillis: CONNECT_TIMEOUT_SECONDS * 1000,
    ...(config.password !== undefined ? { password: config.password } : {}),
  };
  const useTls = config.sslmode !== 'disable' && config.sslmode !== 'allow';
  return { ...base, ssl: useTls ? tlsOptions(config) : false };
}

/** The same server reached the other way round (TLS ↔ plain), for `allow`/`prefer` fallbacks. */
function alternateClientConfig(config: PostgresConfig, database: string, tls: boolean): ClientConfig {
  return { ...pgClientConfig({ ...config, sslmode: 'disable' }, database), ssl: tls ? tlsOptions(config) : false };
}

/**
 * The environment for pg_dump, pg_restore and psql: the parent's environment without any `PG*` variable (a
 * stray PGSERVICE, PGPASSFILE, PGOPTIONS or PGSSLCERT must not change what the tool connects to), plus the
 * connection settings. libpq implements every sslmode itself, so `PGSSLMODE` is passed through unchanged.
 */
export function libpqEnvironment(config: PostgresConfig, database: string, parent: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const env = toolEnvironment(parent);
  env.PGHOST = config.host;
  env.PGPORT = String(config.port);
  env.PGUSER = config.user;
  env.PGDATABASE = database;
  env.PGSSLMODE = config.sslmode;
  env.PGCONNECT_TIMEOUT = String(CONNECT_TIMEOUT_SECONDS);
  env.PGAPPNAME = APPLICATION_NAME;
  if (config.password !== undefined) env.PGPASSWORD = config.password;
  if (config.sslRootCert !== undefined) env.PGSSLROOTCERT = config.sslRootCert;
  return env;
}

/**
 * The parent's environment without any `PG*` variable, for a libpq tool that must not connect anywhere by
 * accident or be steered by stray settings (e.g. `pg_restore --list`).
 */
export function toolEnvironment(parent: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(parent)) if (!name.startsWith('PG')) env[name] = value;
  return env;
}

/**
 * A libpq conninfo string naming only the database, for `pg_dump`/`pg_restore -d`: a bare name containing `=`
 * or starting with `postgres://` would be parsed as a connection string, so it is always quoted.
 */
export function conninfoForDatabase(database: string): string {
  return `dbname='${database.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

/**
 * Asks the server whether it speaks TLS, the way libpq starts: an SSLRequest packet, answered by one byte,
 * `S` (yes) or `N` (no). Resolves false when the server answers `N`.
 */
export async function serverOffersTls(host: string, port: number, timeoutMs = CONNECT_TIMEOUT_SECONDS * 1000): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const socket = connectTcp({ host, port });
    const timer = setTimeout(() => socket.destroy(new Error(`no answer from ${host}:${port} within ${timeoutMs} ms`)), timeoutMs);
    socket.once('connect', () => {
      const request = Buffer.alloc(8);
      request.writeInt32BE(8, 0);
      request.writeInt32BE(80877103, 4); // SSLRequest code: 1234 << 16 | 5679
      socket.write(request);
    });
    socket.once('data', (data) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(data[0] === 0x53); // 'S'
    });
    socket.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    socket.once('close', () => {
      clearTimeout(timer);
      reject(new Error(`${host}:${port} closed the connection before answering the SSL request`));
    });
  });
}

/**
 * A connected node-pg client for `database`, honouring sslmode as documented at the top of this module. An
 * idle client's late errors (server shut down, connection terminated) are swallowed so they cannot crash the
 * process; the next query reports them. Connection failures become a PachbackupError 'unavailable' naming the
 * server and database (never the password), retryable when the server may come back (refused, timeout,
 * starting up, too many connections).
 */
export async function connectPostgres(config: PostgresConfig, database: string): Promise<pg.Client> {
  const where = describeConnection(config, database);
  let first = pgClientConfig(config, database);
  if (config.sslmode === 'prefer') {
    const offers = await serverOffersTls(config.host, config.port).catch((err: unknown) => {
      throw connectionError(err, where, config);
    });
    if (!offers) first = alternateClientConfig(config, database, false);
  }
  try {
    // A server that cannot be reached yet (restarting, failing over) is tried again for a while.
    return await withConnectRetry(`PostgreSQL at ${config.host}:${config.port}`, () => openClient(first));
  } catch (err) {
    // allow: libpq retries with TLS when the plain attempt is rejected by pg_hba (e.g. `hostssl` only).
    if (config.sslmode === 'allow' && sqlState(err) === '28000') {
      try {
        return await openClient(alternateClientConfig(config, database, true));
      } catch (second) {
        throw connectionError(second, where, config);
      }
    }
    throw connectionError(err, where, config);
  }
}

/** Connects to a URL (tests and drills use the test server's URL), with the same error handling. */
export async function connectPostgresUrl(url: string, database?: string): Promise<pg.Client> {
  let connectionString = url;
  if (database !== undefined) {
    const u = new URL(url);
    u.pathname = `/${encodeURIComponent(database)}`;
    connectionString = u.toString();
  }
  try {
    return await withConnectRetry(`PostgreSQL at ${describeUrl(url, database)}`, () => openClient({ connectionString, application_name: APPLICATION_NAME, connectionTimeoutMillis: CONNECT_TIMEOUT_SECONDS * 1000 }));
  } catch (err) {
    throw connectionError(err, describeUrl(url, database), undefined);
  }
}

async function openClient(clientConfig: ClientConfig): Promise<pg.Client> {
  const client = new pg.Client(clientConfig);
  client.on('error', () => {
    // Reported by the next query on this client; an unhandled 'error' event would crash the process.
  });
  try {
    await client.connect();
  } catch (err) {
    await client.end().catch(() => undefined);
    throw err;
  }
  return client;
}

/**
 * Runs `fn` with a client connected to `database` (a configured server or a URL), always closing it. When
 * `signal` aborts, the connection is closed under the running query and a PachbackupError 'cancelled' is thrown.
 */
export async function withPostgresClient<T>(
  server: PostgresServer,
  database: string,
  fn: (client: pg.Client) => Promise<T>,
  options: { signal?: AbortSignal } = {},
): Promise<T> {
  const { signal } = options;
  throwIfCancelled(signal, `connecting to ${database}`);
  const client = typeof server === 'string' ? await connectPostgresUrl(server, database) : await connectPostgres(server, database);
  const onAbort = (): void => void client.end().catch(() => undefined);
  signal?.addEventListener('abort', onAbort, { once: true });
  try {
    const result = await fn(client);
    throwIfCancelled(signal, `querying ${database}`);
    return result;
  } catch (err) {
    throwIfCancelled(signal, `querying ${database}`);
    throw err;
  } finally {
    signal?.removeEventListener('abort', onAbort);
    await client.end().catch(() => undefined);
  }
}

/** Throws PachbackupError 'cancelled' when `signal` has aborted, naming what was being done. */
export function throwIfCancelled(signal: AbortSignal | undefined, doing: string): void {
  if (signal?.aborted) throw new PachbackupError('cancelled', `cancelled while ${doing}`, { cause: signal.reason });
}

/** The SQLSTATE of a server error from node-pg, if it is one. */
export function sqlState(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) ? code : undefined;
}

const RETRYABLE_NETWORK = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN', 'EPIPE']);
// cannot_connect_now (starting up / shutting down), too_many_connections, admin_shutdown.
const RETRYABLE_SQLSTATE = new Set(['57P03', '53300', '57P01']);

/**
 * A connection failure as a PachbackupError 'unavailable', with a hint for the usual causes: TLS verification,
 * authentication, a missing database, an unreachable server.
 */
function connectionError(err: unknown, where: string, config: PostgresConfig | undefined): PachbackupError {
  const message = err instanceof Error ? err.message : String(err);
  const code = (err as { code?: unknown } | null)?.code;
  const state = sqlState(err);
  const retryable = (typeof code === 'string' && RETRYABLE_NETWORK.has(code)) || (state !== undefined && RETRYABLE_SQLSTATE.has(state)) || /timeout/i.test(message);
  let hint: string | undefined;
  if (typeof code === 'string' && (code.includes('CERT') || code.includes('SIGNATURE') || code === 'ERR_TLS_CERT_ALTNAME_INVALID')) {
    hint =
      code === 'ERR_TLS_CERT_ALTNAME_INVALID'
        ? `the server certificate does not name ${config?.host ?? 'the host'}; connect by a name it lists, or use sslmode verify-ca`
        : `the server certificate is not signed by the CA in sslRootCert${config?.sslRootCert ? ` (${config.sslRootCert})` : ''}; point sslRootCert at the CA that signed it`;
    return new PachbackupError('unavailable', `TLS verification of ${where} failed: ${message}`, { retryable: false, hint, cause: err });
  }
  if (state === '3D000') hint = 'the database does not exist on this server: check postgres.databases and postgres.host';
  else if (state === '28P01' || state === '28000') hint = 'PostgreSQL rejected the user or password (or pg_hba.conf has no entry for this connection and sslmode)';
  else if (/does not support SSL/i.test(message)) hint = 'the server has TLS turned off: use sslmode prefer or disable, or enable ssl on the server';
  else if (code === 'ECONNREFUSED') hint = 'nothing listens on that host and port: is PostgreSQL running and reachable from here?';
  return new PachbackupError('unavailable', `cannot connect to ${where}: ${message}`, { retryable, ...(hint ? { hint } : {}), cause: err });
}
