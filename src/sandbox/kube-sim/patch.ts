import { ApiError, badRequest } from './api-error.js';
import { cloneJson, isJsonObject, jsonEqual, type JsonObject } from './kube-object.js';

/** The patch content types the simulator understands, as sent in `Content-Type`. */
export type PatchType = 'merge' | 'strategic' | 'json';

/** Maps a request's `Content-Type` to a patch type; undefined for anything else (415 for the caller). */
export function patchTypeOf(contentType: string | undefined): PatchType | undefined {
  const mediaType = (contentType ?? '').split(';')[0]?.trim().toLowerCase();
  switch (mediaType) {
    case 'application/merge-patch+json':
      return 'merge';
    case 'application/strategic-merge-patch+json':
      return 'strategic';
    case 'application/json-patch+json':
      return 'json';
    default:
      return undefined;
  }
}

/**
 * Applies a patch document of the given type to a JSON object and returns the patched copy (the input is
 * not changed). Errors are ApiErrors as the apiserver sends them: a patch that is not valid for its type is
 * a 400; a JSON patch whose operations cannot be applied (missing path, failed `test`) is a 422.
 */
export function applyPatch(type: PatchType, original: JsonObject, patch: unknown): JsonObject {
  switch (type) {
    case 'merge': {
      if (!isJsonObject(patch)) throw badRequest('the merge patch must be a JSON object');
      const result = mergePatch(original, patch);
      if (!isJsonObject(result)) throw badRequest('the merge patch must result in a JSON object');
      return result;
    }
    case 'strategic': {
      if (!isJsonObject(patch)) throw badRequest('the strategic merge patch must be a JSON object');
      const result = strategicMergePatch(original, patch);
      if (!isJsonObject(result)) throw badRequest('the strategic merge patch must result in a JSON object');
      return result;
    }
    case 'json': {
      if (!Array.isArray(patch)) throw badRequest('json: cannot unmarshal object into Go value of type jsonpatch.Patch');
      const result = jsonPatch(original, patch);
      if (!isJsonObject(result)) throw new ApiError(422, 'Invalid', 'the JSON patch must result in a JSON object');
      return result;
    }
  }
}

/** RFC 7386 JSON merge patch: objects merge recursively, `null` removes a key, anything else replaces. */
export function mergePatch(target: unknown, patch: unknown): unknown {
  if (!isJsonObject(patch)) return cloneJson(patch);
  const result: JsonObject = isJsonObject(target) ? cloneJson(target) : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete result[key];
    else result[key] = mergePatch(result[key], value);
  }
  return result;
}

// ---------------------------------------------------------------------------------------------------------
// RFC 6902 JSON patch

function parsePointer(pointer: string): string[] {
  if (pointer === '') return [];
  if (!pointer.startsWith('/')) throw invalidPatch(`JSON pointer must start with '/': "${pointer}"`);
  return pointer
    .slice(1)
    .split('/')
    .map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'));
}

function invalidPatch(message: string): ApiError {
  return new ApiError(422, 'Invalid', message);
}

function getAt(doc: unknown, tokens: string[], pointer: string): unknown {
  let current = doc;
  for (const token of tokens) {
    if (Array.isArray(current)) {
      const index = arrayIndex(token, current.length, false, pointer);
      current = current[index];
    } else if (isJsonObject(current) && Object.prototype.hasOwnProperty.call(current, token)) {
      current = current[token];
    } else {
      throw invalidPatch(`doc is missing path: "${pointer}": missing value`);
    }
  }
  return current;
}

function arrayIndex(token: string, length: number, forInsert: boolean, pointer: string): number {
  if (token === '-' && forInsert) return length;
  if (!/^(0|[1-9]\d*)$/.test(token)) throw invalidPatch(`invalid array index "${token}" in "${pointer}"`);
  const index = Number(token);
  if (forInsert ? index > length : index >= length) throw invalidPatch(`array index out of bounds in "${pointer}"`);
  return index;
}

function parentOf(doc: unknown, tokens: string[], pointer: string): { parent: unknown; last: string } {
  if (tokens.length === 0) throw invalidPatch(`cannot operate on the document root: "${pointer}"`);
  const parent = getAt(doc, tokens.slice(0, -1), pointer);
  return { parent, last: tokens[tokens.length - 1] ?? '' };
}

function addAt(doc: unknown, pointer: string, value: unknown): unknown {
  const tokens = parsePointer(pointer);
  if (tokens.length === 0) return cloneJson(value);
  const { parent, last } = parentOf(doc, tokens, pointer);
  if (Array.isArray(parent)) parent.splice(arrayIndex(last, parent.length, true, pointer), 0, cloneJson(value));
  else if (isJsonObject(parent)) parent[last] = cloneJson(value);
  else throw invalidPatch(`doc is missing path: "${pointer}": missing value`);
  return doc;
}

function removeAt(doc: unknown, pointer: string): { doc: unknown; removed: unknown } {
  const tokens = parsePointer(pointer);
  const { parent, last } = parentOf(doc, tokens, pointer);
  if (Array.isArray(parent)) {
    const index = arrayIndex(last, parent.length, false, pointer);
    const [removed] = parent.splice(index, 1);
    return { doc, removed };
  }
  if (isJsonObject(parent) && Object.prototype.hasOwnProperty.call(parent, last)) {
    const removed = parent[last];
    delete parent[last];
    return { doc, removed };
  }
  throw invalidPatch(`unable to remove nonexistent key: ${last}: missing value`);
}

/** RFC 6902 JSON patch: add, remove, replace, move, copy and test, applied in order to a copy. */
export function jsonPatch(original: unknown, operations: unknown[]): unknown {
  let doc = cloneJson(original);
  for (const raw of operations) {
    if (!isJsonObject(raw) || typeof raw.op !== 'string') throw badRequest('each JSON patch operation must be an object with an "op"');
    const path = typeof raw.path === 'string' ? raw.path : undefined;
    if (path === undefined) throw badRequest(`JSON patch operation "${raw.op}" needs a "path"`);
    const needValue = (): unknown => {
      if (!Object.prototype.hasOwnProperty.call(raw, 'value')) throw badRequest(`JSON patch operation "${raw.op}" needs a "value"`);
      return raw.value;
    };
    const from = (): string => {
      if (typeof raw.from !== 'string') throw badRequest(`JSON patch operation "${raw.op}" needs a "from"`);
      return raw.from;
    };
    switch (raw.op) {
      case 'add':
        doc = addAt(doc, path, needValue());
        break;
      case 'remove':
        doc = removeAt(doc, path).doc;
        break;
      case 'replace': {
        const value = needValue();
        getAt(doc, parsePointer(path), path); // must exist
        if (path === '') {
          doc = cloneJson(value);
        } else {
          doc = removeAt(doc, path).doc;
          doc = addAt(doc, path, value);
        }
        break;
      }
      case 'move': {
        const source = from();
        if (path.startsWith(`${source}/`)) throw invalidPatch(`cannot move "${source}" into its own child "${path}"`);
        const { doc: afterRemove, removed } = removeAt(doc, source);
        doc = addAt(afterRemove, path, removed);
        break;
      }
      case 'copy': {
        const value = getAt(doc, parsePointer(from()), from());
        doc = addAt(doc, path, value);
        break;
      }
      case 'test': {
        const actual = getAt(doc, parsePointer(path), path);
        if (!jsonEqual(actual, needValue())) throw invalidPatch(`testing value ${path} failed: test failed`);
        break;
      }
      default:
        throw badRequest(`unknown JSON patch operation "${raw.op}"`);
    }
  }
  return doc;
}

// ---------------------------------------------------------------------------------------------------------
// Strategic merge patch (k8s.io/apimachinery/pkg/util/strategicpatch), for the built-in fields that matter.

const MERGE_KEYS: Record<string, string> = {
  containers: 'name',
  initContainers: 'name',
  ephemeralContainers: 'name',
  env: 'name',
  volumes: 'name',
  volumeMounts: 'mountPath',
  volumeDevices: 'devicePath',
  imagePullSecrets: 'name',
  hostAliases: 'ip',
  ownerReferences: 'uid',
  conditions: 'type',
  topologySpreadConstraints: 'topologyKey',
  resourceClaims: 'name',
  schedulingGates: 'name',
};

/** Lists of scalars that strategic merge patch merges as sets instead of replacing. */
const MERGED_SCALAR_LISTS = new Set(['finalizers']);

/**
 * The patch merge key of a list field, from the Kubernetes type definitions (`patchMergeKey`), or
 * undefined for lists that a strategic merge patch replaces wholesale (args, command, envFrom, tolerations...).
 */
export function patchMergeKey(path: readonly string[]): string | undefined {
  const field = path[path.length - 1] ?? '';
  if (field === 'ports') {
    const inContainer = path.some((p) => p === 'containers' || p === 'initContainers' || p === 'ephemeralContainers');
    return inContainer ? 'containerPort' : 'port';
  }
  return MERGE_KEYS[field];
}

const DIRECTIVE = '$patch';
const RETAIN_KEYS = '$retainKeys';
const DELETE_FROM_PRIMITIVE = '$deleteFromPrimitiveList/';
const SET_ELEMENT_ORDER = '$setElementOrder/';

/**
 * Strategic merge patch as the apiserver applies it to built-in kinds: maps merge, `null` deletes a key,
 * lists with a patch merge key merge item by item (`$patch: delete` removes an item, `$patch: replace`
 * replaces the whole list or map), other lists are replaced, and `$retainKeys`,
 * `$deleteFromPrimitiveList/<field>` and `$setElementOrder/<field>` are honoured.
 */
export function strategicMergePatch(original: unknown, patch: unknown, path: readonly string[] = []): unknown {
  if (!isJsonObject(patch)) return cloneJson(patch);
  const directive = patch[DIRECTIVE];
  if (directive === 'delete') return undefined;
  if (directive === 'replace') return stripDirectives(patch);
  if (directive !== undefined && directive !== 'merge') throw badRequest(`unknown patch type: ${String(directive)}`);

  let result: JsonObject = isJsonObject(original) ? cloneJson(original) : {};
  const retain = patch[RETAIN_KEYS];
  if (Array.isArray(retain)) {
    const keep = new Set([...retain.map(String), ...Object.keys(patch)]);
    result = Object.fromEntries(Object.entries(result).filter(([k]) => keep.has(k)));
  }
  const orders: Array<[string, unknown[]]> = [];
  for (const [key, value] of Object.entries(patch)) {
    if (key === DIRECTIVE || key === RETAIN_KEYS) continue;
    if (key.startsWith(DELETE_FROM_PRIMITIVE)) {
      const field = key.slice(DELETE_FROM_PRIMITIVE.length);
      const current = result[field];
      if (Array.isArray(current) && Array.isArray(value)) result[field] = current.filter((item) => !value.some((v) => jsonEqual(v, item)));
      continue;
    }
    if (key.startsWith(SET_ELEMENT_ORDER)) {
      if (Array.isArray(value)) orders.push([key.slice(SET_ELEMENT_ORDER.length), value]);
      continue;
    }
    const fieldPath = [...path, key];
    if (value === null) {
      delete result[key];
    } else if (Array.isArray(value)) {
      const mergeKey = patchMergeKey(fieldPath);
      if (mergeKey) result[key] = mergeListByKey(asArray(result[key]), value, mergeKey, fieldPath);
      else if (MERGED_SCALAR_LISTS.has(key)) result[key] = mergeScalarList(asArray(result[key]), value);
      else result[key] = value.map((item) => (isJsonObject(item) ? stripDirectives(item) : cloneJson(item)));
    } else if (isJsonObject(value)) {
      const merged = strategicMergePatch(result[key], value, fieldPath);
      if (merged === undefined) delete result[key];
      else result[key] = merged;
    } else {
      result[key] = value;
    }
  }
  for (const [field, order] of orders) {
    const list = result[field];
    if (Array.isArray(list)) result[field] = applyElementOrder(list, order, patchMergeKey([...path, field]));
  }
  return result;
}

function asArray(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [];
}

function mergeListByKey(original: unknown[], patch: unknown[], mergeKey: string, path: readonly string[]): unknown[] {
  if (patch.some((item) => isJsonObject(item) && item[DIRECTIVE] === 'replace' && Object.keys(item).length === 1)) {
    return patch.filter((item) => !(isJsonObject(item) && item[DIRECTIVE] === 'replace')).map((item) => (isJsonObject(item) ? stripDirectives(item) : item));
  }
  const result = cloneJson(original);
  for (const item of patch) {
    if (!isJsonObject(item)) {
      if (!result.some((existing) => jsonEqual(existing, item))) result.push(cloneJson(item));
      continue;
    }
    const keyValue = item[mergeKey];
    if (keyValue === undefined) throw badRequest(`map: ${JSON.stringify(item)} does not contain declared merge key: ${mergeKey}`);
    const index = result.findIndex((existing) => isJsonObject(existing) && jsonEqual(existing[mergeKey], keyValue));
    if (item[DIRECTIVE] === 'delete') {
      if (index >= 0) result.splice(index, 1);
      continue;
    }
    if (index >= 0) result[index] = strategicMergePatch(result[index], item, path);
    else result.push(strategicMergePatch({}, item, path));
  }
  return result;
}

function mergeScalarList(original: unknown[], patch: unknown[]): unknown[] {
  const result = cloneJson(original);
  for (const item of patch) if (!result.some((existing) => jsonEqual(existing, item))) result.push(cloneJson(item));
  return result;
}

function applyElementOrder(list: unknown[], order: unknown[], mergeKey: string | undefined): unknown[] {
  const keyOf = (item: unknown): unknown => (mergeKey && isJsonObject(item) ? item[mergeKey] : item);
  const orderKeys = order.map((o) => (mergeKey && isJsonObject(o) ? o[mergeKey] : o));
  const rank = (item: unknown): number => {
    const index = orderKeys.findIndex((k) => jsonEqual(k, keyOf(item)));
    return index < 0 ? Number.MAX_SAFE_INTEGER : index;
  };
  return [...list].sort((a, b) => rank(a) - rank(b));
}

function stripDirectives(obj: JsonObject): JsonObject {
  const out: JsonObject = {};
  for (const [key, value] of Object.entries(obj)) {
    if (key === DIRECTIVE || key === RETAIN_KEYS || key.startsWith(DELETE_FROM_PRIMITIVE) || key.startsWith(SET_ELEMENT_ORDER)) continue;
    if (value === null) continue;
    out[key] = isJsonObject(value) ? stripDirectives(value) : cloneJson(value);
  }
  return out;
}
