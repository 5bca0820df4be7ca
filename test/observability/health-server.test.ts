import { Redis } from 'ioredis';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHealthServer, type HealthServer, type ReadinessReport } from '../../src/observability/health-server.js';
import { createMetrics } from '../../src/observability/metrics.js';
import { redisCheck, stateDatabaseCheck } from '../../src/observability/readiness-checks.js';
import { services } from '../support/services.js';

/** Liveness, readiness and metrics endpoints against the shared PostgreSQL and Redis. */
describe('the health server', () => {
  let pool: pg.Pool;
  let redis: Redis;
  let closedRedis: Redis;
  const servers: HealthServer[] = [];

  const start = async (checks: Parameters<typeof startHealthServer>[0]['checks'], checkTimeoutMs?: number) => {
    const server = await startHealthServer({ port: 0, host: '127.0.0.1', registry: createMetrics({ defaultMetrics: false }).registry, checks, ...(checkTimeoutMs ? { checkTimeoutMs } : {}) });
    servers.push(server);
    return server;
  };
  const readyz = async (server: HealthServer) => {
    const res = await fetch(`${server.url}/readyz`);
    return { status: res.status, contentType: res.headers.get('content-type'), body: (await res.json()) as ReadinessReport };
  };

  beforeAll(async () => {
    pool = new pg.Pool({ connectionString: services().postgresUrl, max: 2 });
    redis = new Redis(services().redisUrl, { lazyConnect: true });
    await redis.connect();
    closedRedis = new Redis(services().redisUrl, { lazyConnect: true });
    await closedRedis.connect();
    await closedRedis.quit();
  });
  afterAll(async () => {
    await Promise.all(servers.map((s) => s.close()));
    await pool?.end();
    redis?.disconnect();
  });

  it('is ready, with every check listed, when the state database and Redis answer', async () => {
    const server = await start([stateDatabaseCheck(pool), redisCheck(redis)]);
    const { status, contentType, body } = await readyz(server);
    expect(status).toBe(200);
    expect(contentType).toMatch(/^application\/json/);
    expect(body).toMatchObject({ ready: true, failing: [], checks: { 'state-db': { ok: true }, redis: { ok: true } } });
  });

  it('is not ready (503), naming the failing check and why, when Redis is gone', async () => {
    const server = await start([stateDatabaseCheck(pool), redisCheck(closedRedis)]);
    const { status, body } = await readyz(server);
    expect(status).toBe(503);
    expect(body.ready).toBe(false);
    expect(body.failing).toEqual(['redis']);
    expect(body.checks['state-db']).toMatchObject({ ok: true });
    expect(body.checks.redis).toMatchObject({ ok: false, error: expect.stringContaining('Connection is closed') });
  });

  it('gives up on a check that does not answer, and says so', async () => {
    let aborted = false;
    const hanging = {
      name: 'hangs',
      check: (signal: AbortSignal) =>
        new Promise<void>((resolve) =>
          signal.addEventListener('abort', () => {
            aborted = true;
            resolve();
          }),
        ),
    };
    const server = await start([hanging, redisCheck(redis)], 100);
    const { status, body } = await readyz(server);
    expect(status).toBe(503);
    expect(body.failing).toEqual(['hangs']);
    expect(body.checks.hangs).toMatchObject({ ok: false, error: 'no answer within 100 ms' });
    expect(aborted).toBe(true);
  });

  it('keeps passwords in connection errors out of the unauthenticated answer', async () => {
    const server = await start([{ name: 'db', check: () => Promise.reject(new Error('cannot reach postgres://pachbackup:hunter2@db.internal:5432/state')) }]);
    const { body } = await readyz(server);
    expect(JSON.stringify(body)).not.toContain('hunter2');
    expect(body.checks.db).toMatchObject({ ok: false, error: 'cannot reach postgres://[redacted]@db.internal:5432/state' });
  });

  it('answers liveness without running the checks, even while they fail', async () => {
    const server = await start([redisCheck(closedRedis)]);
    const res = await fetch(`${server.url}/healthz`);
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('ok\n');
    const head = await fetch(`${server.url}/healthz`, { method: 'HEAD' });
    expect(head.status).toBe(200);
  });

  it('serves the registry in Prometheus text format, and 404 for anything else', async () => {
    const server = await start([]);
    const metrics = await fetch(`${server.url}/metrics?debug=1`);
    expect(metrics.status).toBe(200);
    expect(metrics.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(await metrics.text()).toContain('# TYPE pachbackup_runs_total counter');
    expect((await fetch(`${server.url}/`)).status).toBe(404);
    expect((await fetch(`${server.url}/metricsx`)).status).toBe(404);
    const post = await fetch(`${server.url}/metrics`, { method: 'POST' });
    expect(post.status).toBe(405);
    expect(post.headers.get('allow')).toBe('GET, HEAD');
  });

  it('is ready with no checks at all, and stops listening when closed', async () => {
    const server = await start([]);
    expect((await readyz(server)).status).toBe(200);
    await server.close();
    servers.splice(servers.indexOf(server), 1);
    await expect(fetch(`${server.url}/healthz`)).rejects.toThrow();
  });
});
