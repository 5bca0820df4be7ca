/**
 * The errors the simulated API server answers with. Each becomes a `Status` object with the HTTP code and
 * `reason` the real kube-apiserver uses (k8s.io/apimachinery/pkg/api/errors), so clients that branch on
 * `reason` or on the code (client-go's `IsNotFound`, client-node's `ApiException.code`) behave as they would
 * against a cluster.
 */
export type StatusReason =
  | 'BadRequest'
  | 'Unauthorized'
  | 'Forbidden'
  | 'NotFound'
  | 'AlreadyExists'
  | 'Conflict'
  | 'Gone'
  | 'Expired'
  | 'Invalid'
  | 'MethodNotAllowed'
  | 'NotAcceptable'
  | 'UnsupportedMediaType'
  | 'InternalError'
  | 'ServiceUnavailable'
  | 'TooManyRequests'
  | 'Timeout';

/** Which object an error is about, as in `Status.details`. */
export interface StatusDetails {
  name?: string;
  group?: string;
  kind?: string;
  uid?: string;
  causes?: Array<{ reason?: string; message?: string; field?: string }>;
  /** How long a throttled (429) or unavailable client should wait before trying again. */
  retryAfterSeconds?: number;
}

/** The `Status` kind returned for every failure (and for successful deletes of most kinds). */
export interface StatusObject {
  kind: 'Status';
  apiVersion: 'v1';
  metadata: Record<string, never>;
  status: 'Success' | 'Failure';
  message?: string;
  reason?: StatusReason;
  details?: StatusDetails;
  code: number;
}

/** A failure the server reports to its client as a `Status` with `code` and `reason`. */
export class ApiError extends Error {
  readonly code: number;
  readonly reason: StatusReason;
  readonly details: StatusDetails | undefined;

  constructor(code: number, reason: StatusReason, message: string, details?: StatusDetails) {
    super(message);
    this.name = 'ApiError';
    this.code = code;
    this.reason = reason;
    this.details = details;
  }

  /** The wire form of this error. */
  toStatus(): StatusObject {
    return {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: this.message,
      reason: this.reason,
      ...(this.details ? { details: this.details } : {}),
      code: this.code,
    };
  }
}

/** `<plural>.<group> "name"` or `<plural> "name"`, the way the apiserver names an object in messages. */
export function qualifiedName(resource: { plural: string; group: string }, name: string): string {
  return resource.group ? `${resource.plural}.${resource.group} "${name}"` : `${resource.plural} "${name}"`;
}

/** 404 NotFound for a named object. */
export function notFound(resource: { plural: string; group: string; kind?: string }, name: string): ApiError {
  return new ApiError(404, 'NotFound', `${qualifiedName(resource, name)} not found`, {
    name,
    group: resource.group,
    kind: resource.plural,
  });
}

/** 409 AlreadyExists on create. */
export function alreadyExists(resource: { plural: string; group: string }, name: string): ApiError {
  return new ApiError(409, 'AlreadyExists', `${qualifiedName(resource, name)} already exists`, {
    name,
    group: resource.group,
    kind: resource.plural,
  });
}

/** 409 Conflict on an update with a stale `metadata.resourceVersion`. */
export function conflict(resource: { plural: string; group: string }, name: string): ApiError {
  return new ApiError(
    409,
    'Conflict',
    `Operation cannot be fulfilled on ${qualifiedName(resource, name)}: the object has been modified; please apply your changes to the latest version and try again`,
    { name, group: resource.group, kind: resource.plural },
  );
}

/** 422 Invalid: the object fails validation. */
export function invalid(resource: { plural: string; group: string; kind: string }, name: string, problems: Array<{ field: string; message: string }>): ApiError {
  const summary = problems.map((p) => `${p.field}: ${p.message}`).join(', ');
  return new ApiError(422, 'Invalid', `${resource.kind} "${name}" is invalid: ${summary}`, {
    name,
    group: resource.group,
    kind: resource.kind,
    causes: problems.map((p) => ({ reason: 'FieldValueInvalid', message: p.message, field: p.field })),
  });
}

/** 400 BadRequest with a message. */
export function badRequest(message: string): ApiError {
  return new ApiError(400, 'BadRequest', message);
}
