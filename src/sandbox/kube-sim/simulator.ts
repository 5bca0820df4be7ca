import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { DeniedRule } from './access-rules.js';
import { ControllerManager, type SimLogger } from './controllers.js';
import { noFaults, type Faults } from './faults.js';
import { kubeconfigFor } from './kubeconfig.js';
import { applyPachdStartup } from './pachd-mode.js';
import { seedPachydermCluster, type SeedOptions, type SeededCluster } from './pachyderm-cluster.js';
import { createRequestLog, type RecordedRequest } from './request-log.js';
import { seedBaseCluster } from './seed-workload.js';
import { createKubeApiHandler, type AccessPolicy } from './server.js';
import { ObjectStore, type StoreSnapshot } from './store.js';

/** How to start the simulator. */
export interface KubeSimulatorOptions {
  /** Interface to listen on (default 127.0.0.1). */
  host?: string;
  /** Port (default 0: any free port). */
  port?: number;
  /** How long pods take to start and to terminate, in ms (default 300; 0 works too). */
  podDelayMs?: number;
  /** Seed a Pachyderm namespace (default: yes, with default options); `false` for an empty cluster. */
  seed?: SeedOptions | false;
  /** Start from a saved store instead of seeding (see `--state-dir`). */
  snapshot?: StoreSnapshot;
  /** Requests to refuse with 403 (and SelfSubjectAccessReviews to answer "no"); see {@link DeniedRule}. */
  denied?: DeniedRule[];
  /** Failure injection; see {@link Faults}. Also changeable over HTTP at `/sandbox/faults` (see fault-endpoint.ts). */
  faults?: Partial<Faults>;
  /** The user named in 403 messages (default `system:serviceaccount:pachyderm:pachbackup`). */
  user?: string;
  /** How many of the most recent requests {@link KubeSimulator.requests} keeps (default 10 000; 0: none). */
  requestLogLimit?: number;
  logger?: SimLogger;
}

/** A running simulator. */
export interface KubeSimulator {
  /** `http://127.0.0.1:PORT` — the API server URL for kubeconfigs and `kubectl --server`. */
  readonly url: string;
  readonly port: number;
  /** The objects, for tests to inspect or change directly (changes are seen by watches and controllers). */
  readonly store: ObjectStore;
  /** What was seeded, or undefined when `seed: false` or started from a snapshot. */
  readonly seeded: SeededCluster | undefined;
  /** The refusals in force; edit the array to change them while running. */
  readonly denied: DeniedRule[];
  /** The injected faults in force; edit to change them while running, then call {@link KubeSimulator.resync}. */
  readonly faults: Faults;
  /**
   * The resource requests received so far, oldest first, in RBAC terms (verb, group, resource, subresource,
   * namespace, name) — refused and failed ones included; discovery, OpenAPI and health checks left out.
   * Bounded by `requestLogLimit`. Only requests over HTTP: the simulator's own controllers are not in it.
   */
  requests(): RecordedRequest[];
  /** Empties the request log. */
  clearRequests(): void;
  /** A kubeconfig YAML for this simulator (context `sandbox`). */
  kubeconfig(namespace?: string): string;
  /** Re-runs every controller once (after changing `faults.neverReady` or `faults.stuckTerminating`). */
  resync(): void;
  /** Ends every open watch stream now (as an apiserver restart or a proxy's idle timeout does); how many there were. */
  dropWatches(): number;
  /** Stops controllers and timers, ends watches and closes the server; the process can exit afterwards. */
  close(): Promise<void>;
}

/**
 * Starts the Kubernetes API simulator: an HTTP server speaking enough of the Kubernetes REST API for kubectl
 * and @kubernetes/client-node, over an in-memory store seeded with a Pachyderm cluster, with controllers
 * that run pods and pachd's pause/unpause behaviour.
 */
export async function startKubeSimulator(options: KubeSimulatorOptions = {}): Promise<KubeSimulator> {
  const store = new ObjectStore();
  let seeded: SeededCluster | undefined;
  if (options.snapshot) {
    store.restore(options.snapshot);
  } else {
    seedBaseCluster(store);
    if (options.seed !== false) seeded = seedPachydermCluster(store, { podStartupSeconds: (options.podDelayMs ?? 300) / 1000, ...(options.seed ?? {}) });
  }
  const faults: Faults = { ...noFaults(), ...(options.faults ?? {}) };
  const policy: AccessPolicy = { denied: options.denied ?? [], user: options.user ?? 'system:serviceaccount:pachyderm:pachbackup' };
  const logger = options.logger;
  const controllers = new ControllerManager({
    store,
    podDelayMs: options.podDelayMs ?? 300,
    faults,
    ...(logger ? { logger } : {}),
    hooks: { podReady: (pod) => applyPachdStartup(store, pod, logger) },
  });
  const requestLog = createRequestLog(options.requestLogLimit ?? 10_000);
  const api = createKubeApiHandler({ store, policy, faults, onRequest: requestLog.record, onFaultsChanged: () => controllers.resyncAll(), ...(logger ? { logger } : {}) });
  const server: Server = createServer({ keepAliveTimeout: 5000 }, api.handle);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  controllers.start();
  const address = server.address() as AddressInfo;
  const host = options.host ?? '127.0.0.1';
  const urlHost = host.includes(':') ? `[${host}]` : host === '0.0.0.0' ? '127.0.0.1' : host;
  const url = `http://${urlHost}:${address.port}`;
  let closed: Promise<void> | undefined;
  return {
    url,
    port: address.port,
    store,
    seeded,
    denied: policy.denied,
    faults,
    requests: () => requestLog.entries(),
    clearRequests: () => requestLog.clear(),
    kubeconfig: (namespace) => kubeconfigFor(url, namespace ?? seeded?.namespace ?? 'default'),
    resync: () => controllers.resyncAll(),
    dropWatches: () => api.dropWatches(),
    close: () => {
      closed ??= new Promise<void>((resolve) => {
        controllers.stop();
        api.closeWatches();
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return closed;
    },
  };
}
