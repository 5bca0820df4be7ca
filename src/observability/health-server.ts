import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import { describeError } from '../errors.js';
import type { Logger } from '../log.js';

/**
 * One dependency readiness depends on. `check` resolves when the dependency answers and rejects otherwise; it is
 * given up on after its timeout (the signal is aborted then, for checks that can stop early).
 */
export interface ReadinessCheck {
  name: string;
  check: (signal: AbortSignal) => Promise<unknown>;
  /** Default: the server's `checkTimeoutMs`. */
  timeoutMs?: number;
}

/** The outcome of one check as `/readyz` reports it. */
export type CheckResult = { ok: true; ms: number } | { ok: false; ms: number; error: string };

/** The JSON body of `/readyz`. */
export interface ReadinessReport {
  ready: boolean;
  /** Names of the checks that failed (empty when ready). */
  failing: string[];
  checks: Record<string, CheckResult>;
}

export interface HealthServer {
  /** The port it listens on (the real one when started with port 0). */
  port: number;
  host: string;
  /** e.g. `http://127.0.0.1:9464`. */
  url: string;
  /** Stops listening and closes open connections. */
  close(): Promise<void>;
}

/** Strips credentials from URLs in an error message (`redis://:pw@host` → `redis://[redacted]@host`): /readyz is unauthenticated. */
function safeMessage(err: unknown): string {
  return describeError(err).replace(/(\/\/)[^/@\s]+@/g, '$1[redacted]@').slice(0, 300);
}

/** Runs the checks at once, each within its timeout. */
export async function runReadinessChecks(checks: readonly ReadinessCheck[], defaultTimeoutMs = 2000): Promise<ReadinessReport> {
  const results = await Promise.all(
    checks.map(async ({ name, check, timeoutMs }): Promise<[string, CheckResult]> => {
      const limit = timeoutMs ?? defaultTimeoutMs;
      const controller = new AbortController();
      const started = performance.now();
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => {
          reject(new Error(`no answer within ${limit} ms`));
          controller.abort();
        }, limit);
      });
      try {
        await Promise.race([Promise.resolve().then(() => check(controller.signal)), timeout]);
        return [name, { ok: true, ms: Math.round(performance.now() - started) }];
      } catch (err) {
        return [name, { ok: false, ms: Math.round(performance.now() - started), error: safeMessage(err) }];
      } finally {
        clearTimeout(timer);
      }
    }),
  );
  const failing = results.filter(([, r]) => !r.ok).map(([name]) => name);
  return { ready: failing.length === 0, failing, checks: Object.fromEntries(results) };
}

function send(res: ServerResponse, status: number, contentType: string, body: string, head: boolean): void {
  res.writeHead(status, { 'content-type': contentType, 'content-length': Buffer.byteLength(body), 'cache-control': 'no-store' });
  res.end(head ? undefined : body);
}

/**
 * The operations endpoint of a long-running process (serve or worker), for Prometheus and Kubernetes probes:
 * - `GET /metrics` — the registry in Prometheus' text format (content type from the registry);
 * - `GET /healthz` — liveness: 200 whenever the event loop gets to answer; touches nothing else, so a slow
 *   dependency never gets the pod restarted;
 * - `GET /readyz` — readiness: runs every check (state database, Redis…) with a short timeout each; 200 with
 *   the results as JSON, or 503 naming the failing checks;
 * - anything else 404 (405 for another method on these paths). HEAD is answered like GET, without a body.
 * `host` defaults to 0.0.0.0 so the kubelet and Prometheus can reach it; bind 127.0.0.1 elsewhere.
 */
export async function startHealthServer(options: {
  port: number;
  host?: string;
  registry: Registry;
  checks?: readonly ReadinessCheck[];
  checkTimeoutMs?: number;
  log?: Logger;
}): Promise<HealthServer> {
  const { registry, log } = options;
  const checks = options.checks ?? [];
  const host = options.host ?? '0.0.0.0';

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    const route = path === '/metrics' || path === '/healthz' || path === '/readyz' ? path : undefined;
    if (!route) return send(res, 404, 'text/plain; charset=utf-8', 'not found: try /metrics, /healthz or /readyz\n', false);
    const head = req.method === 'HEAD';
    if (req.method !== 'GET' && !head) {
      res.setHeader('allow', 'GET, HEAD');
      return send(res, 405, 'text/plain; charset=utf-8', 'method not allowed\n', false);
    }
    switch (route) {
      case '/healthz':
        return send(res, 200, 'text/plain; charset=utf-8', 'ok\n', head);
      case '/readyz': {
        const report = await runReadinessChecks(checks, options.checkTimeoutMs);
        if (!report.ready) log?.warn({ failing: report.failing, checks: report.checks }, 'not ready');
        return send(res, report.ready ? 200 : 503, 'application/json; charset=utf-8', `${JSON.stringify(report)}\n`, head);
      }
      case '/metrics':
        return send(res, 200, registry.contentType, await registry.metrics(), head);
    }
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      log?.error({ err, path: req.url }, 'health endpoint failed');
      if (!res.headersSent) send(res, 500, 'text/plain; charset=utf-8', 'internal error\n', false);
      else res.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const urlHost = host.includes(':') ? `[${host}]` : host === '0.0.0.0' ? '127.0.0.1' : host;
  return {
    port,
    host,
    url: `http://${urlHost}:${port}`,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      }),
  };
}
