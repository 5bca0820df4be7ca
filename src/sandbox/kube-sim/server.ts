import type { IncomingMessage, ServerResponse } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { parse as parseYaml } from 'yaml';
import { findDenial, forbiddenMessage, resourceRulesFor, type DeniedRule, type RequestAttributes } from './access-rules.js';
import { ApiError, badRequest, conflict, invalid, type StatusReason } from './api-error.js';
import type { SimLogger } from './controllers.js';
import { applyDefaults } from './defaults.js';
import { apiGroup, apiGroupList, apiResourceList, coreApiVersions, versionInfo } from './discovery.js';
import { FAULTS_PATH, serveFaults } from './fault-endpoint.js';
import { takeFailure, type Faults } from './faults.js';
import { openApiV3Document, openApiV3Root } from './openapi.js';
import { cloneJson, isJsonObject, statusOf, type JsonObject, type KubeObject } from './kube-object.js';
import { applyPatch, patchTypeOf } from './patch.js';
import { PROTOBUF_MEDIA_TYPE, decodeKubeProtobuf } from './protobuf.js';
import type { RecordedRequest } from './request-log.js';
import { KINDS, RESOURCE_TYPES, apiVersionOf, findResource, type ResourceType, type Subresource, type Verb } from './resources.js';
import { formatRequirements, matchesFields, matchesLabels, parseFieldSelector, parseLabelSelector, workloadSelector } from './selectors.js';
import type { ObjectStore } from './store.js';
import { toTable, wantsTable, type IncludeObject } from './table.js';
import { validateObject } from './validation.js';
import { serveWatch } from './watch.js';

/** The mutable access policy: requests matching a rule get 403 and SelfSubjectAccessReviews say no. */
export interface AccessPolicy {
  denied: DeniedRule[];
  /** The user named in Forbidden messages and reviews. */
  user: string;
}

/** What the request handler needs. */
export interface KubeApiDeps {
  store: ObjectStore;
  policy: AccessPolicy;
  faults: Faults;
  logger?: SimLogger;
  /** Called with every resource request (not discovery, OpenAPI or health), before authorization. */
  onRequest?: (request: RecordedRequest) => void;
  /** Called after the fault endpoint changed `faults` (the controllers run again). */
  onFaultsChanged?: () => void;
}

/** The HTTP side of the simulator: a node:http request listener plus a way to end open watches. */
export interface KubeApiHandler {
  handle(req: IncomingMessage, res: ServerResponse): void;
  /** Ends every open watch stream (on shutdown). */
  closeWatches(): void;
  /** Ends every open watch stream and says how many there were (the drop-watches fault). */
  dropWatches(): number;
}

interface Route {
  resource: ResourceType;
  namespace: string | undefined;
  name: string | undefined;
  subresource: Subresource | undefined;
  verb: Verb;
}

const MAX_BODY_BYTES = 16 * 1024 * 1024;

/**
 * Builds the Kubernetes REST handler over a store: discovery, get/list/watch/create/update/patch/delete/
 * deletecollection on every served resource, the `scale` and `status` subresources, Tables for kubectl,
 * SelfSubjectAccessReview/RulesReview, Status errors with the apiserver's codes and reasons, and the
 * configured refusals (403) and injected failures.
 */
export function createKubeApiHandler(deps: KubeApiDeps): KubeApiHandler {
  const watches = new Set<() => void>();
  /** Ends every open watch stream; how many there were. */
  const dropWatches = (): number => {
    const open = [...watches];
    for (const end of open) end();
    watches.clear();
    return open.length;
  };

  const handle = (req: IncomingMessage, res: ServerResponse): void => {
    const started = Date.now();
    res.on('finish', () => deps.logger?.debug({ method: req.method, url: req.url, status: res.statusCode, ms: Date.now() - started }, 'kube-sim request'));
    serve(req, res).catch((err: unknown) => {
      const apiError =
        err instanceof ApiError ? err : new ApiError(500, 'InternalError', `Internal error occurred: ${err instanceof Error ? err.message : String(err)}`);
      if (!(err instanceof ApiError)) deps.logger?.error({ err, url: req.url }, 'kube-sim internal error');
      if (res.headersSent) {
        res.end();
        return;
      }
      sendJson(res, apiError.code, apiError.toStatus());
    });
  };

  const serve = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://kube-sim.invalid');
    const path = url.pathname.replace(/\/+$/, '') || '/';
    const method = (req.method ?? 'GET').toUpperCase();

    if (path.startsWith(FAULTS_PATH)) return serveFaults(req, res, { faults: deps.faults, dropWatches, changed: () => deps.onFaultsChanged?.() });
    if (path === '/version') return sendJson(res, 200, versionInfo());
    if (path === '/healthz' || path === '/livez' || path === '/readyz') {
      res.writeHead(200, { 'Content-Type': 'text/plain; charset=utf-8' });
      res.end('ok');
      return;
    }
    if (path === '/api') return sendJson(res, 200, coreApiVersions(req.headers.host ?? '127.0.0.1'));
    if (path === '/apis') return sendJson(res, 200, apiGroupList());
    if (path === '/openapi/v3') return sendJson(res, 200, openApiV3Root());
    if (path.startsWith('/openapi/v3/')) {
      const doc = openApiV3Document(path.slice('/openapi/v3/'.length));
      if (!doc) throw notFoundPath();
      return sendJson(res, 200, doc);
    }

    const segments = path.split('/').filter(Boolean).map(decodeURIComponent);
    let group: string;
    let version: string | undefined;
    let rest: string[];
    if (segments[0] === 'api') {
      group = '';
      version = segments[1];
      rest = segments.slice(2);
    } else if (segments[0] === 'apis' && segments[1]) {
      group = segments[1];
      if (segments.length === 2) {
        const doc = apiGroup(group);
        if (!doc) throw notFoundPath();
        return sendJson(res, 200, doc);
      }
      version = segments[2];
      rest = segments.slice(3);
    } else {
      throw notFoundPath();
    }
    if (!version) throw notFoundPath();
    if (rest.length === 0) {
      const doc = apiResourceList(group, version);
      if (!doc) throw notFoundPath();
      return sendJson(res, 200, doc);
    }

    const route = resolveRoute(group, version, rest, method, url.searchParams);
    const attrs: RequestAttributes = {
      verb: route.verb,
      group: route.resource.group,
      resource: route.resource.plural,
      subresource: route.subresource ?? '',
      ...(route.namespace !== undefined ? { namespace: route.namespace } : {}),
      ...(route.name !== undefined ? { name: route.name } : {}),
    };
    deps.onRequest?.({ ...attrs, verb: route.verb, subresource: route.subresource ?? '' });
    if (!route.resource.virtual && findDenial(deps.policy.denied, attrs)) {
      throw new ApiError(403, 'Forbidden', forbiddenMessage(attrs, deps.policy.user), {
        ...(route.name !== undefined ? { name: route.name } : {}),
        group: route.resource.group,
        kind: route.resource.plural,
      });
    }
    if (deps.faults.latencyMs > 0) await sleep(deps.faults.latencyMs);
    const failure = takeFailure(deps.faults, attrs);
    if (failure) {
      const code = failure.code ?? 500;
      if (failure.retryAfterSeconds !== undefined) res.setHeader('Retry-After', String(failure.retryAfterSeconds));
      throw new ApiError(code, reasonForCode(code), failure.message ?? `kube-sim: injected failure for ${route.verb} ${route.resource.plural}`, {
        ...(failure.retryAfterSeconds !== undefined ? { retryAfterSeconds: failure.retryAfterSeconds } : {}),
      });
    }

    const query = url.searchParams;
    const dryRun = query.getAll('dryRun').includes('All');
    switch (route.verb) {
      case 'get':
        return handleGet(req, res, route, query);
      case 'list':
        return handleList(req, res, route, query);
      case 'watch':
        return handleWatch(req, res, route, query);
      case 'create':
        return handleCreate(req, res, route, dryRun);
      case 'update':
        return handleUpdate(req, res, route, dryRun);
      case 'patch':
        return handlePatch(req, res, route, dryRun);
      case 'delete':
        return handleDelete(req, res, route, query, dryRun);
      case 'deletecollection':
        return handleDeleteCollection(req, res, route, query, dryRun);
    }
  };

  // ----- reads --------------------------------------------------------------------------------------------

  const handleGet = (req: IncomingMessage, res: ServerResponse, route: Route, query: URLSearchParams): void => {
    const obj = deps.store.mustGet(route.resource, route.namespace, route.name ?? '');
    if (route.subresource === 'scale') return sendJson(res, 200, toScale(obj));
    if (!route.subresource && wantsTable(req.headers.accept)) {
      return sendJson(res, 200, toTable(route.resource, [obj], { include: includeObject(query), resourceVersion: obj.metadata.resourceVersion ?? '' }));
    }
    sendJson(res, 200, obj);
  };

  const selectorsOf = (route: Route, query: URLSearchParams) => {
    const labels = parseLabelSelector(query.get('labelSelector') ?? '');
    const fields = parseFieldSelector(query.get('fieldSelector') ?? '', route.resource);
    return { labels, fields };
  };

  const handleList = (req: IncomingMessage, res: ServerResponse, route: Route, query: URLSearchParams): void => {
    const { labels, fields } = selectorsOf(route, query);
    const all = deps.store.list(route.resource, route.namespace).filter((o) => matchesLabels(labels, o.metadata.labels) && matchesFields(fields, o));
    const resourceVersion = String(deps.store.resourceVersion);
    let items = all;
    let continueToken: string | undefined;
    let remaining: number | undefined;
    const cont = query.get('continue');
    if (cont) {
      const start = decodeContinue(cont);
      items = items.filter((o) => itemKey(o) >= start);
    }
    const limit = Number(query.get('limit') ?? 0);
    if (Number.isInteger(limit) && limit > 0 && items.length > limit) {
      const next = items[limit];
      items = items.slice(0, limit);
      if (next) continueToken = encodeContinue(itemKey(next), resourceVersion);
      remaining = all.length - all.indexOf(items[items.length - 1] as KubeObject) - 1;
    }
    if (wantsTable(req.headers.accept)) {
      return sendJson(res, 200, toTable(route.resource, items, { include: includeObject(query), resourceVersion, ...(continueToken ? { continueToken } : {}) }));
    }
    const metadata: JsonObject = { resourceVersion };
    if (continueToken) {
      metadata.continue = continueToken;
      if (labels.length === 0 && fields.length === 0 && remaining !== undefined) metadata.remainingItemCount = remaining;
    }
    sendJson(res, 200, {
      kind: `${route.resource.kind}List`,
      apiVersion: apiVersionOf(route.resource),
      metadata,
      // Like the apiserver, list items carry no apiVersion/kind of their own.
      items: items.map(({ apiVersion: _a, kind: _k, ...rest }) => rest),
    });
  };

  const handleWatch = (req: IncomingMessage, res: ServerResponse, route: Route, query: URLSearchParams): void => {
    const { labels, fields } = selectorsOf(route, query);
    if (route.name !== undefined) fields.push({ path: 'metadata.name', operator: 'equals', value: route.name });
    const timeout = query.get('timeoutSeconds');
    const end = serveWatch(
      deps.store,
      {
        resource: route.resource,
        namespace: route.namespace,
        labels,
        fields,
        resourceVersion: query.get('resourceVersion') ?? '',
        sendInitialEvents: query.get('sendInitialEvents') === 'true',
        timeoutSeconds: timeout !== null && Number.isFinite(Number(timeout)) ? Number(timeout) : undefined,
        table: wantsTable(req.headers.accept) ? includeObject(query) : undefined,
      },
      res,
    );
    watches.add(end);
    res.on('close', () => watches.delete(end));
    if (deps.faults.dropWatchesAfterMs > 0) setTimeout(end, deps.faults.dropWatchesAfterMs).unref();
  };

  // ----- writes -------------------------------------------------------------------------------------------

  const handleCreate = async (req: IncomingMessage, res: ServerResponse, route: Route, dryRun: boolean): Promise<void> => {
    const body = await readObjectBody(req);
    if (route.resource.kind === 'SelfSubjectAccessReview') return sendJson(res, 201, accessReview(body));
    if (route.resource.kind === 'SelfSubjectRulesReview') return sendJson(res, 201, rulesReview(body));
    const obj = checkIdentity(route, body);
    if (route.namespace !== undefined) obj.metadata.namespace = route.namespace;
    for (const field of ['uid', 'resourceVersion', 'creationTimestamp', 'deletionTimestamp', 'deletionGracePeriodSeconds', 'generation']) delete obj.metadata[field];
    if (route.resource.subresources.includes('status')) resetStatus(route.resource, obj);
    applyDefaults(route.resource, obj);
    validateObject(route.resource, obj);
    sendJson(res, 201, deps.store.create(route.resource, obj, { dryRun }));
  };

  const handleUpdate = async (req: IncomingMessage, res: ServerResponse, route: Route, dryRun: boolean): Promise<void> => {
    const body = await readObjectBody(req);
    const current = deps.store.mustGet(route.resource, route.namespace, route.name ?? '');
    if (route.subresource === 'scale') return sendJson(res, 200, writeScale(route, current, body, dryRun));
    const obj = checkIdentity(route, body);
    if (route.namespace !== undefined) obj.metadata.namespace = route.namespace;
    if ((obj.metadata.name ?? route.name) !== route.name) {
      throw badRequest(`the name of the object (${obj.metadata.name ?? ''}) does not match the name on the URL (${route.name ?? ''})`);
    }
    obj.metadata.name = route.name;
    sendJson(res, 200, commitUpdate(route, current, obj, dryRun));
  };

  const handlePatch = async (req: IncomingMessage, res: ServerResponse, route: Route, dryRun: boolean): Promise<void> => {
    const contentType = req.headers['content-type'];
    const type = patchTypeOf(contentType);
    if (!type) {
      throw new ApiError(
        415,
        'UnsupportedMediaType',
        `the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/strategic-merge-patch+json (got ${contentType ?? 'none'})`,
      );
    }
    const raw = await readBody(req);
    let patch: unknown;
    try {
      patch = JSON.parse(raw.toString('utf8'));
    } catch (err) {
      throw badRequest(`error decoding patch: ${err instanceof Error ? err.message : String(err)}`);
    }
    const current = deps.store.mustGet(route.resource, route.namespace, route.name ?? '');
    if (route.subresource === 'scale') {
      const patched = applyPatch(type, toScale(current) as unknown as JsonObject, patch);
      return sendJson(res, 200, writeScale(route, current, patched, dryRun));
    }
    const patched = applyPatch(type, current as unknown as JsonObject, patch) as KubeObject;
    if (!isJsonObject(patched.metadata)) throw badRequest('the patch removed metadata');
    if (patched.kind !== current.kind || patched.apiVersion !== current.apiVersion) throw badRequest('the patch must not change apiVersion or kind');
    if (patched.metadata.name !== current.metadata.name || (route.resource.namespaced && patched.metadata.namespace !== current.metadata.namespace)) {
      throw badRequest('the patch must not change metadata.name or metadata.namespace');
    }
    // A resourceVersion in the patch is a precondition, as on a real cluster.
    if (patched.metadata.resourceVersion === current.metadata.resourceVersion) delete patched.metadata.resourceVersion;
    else if (patched.metadata.resourceVersion !== undefined) throw conflict(route.resource, route.name ?? '');
    sendJson(res, 200, commitUpdate(route, current, patched, dryRun));
  };

  const commitUpdate = (route: Route, current: KubeObject, requested: KubeObject, dryRun: boolean): KubeObject => {
    let next: KubeObject;
    if (route.subresource === 'status') {
      next = cloneJson(current);
      next.status = requested.status;
      next.metadata.resourceVersion = requested.metadata.resourceVersion;
    } else {
      next = requested;
      if (route.resource.subresources.includes('status')) {
        if (current.status === undefined) delete next.status;
        else next.status = cloneJson(current.status);
      }
    }
    next.metadata.uid = current.metadata.uid;
    next.metadata.creationTimestamp = current.metadata.creationTimestamp;
    if (current.metadata.deletionTimestamp) {
      next.metadata.deletionTimestamp = current.metadata.deletionTimestamp;
      next.metadata.deletionGracePeriodSeconds = current.metadata.deletionGracePeriodSeconds;
    } else {
      delete next.metadata.deletionTimestamp;
      delete next.metadata.deletionGracePeriodSeconds;
    }
    applyDefaults(route.resource, next);
    validateObject(route.resource, next);
    const written = deps.store.update(route.resource, next, { dryRun });
    // The last finalizer removed from an object being deleted lets it go (pods leave through the kubelet).
    if (!dryRun && written.metadata.deletionTimestamp && (written.metadata.finalizers ?? []).length === 0 && route.resource !== KINDS.pod && route.resource !== KINDS.namespace) {
      return deps.store.delete(route.resource, route.namespace, route.name ?? '');
    }
    return written;
  };

  const writeScale = (route: Route, current: KubeObject, scale: unknown, dryRun: boolean): JsonObject => {
    const spec = isJsonObject(scale) && isJsonObject(scale.spec) ? scale.spec : {};
    const replicas = spec.replicas;
    if (typeof replicas !== 'number' || !Number.isInteger(replicas) || replicas < 0) {
      throw invalid({ plural: route.resource.plural, group: 'autoscaling', kind: 'Scale' }, route.name ?? '', [
        { field: 'spec.replicas', message: `Invalid value: ${JSON.stringify(replicas)}: must be greater than or equal to 0` },
      ]);
    }
    const requestedRv = isJsonObject(scale) && isJsonObject(scale.metadata) ? scale.metadata.resourceVersion : undefined;
    if (typeof requestedRv === 'string' && requestedRv !== '' && requestedRv !== current.metadata.resourceVersion) throw conflict(route.resource, route.name ?? '');
    const next = cloneJson(current);
    next.spec = { ...(isJsonObject(next.spec) ? next.spec : {}), replicas };
    delete next.metadata.resourceVersion;
    return toScale(deps.store.update(route.resource, next, { dryRun }));
  };

  const handleDelete = async (req: IncomingMessage, res: ServerResponse, route: Route, query: URLSearchParams, dryRun: boolean): Promise<void> => {
    const options = await readDeleteOptions(req, query);
    const current = deps.store.mustGet(route.resource, route.namespace, route.name ?? '');
    sendJson(res, 200, deleteOne(route.resource, current, options, dryRun || options.dryRun));
  };

  const handleDeleteCollection = async (req: IncomingMessage, res: ServerResponse, route: Route, query: URLSearchParams, dryRun: boolean): Promise<void> => {
    const options = await readDeleteOptions(req, query);
    const { labels, fields } = selectorsOf(route, query);
    const victims = deps.store.list(route.resource, route.namespace).filter((o) => matchesLabels(labels, o.metadata.labels) && matchesFields(fields, o));
    for (const obj of victims) deleteOne(route.resource, obj, options, dryRun || options.dryRun);
    sendJson(res, 200, { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', code: 200 });
  };

  const deleteOne = (resource: ResourceType, current: KubeObject, options: DeleteOptions, dryRun: boolean): unknown => {
    const name = current.metadata.name ?? '';
    const namespace = current.metadata.namespace;
    if (options.preconditionUid && options.preconditionUid !== current.metadata.uid) {
      throw new ApiError(409, 'Conflict', `Precondition failed: UID in precondition: ${options.preconditionUid}, UID in object meta: ${current.metadata.uid ?? ''}`);
    }
    if (options.preconditionResourceVersion && options.preconditionResourceVersion !== current.metadata.resourceVersion) {
      throw new ApiError(409, 'Conflict', `Precondition failed: ResourceVersion in precondition: ${options.preconditionResourceVersion}, ResourceVersion in object meta: ${current.metadata.resourceVersion ?? ''}`);
    }
    if (dryRun) return resource === KINDS.pod || resource === KINDS.namespace ? current : successStatus(resource, current);
    if (options.propagationPolicy === 'Orphan') orphanDependents(current);

    if (resource === KINDS.pod) {
      const grace = options.gracePeriodSeconds ?? numberOr(isJsonObject(current.spec) ? current.spec.terminationGracePeriodSeconds : undefined, 30);
      if (grace === 0 || !(isJsonObject(current.spec) && current.spec.nodeName)) return deps.store.delete(resource, namespace, name);
      if (current.metadata.deletionTimestamp) return current;
      return deps.store.mutate(resource, namespace, name, (pod) => {
        pod.metadata.deletionTimestamp = deps.store.timestamp(grace);
        pod.metadata.deletionGracePeriodSeconds = grace;
      });
    }
    if (resource === KINDS.namespace) {
      if (current.metadata.deletionTimestamp) return current;
      return deps.store.mutate(resource, undefined, name, (ns) => {
        ns.metadata.deletionTimestamp = deps.store.timestamp();
        ns.metadata.deletionGracePeriodSeconds = 0;
        ns.status = { ...statusOf(ns), phase: 'Terminating' };
      });
    }
    if ((current.metadata.finalizers ?? []).length > 0) {
      if (current.metadata.deletionTimestamp) return current;
      return deps.store.mutate(resource, namespace, name, (obj) => {
        obj.metadata.deletionTimestamp = deps.store.timestamp();
        obj.metadata.deletionGracePeriodSeconds = 0;
      });
    }
    const removed = deps.store.delete(resource, namespace, name);
    return successStatus(resource, removed);
  };

  const orphanDependents = (owner: KubeObject): void => {
    for (const resource of RESOURCE_TYPES) {
      if (!resource.namespaced || resource.virtual) continue;
      for (const obj of deps.store.list(resource, owner.metadata.namespace)) {
        const refs = obj.metadata.ownerReferences ?? [];
        if (!refs.some((r) => r.uid === owner.metadata.uid)) continue;
        deps.store.mutate(resource, obj.metadata.namespace, obj.metadata.name ?? '', (o) => {
          const left = refs.filter((r) => r.uid !== owner.metadata.uid);
          if (left.length > 0) o.metadata.ownerReferences = left;
          else delete o.metadata.ownerReferences;
        });
      }
    }
  };

  // ----- authorization reviews -------------------------------------------------------------------------

  const accessReview = (body: KubeObject): JsonObject => {
    const spec = isJsonObject(body.spec) ? body.spec : {};
    const attrs = isJsonObject(spec.resourceAttributes) ? spec.resourceAttributes : undefined;
    let allowed = true;
    const reason = `RBAC: allowed by ClusterRoleBinding "kube-sim" of ClusterRole "cluster-admin" to User "${deps.policy.user}"`;
    if (attrs) {
      const request: RequestAttributes = {
        verb: String(attrs.verb ?? ''),
        group: String(attrs.group ?? ''),
        resource: String(attrs.resource ?? ''),
        subresource: String(attrs.subresource ?? ''),
        ...(typeof attrs.namespace === 'string' && attrs.namespace !== '' ? { namespace: attrs.namespace } : {}),
        ...(typeof attrs.name === 'string' && attrs.name !== '' ? { name: attrs.name } : {}),
      };
      // RBAC only grants: a refusal comes back with allowed=false and no reason, as on a real cluster.
      if (findDenial(deps.policy.denied, request)) allowed = false;
    }
    return {
      kind: 'SelfSubjectAccessReview',
      apiVersion: 'authorization.k8s.io/v1',
      metadata: { creationTimestamp: null },
      spec,
      status: allowed ? { allowed: true, reason } : { allowed: false },
    };
  };

  const rulesReview = (body: KubeObject): JsonObject => {
    const spec = isJsonObject(body.spec) ? body.spec : {};
    const namespace = typeof spec.namespace === 'string' ? spec.namespace : '';
    return {
      kind: 'SelfSubjectRulesReview',
      apiVersion: 'authorization.k8s.io/v1',
      metadata: { creationTimestamp: null },
      spec,
      status: {
        resourceRules: resourceRulesFor(deps.policy.denied, namespace),
        nonResourceRules: [{ verbs: ['get'], nonResourceURLs: ['/api', '/api/*', '/apis', '/apis/*', '/healthz', '/livez', '/readyz', '/version', '/version/'] }],
        incomplete: false,
      },
    };
  };

  return {
    handle,
    closeWatches: () => void dropWatches(),
    dropWatches,
  };
}

// ----- helpers -------------------------------------------------------------------------------------------

function notFoundPath(): ApiError {
  return new ApiError(404, 'NotFound', 'the server could not find the requested resource', {});
}

function reasonForCode(code: number): StatusReason {
  const reasons: Record<number, StatusReason> = {
    400: 'BadRequest',
    401: 'Unauthorized',
    403: 'Forbidden',
    404: 'NotFound',
    405: 'MethodNotAllowed',
    409: 'Conflict',
    410: 'Gone',
    415: 'UnsupportedMediaType',
    422: 'Invalid',
    429: 'TooManyRequests',
    503: 'ServiceUnavailable',
    504: 'Timeout',
  };
  return reasons[code] ?? 'InternalError';
}

function resolveRoute(group: string, version: string, input: string[], method: string, query: URLSearchParams): Route {
  let rest = input;
  let watchPath = false;
  if (rest[0] === 'watch') {
    watchPath = true;
    rest = rest.slice(1);
  }
  let namespace: string | undefined;
  if (rest[0] === 'namespaces' && rest.length >= 3 && findResource(group, version, rest[2] ?? '')) {
    namespace = rest[1];
    rest = rest.slice(2);
  }
  const [plural, name, sub, ...extra] = rest;
  const resource = findResource(group, version, plural ?? '');
  if (!resource || extra.length > 0) throw notFoundPath();
  if (namespace !== undefined && !resource.namespaced) throw notFoundPath();
  let subresource: Subresource | undefined;
  if (sub !== undefined) {
    if (!resource.subresources.includes(sub as Subresource)) throw notFoundPath();
    subresource = sub as Subresource;
  }
  const watchParam = query.get('watch');
  const watch = watchPath || watchParam === 'true' || watchParam === '1';
  let verb: Verb;
  switch (method) {
    case 'GET':
      verb = watch ? 'watch' : name === undefined ? 'list' : 'get';
      break;
    case 'POST':
      if (name !== undefined) throw methodNotAllowed(method, resource);
      verb = 'create';
      break;
    case 'PUT':
      verb = 'update';
      break;
    case 'PATCH':
      verb = 'patch';
      break;
    case 'DELETE':
      verb = name === undefined ? 'deletecollection' : 'delete';
      break;
    default:
      throw methodNotAllowed(method, resource);
  }
  if ((verb === 'update' || verb === 'patch') && name === undefined) throw methodNotAllowed(method, resource);
  if (subresource && !['get', 'update', 'patch'].includes(verb)) throw methodNotAllowed(method, resource);
  if (!resource.verbs.includes(verb)) throw methodNotAllowed(method, resource);
  // A namespaced resource without a namespace in the path only supports cross-namespace list and watch.
  if (resource.namespaced && namespace === undefined && verb !== 'list' && verb !== 'watch') throw notFoundPath();
  return { resource, namespace, name, subresource, verb };
}

function methodNotAllowed(method: string, resource: ResourceType): ApiError {
  return new ApiError(405, 'MethodNotAllowed', `the server does not allow this method on the requested resource (${method} ${resource.plural})`, {});
}

function sendJson(res: ServerResponse, code: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(code, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text), 'Cache-Control': 'no-cache, private' });
  res.end(text);
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as string);
    size += buf.length;
    if (size > MAX_BODY_BYTES) throw new ApiError(413, 'BadRequest', 'the request body is too large');
    chunks.push(buf);
  }
  return Buffer.concat(chunks);
}

async function readObjectBody(req: IncomingMessage): Promise<KubeObject> {
  const contentType = (req.headers['content-type'] ?? 'application/json').split(';')[0]?.trim().toLowerCase() ?? '';
  const body = await readBody(req);
  if (contentType === PROTOBUF_MEDIA_TYPE) return decodeKubeProtobuf(body);
  const raw = body.toString('utf8');
  let parsed: unknown;
  try {
    if (contentType === 'application/json' || contentType === '') parsed = JSON.parse(raw);
    else if (contentType === 'application/yaml' || contentType === 'application/x-yaml') parsed = parseYaml(raw);
    else {
      throw new ApiError(
        415,
        'UnsupportedMediaType',
        `the body of the request was in an unknown format - accepted media types include: application/json, application/yaml, application/vnd.kubernetes.protobuf (got ${contentType})`,
      );
    }
  } catch (err) {
    if (err instanceof ApiError) throw err;
    throw badRequest(`the object provided is unrecognized: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (!isJsonObject(parsed)) throw badRequest('the object provided is unrecognized (must be a JSON object)');
  if (!isJsonObject(parsed.metadata)) parsed.metadata = {};
  return parsed as KubeObject;
}

function checkIdentity(route: Route, body: KubeObject): KubeObject {
  const obj = cloneJson(body);
  const expected = apiVersionOf(route.resource);
  if (obj.kind !== undefined && obj.kind !== route.resource.kind) {
    throw badRequest(`the kind of the provided object (${String(obj.kind)}) does not match the resource ${route.resource.plural} (${route.resource.kind})`);
  }
  if (obj.apiVersion !== undefined && obj.apiVersion !== expected) {
    throw badRequest(`the API version of the provided object (${String(obj.apiVersion)}) does not match ${expected}`);
  }
  obj.kind = route.resource.kind;
  obj.apiVersion = expected;
  if (route.namespace !== undefined && obj.metadata.namespace !== undefined && obj.metadata.namespace !== '' && obj.metadata.namespace !== route.namespace) {
    throw badRequest('the namespace of the provided object does not match the namespace sent on the request');
  }
  return obj;
}

function resetStatus(resource: ResourceType, obj: KubeObject): void {
  if (resource.kind === 'Pod') obj.status = { phase: 'Pending', qosClass: 'BestEffort' };
  else if (resource.kind === 'Namespace') obj.status = { phase: 'Active' };
  else if (resource.kind === 'Service') obj.status = { loadBalancer: {} };
  else delete obj.status;
}

/** The autoscaling/v1 Scale view of a Deployment, ReplicaSet, StatefulSet or ReplicationController. */
function toScale(obj: KubeObject): JsonObject {
  const spec = isJsonObject(obj.spec) ? obj.spec : {};
  return {
    kind: 'Scale',
    apiVersion: 'autoscaling/v1',
    metadata: {
      name: obj.metadata.name,
      namespace: obj.metadata.namespace,
      uid: obj.metadata.uid,
      resourceVersion: obj.metadata.resourceVersion,
      creationTimestamp: obj.metadata.creationTimestamp,
    },
    spec: { replicas: typeof spec.replicas === 'number' ? spec.replicas : 1 },
    status: { replicas: numberOr(statusOf(obj).replicas, 0), selector: formatRequirements(workloadSelector(obj)) },
  };
}

function successStatus(resource: ResourceType, obj: KubeObject): JsonObject {
  return {
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Success',
    details: { name: obj.metadata.name, group: resource.group, kind: resource.plural, uid: obj.metadata.uid },
  };
}

function numberOr(value: unknown, fallback: number): number {
  return typeof value === 'number' && Number.isFinite(value) ? value : fallback;
}

function includeObject(query: URLSearchParams): IncludeObject {
  const value = query.get('includeObject');
  return value === 'None' || value === 'Object' ? value : 'Metadata';
}

function itemKey(obj: KubeObject): string {
  return `${obj.metadata.namespace ?? ''}/${obj.metadata.name ?? ''}`;
}

function encodeContinue(start: string, resourceVersion: string): string {
  return Buffer.from(JSON.stringify({ v: 'kube-sim/1', rv: resourceVersion, start }), 'utf8').toString('base64url');
}

function decodeContinue(token: string): string {
  try {
    const parsed = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as { v?: string; start?: unknown };
    if (parsed.v === 'kube-sim/1' && typeof parsed.start === 'string') return parsed.start;
  } catch {
    // fall through to the error below
  }
  throw badRequest('continue key is not valid: incorrect encoded start resourceVersion (version meta.k8s.io/v1)');
}

interface DeleteOptions {
  gracePeriodSeconds?: number;
  propagationPolicy?: string;
  preconditionUid?: string;
  preconditionResourceVersion?: string;
  dryRun: boolean;
}

async function readDeleteOptions(req: IncomingMessage, query: URLSearchParams): Promise<DeleteOptions> {
  const raw = (await readBody(req)).toString('utf8').trim();
  let body: JsonObject = {};
  if (raw) {
    try {
      const parsed: unknown = JSON.parse(raw);
      if (isJsonObject(parsed)) body = parsed;
    } catch {
      throw badRequest('the DeleteOptions body is not valid JSON');
    }
  }
  const grace = query.get('gracePeriodSeconds') ?? (typeof body.gracePeriodSeconds === 'number' ? String(body.gracePeriodSeconds) : null);
  const preconditions = isJsonObject(body.preconditions) ? body.preconditions : {};
  const options: DeleteOptions = { dryRun: Array.isArray(body.dryRun) && body.dryRun.includes('All') };
  if (grace !== null && Number.isFinite(Number(grace))) options.gracePeriodSeconds = Number(grace);
  const propagation = query.get('propagationPolicy') ?? (typeof body.propagationPolicy === 'string' ? body.propagationPolicy : null);
  if (propagation) options.propagationPolicy = propagation;
  if (typeof preconditions.uid === 'string') options.preconditionUid = preconditions.uid;
  if (typeof preconditions.resourceVersion === 'string') options.preconditionResourceVersion = preconditions.resourceVersion;
  return options;
}
