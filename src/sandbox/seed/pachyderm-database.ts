import type pg from 'pg';
import type { DatasetSize } from './chunks.js';

/**
 * Schemas, tables and rows shaped like a Pachyderm 2.x `pachyderm` database (pfs, pps, storage, auth,
 * collections, license, identity, migrations) — enough that a dump and restore of it means something: several
 * schemas, foreign keys, sequences, bytea and jsonb columns, indexes. `storage.chunk_objects` is filled by
 * `addChunks` with the keys that exist in the bucket.
 */
export async function createPachydermSchema(db: pg.ClientBase): Promise<void> {
  await db.query(`
    CREATE SCHEMA IF NOT EXISTS pfs;
    CREATE SCHEMA IF NOT EXISTS pps;
    CREATE SCHEMA IF NOT EXISTS storage;
    CREATE SCHEMA IF NOT EXISTS auth;
    CREATE SCHEMA IF NOT EXISTS collections;
    CREATE SCHEMA IF NOT EXISTS license;
    CREATE SCHEMA IF NOT EXISTS identity;

    CREATE TABLE IF NOT EXISTS public.migrations (id bigint PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now());

    CREATE TABLE IF NOT EXISTS pfs.projects (
      id bigserial PRIMARY KEY, name text NOT NULL UNIQUE, description text NOT NULL DEFAULT '',
      created_at timestamptz NOT NULL DEFAULT now(), updated_at timestamptz NOT NULL DEFAULT now());
    CREATE TABLE IF NOT EXISTS pfs.repos (
      id bigserial PRIMARY KEY, name text NOT NULL, type text NOT NULL DEFAULT 'user',
      project_id bigint NOT NULL REFERENCES pfs.projects(id), description text NOT NULL DEFAULT '',
      created_at timestamptz NOT NULL DEFAULT now(), updated_at timestamptz NOT NULL DEFAULT now(),
      UNIQUE (name, type, project_id));
    CREATE TABLE IF NOT EXISTS pfs.commits (
      int_id bigserial PRIMARY KEY, commit_id text NOT NULL UNIQUE, commit_set_id text NOT NULL,
      repo_id bigint NOT NULL REFERENCES pfs.repos(id), branch_id_str text, origin text NOT NULL DEFAULT 'USER',
      description text NOT NULL DEFAULT '', start_time timestamptz, finishing_time timestamptz, finished_time timestamptz,
      error text NOT NULL DEFAULT '', size bigint NOT NULL DEFAULT 0,
      created_at timestamptz NOT NULL DEFAULT now(), updated_at timestamptz NOT NULL DEFAULT now());
    CREATE INDEX IF NOT EXISTS commits_repo_id ON pfs.commits (repo_id);
    CREATE TABLE IF NOT EXISTS pfs.commit_ancestry (
      parent bigint NOT NULL REFERENCES pfs.commits(int_id), child bigint NOT NULL REFERENCES pfs.commits(int_id), PRIMARY KEY (parent, child));
    CREATE TABLE IF NOT EXISTS pfs.branches (
      id bigserial PRIMARY KEY, name text NOT NULL, head bigint NOT NULL REFERENCES pfs.commits(int_id),
      repo_id bigint NOT NULL REFERENCES pfs.repos(id), created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now(), UNIQUE (repo_id, name));
    CREATE TABLE IF NOT EXISTS pfs.commit_totals (commit_id text PRIMARY KEY, fileset_id uuid NOT NULL);

    CREATE TABLE IF NOT EXISTS pps.pipelines (
      id bigserial PRIMARY KEY, project_id bigint NOT NULL REFERENCES pfs.projects(id), name text NOT NULL,
      version int NOT NULL, spec jsonb NOT NULL, state text NOT NULL DEFAULT 'PIPELINE_RUNNING',
      created_at timestamptz NOT NULL DEFAULT now(), UNIQUE (project_id, name, version));
    CREATE TABLE IF NOT EXISTS pps.jobs (
      id bigserial PRIMARY KEY, job_id text NOT NULL UNIQUE, pipeline_id bigint NOT NULL REFERENCES pps.pipelines(id),
      state text NOT NULL, data_processed bigint NOT NULL DEFAULT 0, data_failed bigint NOT NULL DEFAULT 0,
      started timestamptz, finished timestamptz);

    CREATE TABLE IF NOT EXISTS storage.chunk_objects (
      chunk_id bytea NOT NULL, gen bigint NOT NULL, uploaded boolean NOT NULL DEFAULT false,
      tombstone boolean NOT NULL DEFAULT false, size bigint NOT NULL, PRIMARY KEY (chunk_id, gen));
    CREATE TABLE IF NOT EXISTS storage.filesets (id uuid PRIMARY KEY, metadata_pb bytea NOT NULL, created_at timestamptz NOT NULL DEFAULT now());
    CREATE TABLE IF NOT EXISTS storage.tracker_objects (int_id bigserial PRIMARY KEY, str_id text NOT NULL UNIQUE, expires_at timestamptz);
    CREATE TABLE IF NOT EXISTS storage.tracker_refs (
      from_id bigint NOT NULL REFERENCES storage.tracker_objects(int_id), to_id bigint NOT NULL REFERENCES storage.tracker_objects(int_id), PRIMARY KEY (from_id, to_id));
    CREATE TABLE IF NOT EXISTS storage.keys (name text PRIMARY KEY, data bytea NOT NULL);

    CREATE TABLE IF NOT EXISTS auth.auth_tokens (token_hash text PRIMARY KEY, subject text NOT NULL, expiration timestamptz);
    CREATE TABLE IF NOT EXISTS auth.role_bindings (resource text NOT NULL, principal text NOT NULL, roles text[] NOT NULL, PRIMARY KEY (resource, principal));

    CREATE TABLE IF NOT EXISTS collections.pipelines (key text PRIMARY KEY, proto bytea NOT NULL, createdat timestamptz NOT NULL DEFAULT now(), updatedat timestamptz NOT NULL DEFAULT now());
    CREATE TABLE IF NOT EXISTS collections.jobs (key text PRIMARY KEY, proto bytea NOT NULL, createdat timestamptz NOT NULL DEFAULT now(), updatedat timestamptz NOT NULL DEFAULT now(), idx_pipeline text);
    CREATE TABLE IF NOT EXISTS collections.cluster_defaults (key text PRIMARY KEY, proto bytea NOT NULL);

    CREATE TABLE IF NOT EXISTS license.clusters (id text PRIMARY KEY, address text NOT NULL, secret text NOT NULL, version text, last_heartbeat timestamptz);
    CREATE TABLE IF NOT EXISTS identity.config (id int PRIMARY KEY, issuer text NOT NULL, id_token_expiry text);
  `);
}

/** Rows for a small or a benchmark-sized cluster. Idempotent per database: run once on a fresh one. */
export async function seedPachydermRows(db: pg.ClientBase, size: DatasetSize): Promise<void> {
  const commits = size === 'bench' ? 40_000 : 400;
  const jobs = size === 'bench' ? 20_000 : 200;
  const filesets = size === 'bench' ? 30_000 : 300;
  await db.query(`
    INSERT INTO public.migrations (id, name) SELECT n, 'migration_' || n FROM generate_series(1, 42) n;
    INSERT INTO pfs.projects (name, description) VALUES ('default', 'The default project'), ('images', 'Image processing');
    INSERT INTO pfs.repos (name, type, project_id) VALUES
      ('raw', 'user', 1), ('edges', 'user', 1), ('montage', 'user', 1), ('edges', 'spec', 1), ('edges', 'meta', 1),
      ('uploads', 'user', 2), ('resize', 'user', 2), ('resize', 'spec', 2);
    INSERT INTO pfs.commits (commit_id, commit_set_id, repo_id, branch_id_str, description, start_time, finished_time, size)
      SELECT md5('commit' || n), md5('set' || (n / 3)), 1 + n % 8, 'master', 'commit ' || n,
             now() - (n || ' minutes')::interval, now() - (n || ' minutes')::interval + interval '3 seconds', (n * 7919) % 1000000
      FROM generate_series(1, ${commits}) n;
    INSERT INTO pfs.commit_ancestry (parent, child) SELECT n, n + 8 FROM generate_series(1, ${commits - 8}) n;
    INSERT INTO pfs.branches (name, head, repo_id) SELECT 'master', ${commits - 8} + r, r FROM generate_series(1, 8) r;
    INSERT INTO pfs.commit_totals (commit_id, fileset_id) SELECT md5('commit' || n), md5('fs' || n)::uuid FROM generate_series(1, ${commits}) n;
    INSERT INTO pps.pipelines (project_id, name, version, spec) VALUES
      (1, 'edges', 1, '{"transform":{"image":"pachyderm/opencv:1.0","cmd":["python3","/edges.py"]},"parallelism_spec":{"constant":1}}'),
      (1, 'montage', 1, '{"transform":{"image":"dpokidov/imagemagick:7.1.0-23","cmd":["sh"]},"parallelism_spec":{"constant":1}}'),
      (2, 'resize', 3, '{"transform":{"image":"example/resize:3"},"parallelism_spec":{"constant":2}}');
    INSERT INTO pps.jobs (job_id, pipeline_id, state, data_processed, started, finished)
      SELECT md5('job' || n), 1 + n % 3, CASE WHEN n % 50 = 0 THEN 'JOB_FAILURE' ELSE 'JOB_SUCCESS' END, n % 100,
             now() - (n || ' minutes')::interval, now() - (n || ' minutes')::interval + interval '20 seconds'
      FROM generate_series(1, ${jobs}) n;
    INSERT INTO storage.filesets (id, metadata_pb) SELECT md5('fs' || n)::uuid, decode(md5('meta' || n) || md5('pb' || n), 'hex') FROM generate_series(1, ${filesets}) n;
    INSERT INTO storage.tracker_objects (str_id, expires_at) SELECT 'fileset/' || md5('fs' || n), NULL FROM generate_series(1, ${filesets}) n;
    INSERT INTO storage.tracker_refs (from_id, to_id) SELECT n, n + 1 FROM generate_series(1, ${filesets - 1}) n;
    INSERT INTO storage.keys (name, data) VALUES ('default', decode(md5(random()::text) || md5(random()::text), 'hex'));
    INSERT INTO auth.auth_tokens (token_hash, subject, expiration) SELECT md5('token' || n), 'user:user' || n || '@example.com', now() + interval '30 days' FROM generate_series(1, 25) n;
    INSERT INTO auth.role_bindings (resource, principal, roles) VALUES ('CLUSTER:', 'pach:root', ARRAY['clusterAdmin']), ('REPO:default/raw', 'group:data-science', ARRAY['repoWriter']);
    INSERT INTO collections.pipelines (key, proto) SELECT p || '@' || md5(p), decode(md5(p), 'hex') FROM unnest(ARRAY['default/edges', 'default/montage', 'images/resize']) p;
    INSERT INTO collections.jobs (key, proto, idx_pipeline) SELECT md5('job' || n), decode(md5('jobproto' || n), 'hex'), 'default/edges' FROM generate_series(1, ${jobs}) n;
    INSERT INTO license.clusters (id, address, secret, version) VALUES ('localhost', 'grpc://localhost:1653', 'sandbox', '2.11.6');
    INSERT INTO identity.config (id, issuer) VALUES (1, 'http://pachd:30658/dex');
  `);
}

/** Dex's tables (the identity database, `dex` by default), with a few rows. */
export async function seedDexDatabase(db: pg.ClientBase): Promise<void> {
  await db.query(`
    CREATE TABLE IF NOT EXISTS migrations (num integer NOT NULL, at timestamptz NOT NULL);
    CREATE TABLE IF NOT EXISTS client (id text PRIMARY KEY, secret text NOT NULL, redirect_uris bytea NOT NULL, trusted_peers bytea NOT NULL, public boolean NOT NULL, name text NOT NULL, logo_url text NOT NULL);
    CREATE TABLE IF NOT EXISTS auth_request (id text PRIMARY KEY, client_id text NOT NULL, response_types bytea NOT NULL, scopes bytea NOT NULL, redirect_uri text NOT NULL, nonce text NOT NULL, state text NOT NULL, force_approval_prompt boolean NOT NULL, logged_in boolean NOT NULL, claims_user_id text NOT NULL, claims_username text NOT NULL, claims_email text NOT NULL, claims_email_verified boolean NOT NULL, claims_groups bytea NOT NULL, connector_id text NOT NULL, connector_data bytea, expiry timestamptz NOT NULL);
    CREATE TABLE IF NOT EXISTS auth_code (id text PRIMARY KEY, client_id text NOT NULL, scopes bytea NOT NULL, nonce text NOT NULL, redirect_uri text NOT NULL, claims_user_id text NOT NULL, claims_username text NOT NULL, claims_email text NOT NULL, claims_email_verified boolean NOT NULL, claims_groups bytea NOT NULL, connector_id text NOT NULL, connector_data bytea, expiry timestamptz NOT NULL);
    CREATE TABLE IF NOT EXISTS refresh_token (id text PRIMARY KEY, client_id text NOT NULL, scopes bytea NOT NULL, nonce text NOT NULL, claims_user_id text NOT NULL, claims_username text NOT NULL, claims_email text NOT NULL, claims_email_verified boolean NOT NULL, claims_groups bytea NOT NULL, connector_id text NOT NULL, connector_data bytea, token text NOT NULL DEFAULT '', created_at timestamptz NOT NULL DEFAULT now(), last_used timestamptz NOT NULL DEFAULT now());
    CREATE TABLE IF NOT EXISTS password (email text PRIMARY KEY, hash bytea NOT NULL, username text NOT NULL, user_id text NOT NULL);
    CREATE TABLE IF NOT EXISTS offline_session (user_id text NOT NULL, conn_id text NOT NULL, refresh bytea NOT NULL, connector_data bytea, PRIMARY KEY (user_id, conn_id));
    CREATE TABLE IF NOT EXISTS connector (id text PRIMARY KEY, type text NOT NULL, name text NOT NULL, resource_version text NOT NULL, config bytea);
    CREATE TABLE IF NOT EXISTS keys (id text PRIMARY KEY, verification_keys bytea NOT NULL, signing_key bytea NOT NULL, signing_key_pub bytea NOT NULL, next_rotation timestamptz NOT NULL);

    INSERT INTO migrations (num, at) SELECT n, now() FROM generate_series(1, 14) n;
    INSERT INTO client VALUES ('pachd', 'sandbox-secret', '["http://pachd:30657/authorization-code/callback"]', '[]', false, 'pachd', ''),
                              ('console', 'sandbox-secret', '["http://console:4000/oauth/callback/"]', '["pachd"]', false, 'Console', '');
    INSERT INTO connector VALUES ('github', 'github', 'GitHub', '1', convert_to('{"clientID":"sandbox"}', 'UTF8'));
    INSERT INTO password SELECT 'user' || n || '@example.com', convert_to(md5('pw' || n), 'UTF8'), 'user' || n, md5('uid' || n) FROM generate_series(1, 12) n;
    INSERT INTO refresh_token (id, client_id, scopes, nonce, claims_user_id, claims_username, claims_email, claims_email_verified, claims_groups, connector_id)
      SELECT md5('rt' || n), 'pachd', '["openid"]', '', md5('uid' || n), 'user' || n, 'user' || n || '@example.com', true, '[]', 'github' FROM generate_series(1, 12) n;
    INSERT INTO keys VALUES ('keys', '[]', convert_to('{"kty":"RSA"}', 'UTF8'), convert_to('{"kty":"RSA"}', 'UTF8'), now() + interval '6 hours');
  `);
}
