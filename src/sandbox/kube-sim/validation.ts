import { invalid } from './api-error.js';
import { isJsonObject, specOf, type JsonObject, type KubeObject } from './kube-object.js';
import type { ResourceType } from './resources.js';
import { matchesLabels, workloadSelector } from './selectors.js';

type Problem = { field: string; message: string };

function checkContainers(podSpec: unknown, field: string, problems: Problem[]): void {
  const containers = isJsonObject(podSpec) ? podSpec.containers : undefined;
  if (!Array.isArray(containers) || containers.length === 0) {
    problems.push({ field: `${field}.containers`, message: 'Required value' });
    return;
  }
  containers.forEach((c, i) => {
    if (!isJsonObject(c) || typeof c.name !== 'string' || c.name === '') problems.push({ field: `${field}.containers[${i}].name`, message: 'Required value' });
    if (!isJsonObject(c) || typeof c.image !== 'string' || c.image === '') problems.push({ field: `${field}.containers[${i}].image`, message: 'Required value' });
  });
}

function checkReplicas(spec: JsonObject, problems: Problem[]): void {
  const replicas = spec.replicas;
  if (replicas !== undefined && (typeof replicas !== 'number' || !Number.isInteger(replicas) || replicas < 0)) {
    problems.push({ field: 'spec.replicas', message: `Invalid value: ${JSON.stringify(replicas)}: must be greater than or equal to 0` });
  }
}

function checkWorkload(obj: KubeObject, problems: Problem[]): void {
  const spec = specOf(obj);
  checkReplicas(spec, problems);
  const selector = workloadSelector(obj);
  if (selector.length === 0) problems.push({ field: 'spec.selector', message: 'Required value' });
  const template = isJsonObject(spec.template) ? spec.template : undefined;
  if (!template) {
    problems.push({ field: 'spec.template', message: 'Required value' });
    return;
  }
  const labels = isJsonObject(template.metadata) && isJsonObject(template.metadata.labels) ? (template.metadata.labels as Record<string, string>) : {};
  if (selector.length > 0 && !matchesLabels(selector, labels)) {
    problems.push({ field: 'spec.template.metadata.labels', message: `Invalid value: ${JSON.stringify(labels)}: \`selector\` does not match template \`labels\`` });
  }
  checkContainers(template.spec, 'spec.template.spec', problems);
}

/**
 * The validation the apiserver does that a client could trip over with the simulator's kinds: workloads
 * need a selector that matches their template labels and at least one container, replicas are
 * non-negative integers, ConfigMap data are strings, CronJobs have a schedule. Throws a 422 Invalid ApiError.
 */
export function validateObject(resource: ResourceType, obj: KubeObject): void {
  const problems: Problem[] = [];
  switch (resource.kind) {
    case 'Deployment':
    case 'ReplicaSet':
    case 'StatefulSet':
    case 'ReplicationController':
      checkWorkload(obj, problems);
      break;
    case 'Pod':
      checkContainers(obj.spec, 'spec', problems);
      break;
    case 'ConfigMap':
      if (obj.data !== undefined && obj.data !== null) {
        if (!isJsonObject(obj.data)) problems.push({ field: 'data', message: 'Invalid value: must be a map of strings' });
        else for (const [k, v] of Object.entries(obj.data)) if (typeof v !== 'string') problems.push({ field: `data[${k}]`, message: 'Invalid value: must be a string' });
      }
      break;
    case 'CronJob': {
      const schedule = specOf(obj).schedule;
      if (typeof schedule !== 'string' || schedule.trim() === '') problems.push({ field: 'spec.schedule', message: 'Required value' });
      if (specOf(obj).suspend !== undefined && typeof specOf(obj).suspend !== 'boolean') problems.push({ field: 'spec.suspend', message: 'Invalid value: must be a boolean' });
      break;
    }
    default:
      break;
  }
  if (problems.length > 0) throw invalid(resource, obj.metadata.name ?? '', problems);
}
