/** An API verb, as RBAC and SelfSubjectAccessReview name them. */
export type Verb = 'get' | 'list' | 'watch' | 'create' | 'update' | 'patch' | 'delete' | 'deletecollection';

/** A subresource the simulator serves for some kinds. */
export type Subresource = 'status' | 'scale';

/**
 * One resource the simulated API serves: where it lives (group/version/plural), what it is called, and what
 * can be done with it. Discovery, routing, tables and the store are all driven by this table, so a resource
 * missing here does not exist for kubectl or client-node either.
 */
export interface ResourceType {
  /** API group; '' for the core group served under /api/v1. */
  readonly group: string;
  readonly version: string;
  readonly plural: string;
  readonly singular: string;
  readonly kind: string;
  readonly namespaced: boolean;
  readonly verbs: readonly Verb[];
  readonly shortNames: readonly string[];
  readonly categories: readonly string[];
  readonly subresources: readonly Subresource[];
  /** Whether `metadata.generation` is kept and bumped on spec changes (workload controllers). */
  readonly tracksGeneration: boolean;
  /** Field selector paths accepted besides `metadata.name` and `metadata.namespace`. */
  readonly fieldSelectors: readonly string[];
  /** A create-only kind that is answered, never stored (SelfSubjectAccessReview). */
  readonly virtual?: boolean;
}

const ALL_VERBS: readonly Verb[] = ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'];

function resource(spec: Partial<ResourceType> & Pick<ResourceType, 'group' | 'version' | 'plural' | 'kind'>): ResourceType {
  return {
    singular: spec.kind.toLowerCase(),
    namespaced: true,
    verbs: ALL_VERBS,
    shortNames: [],
    categories: [],
    subresources: [],
    tracksGeneration: false,
    fieldSelectors: [],
    ...spec,
  };
}

/** Every resource the simulator serves. */
export const RESOURCE_TYPES: readonly ResourceType[] = [
  resource({ group: '', version: 'v1', plural: 'namespaces', kind: 'Namespace', namespaced: false, shortNames: ['ns'], subresources: ['status'], fieldSelectors: ['status.phase'] }),
  resource({ group: '', version: 'v1', plural: 'nodes', kind: 'Node', namespaced: false, shortNames: ['no'], subresources: ['status'], fieldSelectors: ['spec.unschedulable'] }),
  resource({
    group: '',
    version: 'v1',
    plural: 'pods',
    kind: 'Pod',
    shortNames: ['po'],
    categories: ['all'],
    subresources: ['status'],
    fieldSelectors: ['status.phase', 'spec.nodeName', 'spec.restartPolicy', 'spec.schedulerName', 'spec.serviceAccountName', 'status.podIP', 'status.nominatedNodeName'],
  }),
  resource({ group: '', version: 'v1', plural: 'configmaps', kind: 'ConfigMap', shortNames: ['cm'] }),
  resource({ group: '', version: 'v1', plural: 'secrets', kind: 'Secret', fieldSelectors: ['type'] }),
  resource({ group: '', version: 'v1', plural: 'services', kind: 'Service', shortNames: ['svc'], categories: ['all'], subresources: ['status'] }),
  resource({ group: '', version: 'v1', plural: 'serviceaccounts', kind: 'ServiceAccount', shortNames: ['sa'] }),
  resource({
    group: '',
    version: 'v1',
    plural: 'events',
    kind: 'Event',
    shortNames: ['ev'],
    fieldSelectors: ['involvedObject.kind', 'involvedObject.namespace', 'involvedObject.name', 'involvedObject.uid', 'reason', 'type', 'source'],
  }),
  resource({ group: '', version: 'v1', plural: 'persistentvolumeclaims', kind: 'PersistentVolumeClaim', shortNames: ['pvc'], subresources: ['status'] }),
  resource({
    group: '',
    version: 'v1',
    plural: 'replicationcontrollers',
    kind: 'ReplicationController',
    shortNames: ['rc'],
    categories: ['all'],
    subresources: ['status', 'scale'],
    tracksGeneration: true,
    fieldSelectors: ['status.replicas'],
  }),
  resource({ group: 'apps', version: 'v1', plural: 'deployments', kind: 'Deployment', shortNames: ['deploy'], categories: ['all'], subresources: ['status', 'scale'], tracksGeneration: true }),
  resource({ group: 'apps', version: 'v1', plural: 'replicasets', kind: 'ReplicaSet', shortNames: ['rs'], categories: ['all'], subresources: ['status', 'scale'], tracksGeneration: true }),
  resource({ group: 'apps', version: 'v1', plural: 'statefulsets', kind: 'StatefulSet', shortNames: ['sts'], categories: ['all'], subresources: ['status', 'scale'], tracksGeneration: true }),
  resource({ group: 'apps', version: 'v1', plural: 'daemonsets', kind: 'DaemonSet', shortNames: ['ds'], categories: ['all'], subresources: ['status'], tracksGeneration: true }),
  resource({ group: 'batch', version: 'v1', plural: 'jobs', kind: 'Job', categories: ['all'], subresources: ['status'], tracksGeneration: true, fieldSelectors: ['status.successful'] }),
  resource({ group: 'batch', version: 'v1', plural: 'cronjobs', kind: 'CronJob', shortNames: ['cj'], categories: ['all'], subresources: ['status'], tracksGeneration: true }),
  resource({
    group: 'authorization.k8s.io',
    version: 'v1',
    plural: 'selfsubjectaccessreviews',
    kind: 'SelfSubjectAccessReview',
    namespaced: false,
    verbs: ['create'],
    virtual: true,
  }),
  resource({
    group: 'authorization.k8s.io',
    version: 'v1',
    plural: 'selfsubjectrulesreviews',
    kind: 'SelfSubjectRulesReview',
    namespaced: false,
    verbs: ['create'],
    virtual: true,
  }),
];

/** `apps/v1`, or `v1` for the core group. */
export function apiVersionOf(resource: Pick<ResourceType, 'group' | 'version'>): string {
  return resource.group ? `${resource.group}/${resource.version}` : resource.version;
}

/** The resource served at group/version/plural, if any. */
export function findResource(group: string, version: string, plural: string): ResourceType | undefined {
  return RESOURCE_TYPES.find((r) => r.group === group && r.version === version && r.plural === plural);
}

/** The resource whose objects have this apiVersion and kind, if any. */
export function resourceForKind(apiVersion: string, kind: string): ResourceType | undefined {
  return RESOURCE_TYPES.find((r) => apiVersionOf(r) === apiVersion && r.kind === kind);
}

/** Like {@link resourceForKind} but throws for a kind the simulator does not serve (a programming error). */
export function mustResourceForKind(apiVersion: string, kind: string): ResourceType {
  const found = resourceForKind(apiVersion, kind);
  if (!found) throw new Error(`kube-sim does not serve ${apiVersion} ${kind}`);
  return found;
}

/** The distinct API groups (excluding core) with their versions, in table order. */
export function servedGroups(): Array<{ group: string; versions: string[] }> {
  const groups: Array<{ group: string; versions: string[] }> = [];
  for (const r of RESOURCE_TYPES) {
    if (!r.group) continue;
    let entry = groups.find((g) => g.group === r.group);
    if (!entry) {
      entry = { group: r.group, versions: [] };
      groups.push(entry);
    }
    if (!entry.versions.includes(r.version)) entry.versions.push(r.version);
  }
  return groups;
}

/** Resources served in one group/version. */
export function resourcesIn(group: string, version: string): ResourceType[] {
  return RESOURCE_TYPES.filter((r) => r.group === group && r.version === version);
}

/** Handy references to the kinds the controllers and seeding work with. */
export const KINDS = {
  namespace: mustResourceForKind('v1', 'Namespace'),
  node: mustResourceForKind('v1', 'Node'),
  pod: mustResourceForKind('v1', 'Pod'),
  configMap: mustResourceForKind('v1', 'ConfigMap'),
  secret: mustResourceForKind('v1', 'Secret'),
  service: mustResourceForKind('v1', 'Service'),
  serviceAccount: mustResourceForKind('v1', 'ServiceAccount'),
  replicationController: mustResourceForKind('v1', 'ReplicationController'),
  deployment: mustResourceForKind('apps/v1', 'Deployment'),
  replicaSet: mustResourceForKind('apps/v1', 'ReplicaSet'),
  statefulSet: mustResourceForKind('apps/v1', 'StatefulSet'),
  job: mustResourceForKind('batch/v1', 'Job'),
  cronJob: mustResourceForKind('batch/v1', 'CronJob'),
} as const;
