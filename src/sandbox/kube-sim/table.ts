import { isJsonObject, specOf, statusOf, type KubeObject } from './kube-object.js';
import type { ResourceType } from './resources.js';
import { formatRequirements, workloadSelector } from './selectors.js';
import { desiredReplicas } from './workloads.js';

/**
 * Server-side printing: the `meta.k8s.io/v1` Table that `kubectl get` asks for
 * (`Accept: application/json;as=Table;v=v1;g=meta.k8s.io`), with the same columns the apiserver prints for
 * the kinds the simulator serves (pkg/printers/internalversion/printers.go), so `kubectl get deploy` shows
 * READY/UP-TO-DATE/AVAILABLE and `kubectl get pods` shows STATUS.
 */

/** A column of a Table. */
export interface TableColumn {
  name: string;
  type: 'string' | 'integer' | 'number' | 'boolean' | 'date';
  format: string;
  description: string;
  priority: number;
}

/** How much of each object a Table row carries (`?includeObject=`). */
export type IncludeObject = 'None' | 'Metadata' | 'Object';

type Cell = string | number | boolean;
type Printer = { columns: TableColumn[]; cells: (obj: KubeObject, now: Date) => Cell[] };

const col = (name: string, type: TableColumn['type'] = 'string', priority = 0, format = ''): TableColumn => ({
  name,
  type,
  format,
  description: `${name} of the object`,
  priority,
});

const NAME = col('Name', 'string', 0, 'name');
const AGE = col('Age');

/** kubectl's short human durations: 45s, 3m12s, 5h, 2d3h, 40d, 2y10d. */
export function humanDuration(ms: number): string {
  const seconds = Math.max(0, Math.floor(ms / 1000));
  if (seconds < 120) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 10) return seconds % 60 === 0 ? `${minutes}m` : `${minutes}m${seconds % 60}s`;
  if (minutes < 180) return `${minutes}m`;
  const hours = Math.floor(minutes / 60);
  if (hours < 8) return minutes % 60 === 0 ? `${hours}h` : `${hours}h${minutes % 60}m`;
  if (hours < 48) return `${hours}h`;
  const days = Math.floor(hours / 24);
  if (days < 8) return hours % 24 === 0 ? `${days}d` : `${days}d${hours % 24}h`;
  if (days < 365 * 2) return `${days}d`;
  const years = Math.floor(days / 365);
  return days % 365 === 0 ? `${years}y` : `${years}y${days % 365}d`;
}

function age(obj: KubeObject, now: Date): string {
  const created = obj.metadata.creationTimestamp;
  return created ? humanDuration(now.getTime() - Date.parse(created)) : '<unknown>';
}

function num(value: unknown): number {
  return typeof value === 'number' ? value : 0;
}

function containers(obj: KubeObject): Array<Record<string, unknown>> {
  const template = specOf(obj).template;
  const podSpec = isJsonObject(template) && isJsonObject(template.spec) ? template.spec : specOf(obj);
  return Array.isArray(podSpec.containers) ? podSpec.containers.filter(isJsonObject) : [];
}

function podStatusText(pod: KubeObject): string {
  if (pod.metadata.deletionTimestamp) return 'Terminating';
  const statuses = statusOf(pod).containerStatuses;
  if (Array.isArray(statuses)) {
    for (const s of statuses) {
      if (isJsonObject(s) && isJsonObject(s.state) && isJsonObject(s.state.waiting) && typeof s.state.waiting.reason === 'string') return s.state.waiting.reason;
    }
  }
  return String(statusOf(pod).phase ?? 'Unknown');
}

const wideWorkload = [col('Containers', 'string', 1), col('Images', 'string', 1), col('Selector', 'string', 1)];
const wideWorkloadCells = (obj: KubeObject): Cell[] => [
  containers(obj).map((c) => String(c.name)).join(','),
  containers(obj).map((c) => String(c.image)).join(','),
  formatRequirements(workloadSelector(obj)),
];

const replicaPrinter: Printer = {
  columns: [NAME, col('Desired', 'integer'), col('Current', 'integer'), col('Ready', 'integer'), AGE, ...wideWorkload],
  cells: (o, now) => [o.metadata.name ?? '', desiredReplicas(o), num(statusOf(o).replicas), num(statusOf(o).readyReplicas), age(o, now), ...wideWorkloadCells(o)],
};

const PRINTERS: Record<string, Printer> = {
  Pod: {
    columns: [NAME, col('Ready'), col('Status'), col('Restarts', 'string'), AGE, col('IP', 'string', 1), col('Node', 'string', 1), col('Nominated Node', 'string', 1), col('Readiness Gates', 'string', 1)],
    cells: (o, now) => {
      const statuses = Array.isArray(statusOf(o).containerStatuses) ? (statusOf(o).containerStatuses as unknown[]).filter(isJsonObject) : [];
      const total = Array.isArray(specOf(o).containers) ? (specOf(o).containers as unknown[]).length : 0;
      const ready = statuses.filter((s) => s.ready === true).length;
      const restarts = statuses.reduce((sum, s) => sum + num(s.restartCount), 0);
      return [o.metadata.name ?? '', `${ready}/${total}`, podStatusText(o), String(restarts), age(o, now), String(statusOf(o).podIP ?? '<none>'), String(specOf(o).nodeName ?? '<none>'), '<none>', '<none>'];
    },
  },
  Deployment: {
    columns: [NAME, col('Ready'), col('Up-to-date', 'integer'), col('Available', 'integer'), AGE, ...wideWorkload],
    cells: (o, now) => [
      o.metadata.name ?? '',
      `${num(statusOf(o).readyReplicas)}/${desiredReplicas(o)}`,
      num(statusOf(o).updatedReplicas),
      num(statusOf(o).availableReplicas),
      age(o, now),
      ...wideWorkloadCells(o),
    ],
  },
  ReplicaSet: replicaPrinter,
  ReplicationController: replicaPrinter,
  StatefulSet: {
    columns: [NAME, col('Ready'), AGE, col('Containers', 'string', 1), col('Images', 'string', 1)],
    cells: (o, now) => [o.metadata.name ?? '', `${num(statusOf(o).readyReplicas)}/${desiredReplicas(o)}`, age(o, now), ...wideWorkloadCells(o).slice(0, 2)],
  },
  ConfigMap: {
    columns: [NAME, col('Data', 'integer'), AGE],
    cells: (o, now) => [o.metadata.name ?? '', Object.keys(isJsonObject(o.data) ? o.data : {}).length + Object.keys(isJsonObject(o.binaryData) ? o.binaryData : {}).length, age(o, now)],
  },
  Secret: {
    columns: [NAME, col('Type'), col('Data', 'integer'), AGE],
    cells: (o, now) => [o.metadata.name ?? '', String(o.type ?? 'Opaque'), Object.keys(isJsonObject(o.data) ? o.data : {}).length, age(o, now)],
  },
  Namespace: {
    columns: [NAME, col('Status'), AGE],
    cells: (o, now) => [o.metadata.name ?? '', o.metadata.deletionTimestamp ? 'Terminating' : String(statusOf(o).phase ?? 'Active'), age(o, now)],
  },
  Service: {
    columns: [NAME, col('Type'), col('Cluster-IP'), col('External-IP'), col('Port(s)'), AGE, col('Selector', 'string', 1)],
    cells: (o, now) => {
      const ports = Array.isArray(specOf(o).ports) ? (specOf(o).ports as unknown[]).filter(isJsonObject) : [];
      const selector = isJsonObject(specOf(o).selector) ? Object.entries(specOf(o).selector as Record<string, string>).map(([k, v]) => `${k}=${v}`).join(',') : '<none>';
      return [
        o.metadata.name ?? '',
        String(specOf(o).type ?? 'ClusterIP'),
        String(specOf(o).clusterIP ?? '<none>'),
        '<none>',
        ports.map((p) => `${String(p.port)}/${String(p.protocol ?? 'TCP')}`).join(',') || '<none>',
        age(o, now),
        selector,
      ];
    },
  },
  CronJob: {
    columns: [NAME, col('Schedule'), col('Timezone'), col('Suspend', 'boolean'), col('Active', 'integer'), col('Last Schedule'), AGE],
    cells: (o, now) => {
      const last = statusOf(o).lastScheduleTime;
      return [
        o.metadata.name ?? '',
        String(specOf(o).schedule ?? ''),
        String(specOf(o).timeZone ?? '<none>'),
        specOf(o).suspend === true,
        Array.isArray(statusOf(o).active) ? (statusOf(o).active as unknown[]).length : 0,
        typeof last === 'string' ? humanDuration(now.getTime() - Date.parse(last)) : '<none>',
        age(o, now),
      ];
    },
  },
  Job: {
    columns: [NAME, col('Status'), col('Completions'), col('Duration'), AGE],
    cells: (o, now) => [
      o.metadata.name ?? '',
      num(statusOf(o).succeeded) > 0 ? 'Complete' : 'Running',
      `${num(statusOf(o).succeeded)}/${num(specOf(o).completions) || 1}`,
      '<none>',
      age(o, now),
    ],
  },
  Event: {
    columns: [col('Last Seen'), col('Type'), col('Reason'), col('Object'), col('Message')],
    cells: (o, now) => {
      const involved = isJsonObject(o.involvedObject) ? o.involvedObject : {};
      const last = typeof o.lastTimestamp === 'string' ? o.lastTimestamp : o.metadata.creationTimestamp;
      return [
        last ? humanDuration(now.getTime() - Date.parse(last)) : '<unknown>',
        String(o.type ?? ''),
        String(o.reason ?? ''),
        `${String(involved.kind ?? '').toLowerCase()}/${String(involved.name ?? '')}`,
        String(o.message ?? ''),
      ];
    },
  },
};

const DEFAULT_PRINTER: Printer = { columns: [NAME, AGE], cells: (o, now) => [o.metadata.name ?? '', age(o, now)] };

function rowObject(obj: KubeObject, include: IncludeObject): Record<string, unknown> | undefined {
  if (include === 'None') return undefined;
  if (include === 'Object') return obj;
  return { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: obj.metadata };
}

/**
 * A Table of objects of one resource. `headers: false` leaves out the column definitions (the apiserver
 * sends them only with the first event of a watch).
 */
export function toTable(
  resource: ResourceType,
  objects: readonly KubeObject[],
  options: { include: IncludeObject; resourceVersion?: string; continueToken?: string; headers?: boolean; now?: Date },
): Record<string, unknown> {
  const printer = PRINTERS[resource.kind] ?? DEFAULT_PRINTER;
  const now = options.now ?? new Date();
  const metadata: Record<string, unknown> = {};
  if (options.resourceVersion !== undefined) metadata.resourceVersion = options.resourceVersion;
  if (options.continueToken) metadata.continue = options.continueToken;
  return {
    kind: 'Table',
    apiVersion: 'meta.k8s.io/v1',
    metadata,
    columnDefinitions: options.headers === false ? null : printer.columns,
    rows: objects.map((obj) => {
      const row: Record<string, unknown> = { cells: printer.cells(obj, now) };
      const object = rowObject(obj, options.include);
      if (object) row.object = object;
      return row;
    }),
  };
}

/** Whether a request's Accept header asks for a Table. */
export function wantsTable(accept: string | undefined): boolean {
  return (accept ?? '').split(',').some((part) => /(^|;)\s*as=Table(\s*;|$)/.test(part.trim()) && part.includes('g=meta.k8s.io'));
}

