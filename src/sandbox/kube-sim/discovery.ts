import { RESOURCE_TYPES, resourcesIn, servedGroups, type ResourceType } from './resources.js';

/**
 * The discovery documents kubectl and client libraries read before anything else: `/version`, `/api`,
 * `/apis`, `/api/v1` and `/apis/<group>/<version>`. Only the legacy (unaggregated) format is produced:
 * when a client asks for aggregated discovery (`as=APIGroupDiscoveryList`) it gets the legacy document with
 * `Content-Type: application/json`, which client-go treats as "server does not aggregate" and falls back
 * to per-group requests.
 */

/** What `/version` answers: a Kubernetes 1.32 server. */
export function versionInfo(): Record<string, string> {
  return {
    major: '1',
    minor: '32',
    gitVersion: 'v1.32.4',
    gitCommit: '59526cd4867447956156ae3a602fcbac10a2c335',
    gitTreeState: 'clean',
    buildDate: '2025-04-22T16:02:27Z',
    goVersion: 'go1.23.6',
    compiler: 'gc',
    platform: 'linux/amd64',
  };
}

/** `/api`: the core group's versions. */
export function coreApiVersions(serverAddress: string): Record<string, unknown> {
  return {
    kind: 'APIVersions',
    versions: ['v1'],
    serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress }],
  };
}

function groupEntry(group: string, versions: string[]): Record<string, unknown> {
  const list = versions.map((version) => ({ groupVersion: `${group}/${version}`, version }));
  return { name: group, versions: list, preferredVersion: list[0] };
}

/** `/apis`: every named group. */
export function apiGroupList(): Record<string, unknown> {
  return {
    kind: 'APIGroupList',
    apiVersion: 'v1',
    groups: servedGroups().map((g) => groupEntry(g.group, g.versions)),
  };
}

/** `/apis/<group>`: one group, or undefined when not served. */
export function apiGroup(group: string): Record<string, unknown> | undefined {
  const found = servedGroups().find((g) => g.group === group);
  if (!found) return undefined;
  return { kind: 'APIGroup', apiVersion: 'v1', ...groupEntry(found.group, found.versions) };
}

function resourceEntries(resource: ResourceType): Array<Record<string, unknown>> {
  const main: Record<string, unknown> = {
    name: resource.plural,
    singularName: resource.singular,
    namespaced: resource.namespaced,
    kind: resource.kind,
    verbs: [...resource.verbs],
  };
  if (resource.shortNames.length > 0) main.shortNames = [...resource.shortNames];
  if (resource.categories.length > 0) main.categories = [...resource.categories];
  const subs = resource.subresources.map((sub) =>
    sub === 'scale'
      ? {
          name: `${resource.plural}/scale`,
          singularName: '',
          namespaced: resource.namespaced,
          group: 'autoscaling',
          version: 'v1',
          kind: 'Scale',
          verbs: ['get', 'patch', 'update'],
        }
      : { name: `${resource.plural}/status`, singularName: '', namespaced: resource.namespaced, kind: resource.kind, verbs: ['get', 'patch', 'update'] },
  );
  return [main, ...subs];
}

/** `/api/v1` or `/apis/<group>/<version>`: the resources of one group/version, or undefined when not served. */
export function apiResourceList(group: string, version: string): Record<string, unknown> | undefined {
  const resources = resourcesIn(group, version);
  if (resources.length === 0) return undefined;
  return {
    kind: 'APIResourceList',
    apiVersion: 'v1',
    groupVersion: group ? `${group}/${version}` : version,
    resources: resources.flatMap(resourceEntries),
  };
}

/** Every group/version served, for logging and tests. */
export function servedGroupVersions(): string[] {
  return [...new Set(RESOURCE_TYPES.map((r) => (r.group ? `${r.group}/${r.version}` : r.version)))];
}
