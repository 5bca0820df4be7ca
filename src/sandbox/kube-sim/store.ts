import { randomUUID } from 'node:crypto';
import { ApiError, alreadyExists, conflict, invalid, notFound } from './api-error.js';
import { cloneJson, jsonEqual, type KubeObject } from './kube-object.js';
import { KINDS, RESOURCE_TYPES, apiVersionOf, type ResourceType } from './resources.js';

/** The three kinds of change a watch reports. */
export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED';

/** One committed change, in resourceVersion order. `previous` is the object before a MODIFIED/DELETED. */
export interface StoreEvent {
  type: WatchEventType;
  resource: ResourceType;
  resourceVersion: number;
  object: KubeObject;
  previous?: KubeObject;
}

/** Called synchronously after each committed change. */
export type StoreListener = (event: StoreEvent) => void;

/** Options shared by the writing operations. */
export interface WriteOptions {
  /** Validate and build the result but commit nothing (the API's `dryRun=All`). */
  dryRun?: boolean;
}

/** A serialisable copy of the whole store, for `--state-dir`. */
export interface StoreSnapshot {
  resourceVersion: number;
  objects: KubeObject[];
}

const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const GENERATE_NAME_ALPHABET = 'bcdfghjklmnpqrstvwxz2456789';

/** Random characters from the alphabet Kubernetes uses for generated names (no vowels, no look-alikes). */
export function randomSuffix(length = 5): string {
  let out = '';
  for (let i = 0; i < length; i++) out += GENERATE_NAME_ALPHABET[Math.floor(Math.random() * GENERATE_NAME_ALPHABET.length)];
  return out;
}

/**
 * The simulator's etcd: every object by resource, namespace and name, with one resourceVersion counter for
 * the whole store (as etcd's revision), server-set metadata (uid, creationTimestamp, generation) and an
 * ordered history of changes so that watches can resume from a resourceVersion. Objects go in and come out
 * as deep copies, so callers can never mutate stored state behind the store's back.
 */
export class ObjectStore {
  private revision = 0;
  private readonly objects = new Map<ResourceType, Map<string, KubeObject>>();
  private readonly history: StoreEvent[] = [];
  private readonly listeners = new Set<StoreListener>();
  private readonly historyLimit: number;
  private readonly now: () => Date;

  constructor(options: { historyLimit?: number; now?: () => Date } = {}) {
    this.historyLimit = options.historyLimit ?? 20_000;
    this.now = options.now ?? (() => new Date());
    for (const r of RESOURCE_TYPES) if (!r.virtual) this.objects.set(r, new Map());
  }

  /** The resourceVersion of the latest committed change. */
  get resourceVersion(): number {
    return this.revision;
  }

  /** The current time as the store stamps it, RFC 3339 without fractions (as Kubernetes writes it). */
  timestamp(offsetSeconds = 0): string {
    return new Date(this.now().getTime() + offsetSeconds * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
  }

  /** One object, or undefined. */
  get(resource: ResourceType, namespace: string | undefined, name: string): KubeObject | undefined {
    const found = this.bucket(resource).get(keyOf(resource, namespace, name));
    return found ? cloneJson(found) : undefined;
  }

  /** One object, or a 404 ApiError. */
  mustGet(resource: ResourceType, namespace: string | undefined, name: string): KubeObject {
    const found = this.get(resource, namespace, name);
    if (!found) throw notFound(resource, name);
    return found;
  }

  /** All objects of a resource, in one namespace or (undefined) all, ordered by namespace then name. */
  list(resource: ResourceType, namespace?: string): KubeObject[] {
    const out: KubeObject[] = [];
    const keys = [...this.bucket(resource).keys()].sort();
    for (const key of keys) {
      const obj = this.bucket(resource).get(key);
      if (!obj) continue;
      if (resource.namespaced && namespace !== undefined && obj.metadata.namespace !== namespace) continue;
      out.push(cloneJson(obj));
    }
    return out;
  }

  /**
   * Stores a new object. Fills uid, resourceVersion, creationTimestamp and (for workloads) generation;
   * resolves `generateName`; refuses a duplicate (409), an invalid name (422), or a namespace that does not
   * exist (404) or is terminating (403).
   */
  create(resource: ResourceType, input: KubeObject, options: WriteOptions = {}): KubeObject {
    const obj = cloneJson(input);
    obj.apiVersion = apiVersionOf(resource);
    obj.kind = resource.kind;
    const meta = obj.metadata ?? {};
    obj.metadata = meta;
    if (!meta.name && meta.generateName) meta.name = `${meta.generateName}${randomSuffix()}`;
    const name = meta.name ?? '';
    if (!name) throw invalid(resource, '', [{ field: 'metadata.name', message: 'Required value: name or generateName is required' }]);
    if (name.length > 253 || !DNS_SUBDOMAIN.test(name)) {
      throw invalid(resource, name, [
        { field: 'metadata.name', message: `Invalid value: "${name}": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character` },
      ]);
    }
    if (resource.namespaced) {
      const ns = meta.namespace ?? '';
      if (!ns) throw new ApiError(400, 'BadRequest', 'the namespace of the object must be set');
      const nsObj = this.bucket(KINDS.namespace).get(keyOf(KINDS.namespace, undefined, ns));
      if (!nsObj) throw notFound(KINDS.namespace, ns);
      if (nsObj.metadata.deletionTimestamp) {
        throw new ApiError(403, 'Forbidden', `${resource.plural} "${name}" is forbidden: unable to create new content in namespace ${ns} because it is being terminated`, {
          name,
          group: resource.group,
          kind: resource.plural,
        });
      }
    } else {
      delete meta.namespace;
    }
    const key = keyOf(resource, meta.namespace, name);
    if (this.bucket(resource).has(key)) throw alreadyExists(resource, name);

    meta.uid = randomUUID();
    meta.creationTimestamp = this.timestamp();
    delete meta.deletionTimestamp;
    delete meta.deletionGracePeriodSeconds;
    if (resource.tracksGeneration) meta.generation = 1;
    else delete meta.generation;
    if (options.dryRun) {
      meta.resourceVersion = String(this.revision);
      return obj;
    }
    meta.resourceVersion = String(++this.revision);
    this.bucket(resource).set(key, obj);
    this.emit({ type: 'ADDED', resource, resourceVersion: this.revision, object: obj });
    return cloneJson(obj);
  }

  /**
   * Replaces an existing object. When `metadata.resourceVersion` is set it must equal the stored one, or the
   * update fails with 409 Conflict (optimistic concurrency, as in the API). uid and creationTimestamp are
   * kept; generation is bumped when `spec` changed. An update that changes nothing commits nothing.
   */
  update(resource: ResourceType, input: KubeObject, options: WriteOptions = {}): KubeObject {
    const name = input.metadata?.name ?? '';
    const namespace = resource.namespaced ? input.metadata?.namespace : undefined;
    const key = keyOf(resource, namespace, name);
    const current = this.bucket(resource).get(key);
    if (!current) throw notFound(resource, name);
    const requested = input.metadata.resourceVersion;
    if (requested !== undefined && requested !== '' && requested !== current.metadata.resourceVersion) throw conflict(resource, name);

    const obj = cloneJson(input);
    obj.apiVersion = apiVersionOf(resource);
    obj.kind = resource.kind;
    obj.metadata.uid = current.metadata.uid;
    obj.metadata.creationTimestamp = current.metadata.creationTimestamp;
    if (!resource.namespaced) delete obj.metadata.namespace;
    if (resource.tracksGeneration) {
      const generation = current.metadata.generation ?? 1;
      obj.metadata.generation = jsonEqual(obj.spec, current.spec) ? generation : generation + 1;
    } else {
      delete obj.metadata.generation;
    }
    obj.metadata.resourceVersion = current.metadata.resourceVersion;
    if (jsonEqual(obj, current)) return cloneJson(current);
    if (options.dryRun) return obj;
    obj.metadata.resourceVersion = String(++this.revision);
    this.bucket(resource).set(key, obj);
    this.emit({ type: 'MODIFIED', resource, resourceVersion: this.revision, object: obj, previous: current });
    return cloneJson(obj);
  }

  /** Reads, changes and writes one object in a single step (no conflict possible). Returns the result. */
  mutate(resource: ResourceType, namespace: string | undefined, name: string, change: (obj: KubeObject) => void): KubeObject {
    const obj = this.mustGet(resource, namespace, name);
    change(obj);
    return this.update(resource, obj);
  }

  /** Removes an object for good (graceful deletion is the caller's business). Returns the removed object. */
  delete(resource: ResourceType, namespace: string | undefined, name: string, options: WriteOptions = {}): KubeObject {
    const key = keyOf(resource, namespace, name);
    const current = this.bucket(resource).get(key);
    if (!current) throw notFound(resource, name);
    if (options.dryRun) return cloneJson(current);
    this.bucket(resource).delete(key);
    const removed = cloneJson(current);
    removed.metadata.resourceVersion = String(++this.revision);
    this.emit({ type: 'DELETED', resource, resourceVersion: this.revision, object: removed, previous: current });
    return cloneJson(removed);
  }

  /** Subscribes to committed changes; returns the unsubscribe function. */
  subscribe(listener: StoreListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * Changes committed after `resourceVersion`, oldest first, or undefined when the history no longer reaches
   * back that far (the API answers 410 Gone; the client must list again).
   */
  eventsSince(resourceVersion: number): StoreEvent[] | undefined {
    const oldest = this.history[0];
    if (oldest && resourceVersion < oldest.resourceVersion - 1) return undefined;
    if (!oldest && resourceVersion < this.revision) return undefined;
    return this.history.filter((e) => e.resourceVersion > resourceVersion).map((e) => cloneEvent(e));
  }

  /** A copy of every stored object, for saving to disk. */
  snapshot(): StoreSnapshot {
    const objects: KubeObject[] = [];
    for (const r of RESOURCE_TYPES) if (!r.virtual) objects.push(...this.list(r));
    return { resourceVersion: this.revision, objects };
  }

  /** Replaces the contents with a snapshot (no events are emitted; watches should be restarted). */
  restore(snapshot: StoreSnapshot): void {
    for (const bucket of this.objects.values()) bucket.clear();
    this.history.length = 0;
    for (const obj of snapshot.objects) {
      const resource = RESOURCE_TYPES.find((r) => apiVersionOf(r) === obj.apiVersion && r.kind === obj.kind);
      if (!resource || resource.virtual) continue;
      this.bucket(resource).set(keyOf(resource, obj.metadata.namespace, obj.metadata.name ?? ''), cloneJson(obj));
    }
    this.revision = snapshot.resourceVersion;
  }

  private bucket(resource: ResourceType): Map<string, KubeObject> {
    const bucket = this.objects.get(resource);
    if (!bucket) throw new ApiError(405, 'MethodNotAllowed', `${resource.plural} are not stored`);
    return bucket;
  }

  private emit(event: StoreEvent): void {
    this.history.push(event);
    if (this.history.length > this.historyLimit) this.history.splice(0, this.history.length - this.historyLimit);
    for (const listener of [...this.listeners]) {
      try {
        listener(cloneEvent(event));
      } catch {
        // A misbehaving listener must not break the write that already committed.
      }
    }
  }
}

function keyOf(resource: ResourceType, namespace: string | undefined, name: string): string {
  return resource.namespaced ? `${namespace ?? ''}/${name}` : `/${name}`;
}

function cloneEvent(event: StoreEvent): StoreEvent {
  return {
    type: event.type,
    resource: event.resource,
    resourceVersion: event.resourceVersion,
    object: cloneJson(event.object),
    ...(event.previous ? { previous: cloneJson(event.previous) } : {}),
  };
}
