import { badRequest } from './api-error.js';
import { isJsonObject, type JsonObject, type KubeObject } from './kube-object.js';
import type { ResourceType } from './resources.js';

/**
 * Fills the defaults the apiserver applies when it decodes an object (k8s.io/kubernetes pkg/apis/.../defaults.go),
 * for the kinds the simulator serves, so that what a client reads back looks like what a cluster returns:
 * Deployment `replicas`/`strategy`/`revisionHistoryLimit`, pod spec `restartPolicy`/`dnsPolicy`/..., container
 * `imagePullPolicy`, Secret `type` and `stringData` folded into base64 `data`, and so on. Mutates `obj`.
 */
export function applyDefaults(resource: ResourceType, obj: KubeObject): void {
  const spec = isJsonObject(obj.spec) ? obj.spec : undefined;
  switch (resource.kind) {
    case 'Namespace': {
      obj.metadata.labels = { ...(obj.metadata.labels ?? {}), 'kubernetes.io/metadata.name': obj.metadata.name ?? '' };
      obj.spec = { finalizers: ['kubernetes'], ...(spec ?? {}) };
      if (!isJsonObject(obj.status)) obj.status = { phase: 'Active' };
      break;
    }
    case 'Pod':
      if (spec) defaultPodSpec(spec, true);
      break;
    case 'Deployment':
      if (spec) {
        setDefault(spec, 'replicas', 1);
        setDefault(spec, 'revisionHistoryLimit', 10);
        setDefault(spec, 'progressDeadlineSeconds', 600);
        const strategy = isJsonObject(spec.strategy) ? spec.strategy : {};
        setDefault(strategy, 'type', 'RollingUpdate');
        if (strategy.type === 'RollingUpdate') {
          const rolling = isJsonObject(strategy.rollingUpdate) ? strategy.rollingUpdate : {};
          setDefault(rolling, 'maxSurge', '25%');
          setDefault(rolling, 'maxUnavailable', '25%');
          strategy.rollingUpdate = rolling;
        }
        spec.strategy = strategy;
        defaultTemplate(spec);
      }
      break;
    case 'ReplicaSet':
      if (spec) {
        setDefault(spec, 'replicas', 1);
        defaultTemplate(spec);
      }
      break;
    case 'ReplicationController':
      if (spec) {
        setDefault(spec, 'replicas', 1);
        const template = isJsonObject(spec.template) ? spec.template : undefined;
        const templateLabels = template && isJsonObject(template.metadata) && isJsonObject(template.metadata.labels) ? template.metadata.labels : undefined;
        if (templateLabels && !isJsonObject(spec.selector)) spec.selector = { ...templateLabels };
        if (templateLabels && !obj.metadata.labels) obj.metadata.labels = { ...(templateLabels as Record<string, string>) };
        defaultTemplate(spec);
      }
      break;
    case 'StatefulSet':
      if (spec) {
        setDefault(spec, 'replicas', 1);
        setDefault(spec, 'podManagementPolicy', 'OrderedReady');
        setDefault(spec, 'revisionHistoryLimit', 10);
        setDefault(spec, 'updateStrategy', { type: 'RollingUpdate', rollingUpdate: { partition: 0 } });
        setDefault(spec, 'persistentVolumeClaimRetentionPolicy', { whenDeleted: 'Retain', whenScaled: 'Retain' });
        defaultTemplate(spec);
      }
      break;
    case 'Job':
      if (spec) {
        setDefault(spec, 'backoffLimit', 6);
        setDefault(spec, 'completionMode', 'NonIndexed');
        setDefault(spec, 'suspend', false);
        defaultTemplate(spec, false);
      }
      break;
    case 'CronJob':
      if (spec) {
        setDefault(spec, 'concurrencyPolicy', 'Allow');
        setDefault(spec, 'suspend', false);
        setDefault(spec, 'successfulJobsHistoryLimit', 3);
        setDefault(spec, 'failedJobsHistoryLimit', 1);
        const jobTemplate = isJsonObject(spec.jobTemplate) ? spec.jobTemplate : undefined;
        const jobSpec = jobTemplate && isJsonObject(jobTemplate.spec) ? jobTemplate.spec : undefined;
        if (jobSpec) {
          setDefault(jobSpec, 'backoffLimit', 6);
          setDefault(jobSpec, 'completionMode', 'NonIndexed');
          setDefault(jobSpec, 'suspend', false);
          defaultTemplate(jobSpec, false);
        }
      }
      break;
    case 'Secret':
      defaultSecret(obj);
      break;
    case 'Service':
      if (spec) {
        setDefault(spec, 'type', 'ClusterIP');
        setDefault(spec, 'sessionAffinity', 'None');
        if (Array.isArray(spec.ports)) {
          for (const port of spec.ports) {
            if (!isJsonObject(port)) continue;
            setDefault(port, 'protocol', 'TCP');
            setDefault(port, 'targetPort', port.port);
          }
        }
      }
      break;
    default:
      break;
  }
}

function setDefault(target: JsonObject, key: string, value: unknown): void {
  if (target[key] === undefined || target[key] === null) target[key] = value;
}

function defaultTemplate(spec: JsonObject, defaultRestartPolicy = true): void {
  const template = isJsonObject(spec.template) ? spec.template : undefined;
  if (!template) return;
  if (!isJsonObject(template.metadata)) template.metadata = {};
  if (isJsonObject(template.spec)) defaultPodSpec(template.spec, defaultRestartPolicy);
}

function defaultPodSpec(spec: JsonObject, defaultRestartPolicy: boolean): void {
  if (defaultRestartPolicy) setDefault(spec, 'restartPolicy', 'Always');
  setDefault(spec, 'dnsPolicy', 'ClusterFirst');
  setDefault(spec, 'schedulerName', 'default-scheduler');
  setDefault(spec, 'terminationGracePeriodSeconds', 30);
  setDefault(spec, 'securityContext', {});
  for (const field of ['containers', 'initContainers']) {
    const containers = spec[field];
    if (!Array.isArray(containers)) continue;
    for (const container of containers) {
      if (!isJsonObject(container)) continue;
      const image = typeof container.image === 'string' ? container.image : '';
      const tag = image.includes('@') ? 'digest' : (image.split('/').pop() ?? '').split(':')[1];
      setDefault(container, 'imagePullPolicy', tag === undefined || tag === 'latest' ? 'Always' : 'IfNotPresent');
      setDefault(container, 'terminationMessagePath', '/dev/termination-log');
      setDefault(container, 'terminationMessagePolicy', 'File');
      setDefault(container, 'resources', {});
      if (Array.isArray(container.ports)) {
        for (const port of container.ports) if (isJsonObject(port)) setDefault(port, 'protocol', 'TCP');
      }
    }
  }
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

function defaultSecret(obj: KubeObject): void {
  if (typeof obj.type !== 'string' || obj.type === '') obj.type = 'Opaque';
  const data: Record<string, string> = {};
  if (obj.data !== undefined && obj.data !== null) {
    if (!isJsonObject(obj.data)) throw badRequest('Secret.data must be an object of base64 strings');
    for (const [key, value] of Object.entries(obj.data)) {
      // The API decodes `data` into bytes: a value that is not base64 is a decoding error (400).
      if (typeof value !== 'string' || value.length % 4 !== 0 || !BASE64.test(value)) {
        throw badRequest(`Secret in version "v1" cannot be handled as a Secret: illegal base64 data at input byte 0 (key ${key})`);
      }
      data[key] = value;
    }
  }
  if (isJsonObject(obj.stringData)) {
    for (const [key, value] of Object.entries(obj.stringData)) data[key] = Buffer.from(String(value), 'utf8').toString('base64');
  }
  delete obj.stringData;
  if (Object.keys(data).length > 0) obj.data = data;
  else delete obj.data;
}
