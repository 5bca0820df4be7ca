/**
 * What the deploy tests share: rendering deploy/ with kubectl's kustomize, checking each object against the
 * Kubernetes API schemas, reading pachbackup's config out of the rendered ConfigMap, and evaluating RBAC rules
 * the way the apiserver's RBAC authorizer does.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import * as k8s from '@kubernetes/client-node';
import { Deployment } from 'kubernetes-models/apps/v1';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1';
import { Role, RoleBinding } from 'kubernetes-models/rbac.authorization.k8s.io/v1';
import { ConfigMap, Namespace, Secret, Service, ServiceAccount } from 'kubernetes-models/v1';
import { parse, parseAllDocuments } from 'yaml';
import type { Config } from '../../src/config/config.js';
import { parseConfig } from '../../src/config/load-config.js';

export const REPO = resolve(fileURLToPath(new URL('../..', import.meta.url)));
export const KUBECTL = '/usr/bin/kubectl';
/** Every kustomization in deploy/ that renders a complete installation. */
export const RENDERS = ['deploy/base', 'deploy/overlays/example'] as const;
/** The example Secret (placeholders only), kept out of every kustomization. */
export const SECRET_EXAMPLE = 'deploy/overlays/example/secret.example.yaml';

/** A rendered object; only what the tests read is typed. */
export interface RenderedObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  [field: string]: any;
}

/** `kubectl kustomize <dir>`, parsed. */
export async function renderKustomization(dir: string): Promise<RenderedObject[]> {
  const { stdout } = await promisify(execFile)(KUBECTL, ['kustomize', join(REPO, dir)], { maxBuffer: 16 * 1024 * 1024, env: { ...process.env, KUBECONFIG: '/dev/null' } });
  return parseAllDocuments(stdout)
    .map((doc) => doc.toJS() as RenderedObject | null)
    .filter((o): o is RenderedObject => o !== null);
}

/** One kind in the rendered objects, by name. */
export function objectsOf(objects: RenderedObject[], kind: string): RenderedObject[] {
  return objects.filter((o) => o.kind === kind);
}

export function mustFind(objects: RenderedObject[], kind: string, name: string): RenderedObject {
  const found = objects.find((o) => o.kind === kind && o.metadata.name === name);
  if (!found) throw new Error(`no ${kind} ${name} in the render (have: ${objects.map((o) => `${o.kind}/${o.metadata.name}`).join(', ')})`);
  return found;
}

// ----- schema validation --------------------------------------------------------------------------------

type Model = { validate(): void };
/** The kinds deploy/ may contain, each with its kubernetes-models class; anything else is a test failure. */
const MODELS: Record<string, (data: any) => Model> = {
  'v1/Namespace': (d) => new Namespace(d),
  'v1/ServiceAccount': (d) => new ServiceAccount(d),
  'v1/ConfigMap': (d) => new ConfigMap(d),
  'v1/Secret': (d) => new Secret(d),
  'v1/Service': (d) => new Service(d),
  'apps/v1/Deployment': (d) => new Deployment(d),
  'policy/v1/PodDisruptionBudget': (d) => new PodDisruptionBudget(d),
  'rbac.authorization.k8s.io/v1/Role': (d) => new Role(d),
  'rbac.authorization.k8s.io/v1/RoleBinding': (d) => new RoleBinding(d),
};

interface Attribute {
  baseName: string;
  type: string;
}
type ModelClass = { getAttributeTypeMap?: () => Attribute[] };

/**
 * Fields the Kubernetes API does not know (a typo such as `readOnlyRootFileSystem` is silently dropped by the
 * apiserver, and kubernetes-models' JSON schemas allow extra fields): walked against the attribute maps of
 * @kubernetes/client-node's generated models.
 */
function unknownFields(value: unknown, type: string, path: string, out: string[]): void {
  if (value === null || value === undefined) return;
  const array = /^Array<(.+)>$/.exec(type);
  if (array) {
    if (Array.isArray(value)) value.forEach((v, i) => unknownFields(v, array[1]!, `${path}[${i}]`, out));
    return;
  }
  const map = /^\{ \[key: string\]: (.+); \}$/.exec(type);
  if (map) {
    if (typeof value === 'object') for (const [k, v] of Object.entries(value)) unknownFields(v, map[1]!, `${path}.${k}`, out);
    return;
  }
  const model = (k8s as unknown as Record<string, ModelClass | undefined>)[type];
  if (!model?.getAttributeTypeMap || typeof value !== 'object' || Array.isArray(value)) return;
  const attributes = new Map(model.getAttributeTypeMap().map((a) => [a.baseName, a.type]));
  for (const [key, v] of Object.entries(value)) {
    const attributeType = attributes.get(key);
    if (attributeType === undefined) out.push(`${path}.${key}`);
    else unknownFields(v, attributeType, `${path}.${key}`, out);
  }
}

/**
 * Validates one object against the Kubernetes schemas: types, required fields and formats with
 * kubernetes-models, unknown fields with client-node's models. Throws naming the object and the problem.
 */
export function validateObject(obj: RenderedObject): void {
  const id = `${obj.kind} ${obj.metadata?.namespace ?? ''}/${obj.metadata?.name}`;
  const make = MODELS[`${obj.apiVersion}/${obj.kind}`];
  if (!make) throw new Error(`${id}: no schema for ${obj.apiVersion} ${obj.kind} (add it to MODELS in test/deploy/kustomize.ts)`);
  try {
    make(obj).validate();
  } catch (err) {
    throw new Error(`${id} is not valid: ${(err as Error).message}`);
  }
  const version = obj.apiVersion.split('/').pop()!;
  const unknown: string[] = [];
  unknownFields(obj, `${version.charAt(0).toUpperCase()}${version.slice(1)}${obj.kind}`, obj.kind, unknown);
  if (unknown.length > 0) throw new Error(`${id} has fields Kubernetes does not know: ${unknown.join(', ')}`);
}

// ----- pachbackup's config and secrets -----------------------------------------------------------------

/** The example Secret's keys and placeholder values. */
export function secretExample(): Record<string, string> {
  const secret = parse(readFileSync(join(REPO, SECRET_EXAMPLE), 'utf8')) as { stringData?: Record<string, string>; data?: Record<string, string> };
  return {
    ...Object.fromEntries(Object.entries(secret.data ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64').toString('utf8')])),
    ...(secret.stringData ?? {}),
  };
}

/** Where a Deployment's container mounts the volume of a ConfigMap or a Secret. */
export function mountOf(deployment: RenderedObject, source: 'configMap' | 'secret'): { volume: any; mountPath: string } {
  const spec = deployment.spec.template.spec;
  const volume = (spec.volumes ?? []).find((v: any) => v[source] !== undefined);
  if (!volume) throw new Error(`Deployment ${deployment.metadata.name} mounts no ${source} volume`);
  const mount = spec.containers[0].volumeMounts.find((m: any) => m.name === volume.name);
  if (!mount) throw new Error(`Deployment ${deployment.metadata.name} declares volume ${volume.name} but does not mount it`);
  return { volume, mountPath: mount.mountPath };
}

/**
 * The config file a Deployment runs with, loaded as pachbackup loads it — schema, cross-field checks and secret
 * resolution — with the Secret's files as secret.example.yaml's placeholders in a temporary directory instead
 * of the mount, and the container's environment. Throws a ConfigError listing every problem.
 */
export function loadDeployedConfig(objects: RenderedObject[], deployment: RenderedObject): { text: string; config: Config; secretMount: string } {
  const container = deployment.spec.template.spec.containers[0];
  const configMount = mountOf(deployment, 'configMap');
  const configMap = mustFind(objects, 'ConfigMap', configMount.volume.configMap.name);
  const configPath: string = (container.env ?? []).find((e: any) => e.name === 'PACHBACKUP_CONFIG')?.value ?? '';
  if (!configPath.startsWith(`${configMount.mountPath}/`)) throw new Error(`PACHBACKUP_CONFIG (${configPath}) is not in the config volume mounted at ${configMount.mountPath}`);
  const key = configPath.slice(configMount.mountPath.length + 1);
  const text: string | undefined = configMap.data?.[key];
  if (text === undefined) throw new Error(`ConfigMap ${configMap.metadata.name} has no key ${key} (PACHBACKUP_CONFIG=${configPath})`);

  const secretMount = mountOf(deployment, 'secret').mountPath;
  const secrets = secretExample();
  const dir = mkdtempSync(join(tmpdir(), 'pachbackup-deploy-secrets-'));
  for (const [name, value] of Object.entries(secrets)) writeFileSync(join(dir, name), value);
  const env: NodeJS.ProcessEnv = {};
  for (const e of container.env ?? []) {
    if (e.value !== undefined) env[e.name] = e.value;
    else if (e.valueFrom?.secretKeyRef) env[e.name] = secrets[e.valueFrom.secretKeyRef.key];
  }
  const config = parseConfig(text.replaceAll(`${secretMount}/`, `${dir}/`), { source: `<ConfigMap ${configMap.metadata.name}>`, env });
  return { text, config, secretMount };
}

/** Every `{ file: ... }` reference and file path (sslRootCert, kubeconfig) in a config file. */
export function filePathsIn(text: string): string[] {
  const paths: string[] = [];
  const walk = (value: unknown, key: string): void => {
    if (Array.isArray(value)) value.forEach((v) => walk(v, key));
    else if (value && typeof value === 'object') for (const [k, v] of Object.entries(value)) walk(v, k);
    else if (typeof value === 'string' && ['file', 'sslRootCert', 'kubeconfig'].includes(key)) paths.push(value);
  };
  walk(parse(text), '');
  return paths;
}

// ----- RBAC -------------------------------------------------------------------------------------------

/** A rule of a Role, as written. */
export interface PolicyRule {
  apiGroups?: string[];
  resources?: string[];
  resourceNames?: string[];
  verbs: string[];
}

/** An API request in the terms RBAC authorizes it. */
export interface ApiRequest {
  verb: string;
  group: string;
  resource: string;
  /** '' for the main resource. */
  subresource: string;
  namespace?: string;
  name?: string;
}

const combined = (r: Pick<ApiRequest, 'resource' | 'subresource'>) => (r.subresource ? `${r.resource}/${r.subresource}` : r.resource);

/** "patch apps deployments/scale pachd". */
export function describeRequest(r: ApiRequest): string {
  return `${r.verb} ${r.group || 'core'} ${combined(r)}${r.name ? ` ${r.name}` : ''}`;
}

/**
 * Whether one rule allows a request, as Kubernetes' RBAC authorizer decides (pkg/apis/rbac/v1/evaluation_helpers.go):
 * verb, API group and resource must each be listed or `*` (`*\/scale` matches every scale subresource), a
 * subresource only as `resource/subresource`, and when the rule names resources, only a request for one of
 * those names matches — a request without a name (list, watch, create) never does.
 */
export function ruleAllows(rule: PolicyRule, request: ApiRequest): boolean {
  const verbOk = rule.verbs.some((v) => v === '*' || v === request.verb);
  const groupOk = (rule.apiGroups ?? []).some((g) => g === '*' || g === request.group);
  const resource = combined(request);
  const resourceOk = (rule.resources ?? []).some(
    (r) => r === '*' || r === resource || (request.subresource !== '' && r === `*/${request.subresource}`),
  );
  const names = rule.resourceNames ?? [];
  const nameOk = names.length === 0 || (request.name !== undefined && names.includes(request.name));
  return verbOk && groupOk && resourceOk && nameOk;
}

/** A rule cut down to one verb on one resource (and one name when it names them): the unit a request uses. */
export interface RuleAtom {
  group: string;
  resource: string;
  verb: string;
  name?: string;
}

export function atomsOf(rule: PolicyRule): RuleAtom[] {
  const atoms: RuleAtom[] = [];
  for (const group of rule.apiGroups ?? []) {
    for (const resource of rule.resources ?? []) {
      for (const verb of rule.verbs) {
        const names = rule.resourceNames ?? [];
        if (names.length === 0) atoms.push({ group, resource, verb });
        else for (const name of names) atoms.push({ group, resource, verb, name });
      }
    }
  }
  return atoms;
}

export function describeAtom(a: RuleAtom): string {
  return `${a.verb} ${a.group || 'core'} ${a.resource}${a.name ? ` ${a.name}` : ''}`;
}

/** Whether a request exercises an atom (same verb, group, resource and, when the atom has one, name). */
export function requestUses(request: ApiRequest, atom: RuleAtom): boolean {
  return request.verb === atom.verb && request.group === atom.group && combined(request) === atom.resource && (atom.name === undefined || request.name === atom.name);
}
