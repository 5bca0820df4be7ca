import { createHash } from 'node:crypto';
import { RESOURCE_TYPES, type ResourceType } from './resources.js';

/**
 * A skeleton of the apiserver's OpenAPI v3 documents (`/openapi/v3` and `/openapi/v3/<api|apis/group>/<version>`).
 * kubectl apply/create read them only to learn whether the server validates fields itself (a PATCH
 * operation per kind declaring the `fieldValidation` query parameter); when it does, kubectl skips its
 * client-side schema validation, which would otherwise need the full schemas (or fail with
 * "failed to download openapi"). No component schemas are served, so `kubectl explain` has nothing to show.
 */

function groupVersionPath(resource: Pick<ResourceType, 'group' | 'version'>): string {
  return resource.group ? `apis/${resource.group}/${resource.version}` : `api/${resource.version}`;
}

function groupVersionPaths(): string[] {
  return [...new Set(RESOURCE_TYPES.map(groupVersionPath))];
}

function hashOf(path: string): string {
  return createHash('sha512').update(`kube-sim:${path}`).digest('hex').slice(0, 128).toUpperCase();
}

/** `/openapi/v3`: where each group/version document lives. */
export function openApiV3Root(): Record<string, unknown> {
  const paths: Record<string, { serverRelativeURL: string }> = {};
  for (const gv of groupVersionPaths()) paths[gv] = { serverRelativeURL: `/openapi/v3/${gv}?hash=${hashOf(gv)}` };
  return { paths };
}

const QUERY_PARAMETERS = ['dryRun', 'fieldManager', 'fieldValidation', 'force', 'pretty'].map((name) => ({
  name,
  in: 'query',
  schema: { type: name === 'force' ? 'boolean' : 'string', uniqueItems: true },
}));

/** `/openapi/v3/<gv>`: one PATCH operation per kind with the `fieldValidation` parameter; undefined when not served. */
export function openApiV3Document(gvPath: string): Record<string, unknown> | undefined {
  const resources = RESOURCE_TYPES.filter((r) => groupVersionPath(r) === gvPath);
  if (resources.length === 0) return undefined;
  const paths: Record<string, unknown> = {};
  for (const r of resources) {
    if (!r.verbs.includes('patch')) continue;
    const base = r.namespaced ? `/${gvPath}/namespaces/{namespace}/${r.plural}/{name}` : `/${gvPath}/${r.plural}/{name}`;
    paths[base] = {
      patch: {
        description: `partially update the specified ${r.kind}`,
        operationId: `patch${r.kind}`,
        parameters: QUERY_PARAMETERS,
        responses: { '200': { description: 'OK' } },
        'x-kubernetes-action': 'patch',
        'x-kubernetes-group-version-kind': { group: r.group, version: r.version, kind: r.kind },
      },
    };
  }
  return {
    openapi: '3.0.0',
    info: { title: 'Kubernetes', version: 'v1.32.4' },
    paths,
    components: { schemas: {} },
  };
}
