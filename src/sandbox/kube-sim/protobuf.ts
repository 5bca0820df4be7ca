import { ApiError } from './api-error.js';
import type { KubeObject } from './kube-object.js';

/**
 * Decoding of the Kubernetes protobuf wire format (`application/vnd.kubernetes.protobuf`) for the few kinds
 * kubectl sends that way: its typed clients (`kubectl create configmap|secret|namespace|serviceaccount`,
 * `kubectl auth can-i`) encode request bodies as protobuf, while everything built on unstructured objects
 * (get, apply, patch, scale, delete) uses JSON. Responses stay JSON, which kubectl accepts. Field numbers are
 * from k8s.io/api and k8s.io/apimachinery `generated.proto`.
 */

type FieldType = 'string' | 'bytes' | 'int' | 'bool' | { message: Schema } | { map: 'string' | 'bytes' };
type Field = { name: string; type: FieldType; repeated?: boolean };
type Schema = Record<number, Field>;

const OWNER_REFERENCE: Schema = {
  1: { name: 'kind', type: 'string' },
  3: { name: 'name', type: 'string' },
  4: { name: 'uid', type: 'string' },
  5: { name: 'apiVersion', type: 'string' },
  6: { name: 'controller', type: 'bool' },
  7: { name: 'blockOwnerDeletion', type: 'bool' },
};

const OBJECT_META: Schema = {
  1: { name: 'name', type: 'string' },
  2: { name: 'generateName', type: 'string' },
  3: { name: 'namespace', type: 'string' },
  5: { name: 'uid', type: 'string' },
  6: { name: 'resourceVersion', type: 'string' },
  7: { name: 'generation', type: 'int' },
  11: { name: 'labels', type: { map: 'string' } },
  12: { name: 'annotations', type: { map: 'string' } },
  13: { name: 'ownerReferences', type: { message: OWNER_REFERENCE }, repeated: true },
  14: { name: 'finalizers', type: 'string', repeated: true },
};

const META: Field = { name: 'metadata', type: { message: OBJECT_META } };

const SCHEMAS: Record<string, Schema> = {
  'v1/ConfigMap': { 1: META, 2: { name: 'data', type: { map: 'string' } }, 3: { name: 'binaryData', type: { map: 'bytes' } }, 4: { name: 'immutable', type: 'bool' } },
  'v1/Secret': {
    1: META,
    2: { name: 'data', type: { map: 'bytes' } },
    3: { name: 'type', type: 'string' },
    4: { name: 'stringData', type: { map: 'string' } },
    5: { name: 'immutable', type: 'bool' },
  },
  'v1/Namespace': { 1: META, 2: { name: 'spec', type: { message: { 1: { name: 'finalizers', type: 'string', repeated: true } } } } },
  'v1/ServiceAccount': {
    1: META,
    3: { name: 'imagePullSecrets', type: { message: { 1: { name: 'name', type: 'string' } } }, repeated: true },
    4: { name: 'automountServiceAccountToken', type: 'bool' },
  },
  'authorization.k8s.io/v1/SelfSubjectAccessReview': {
    1: META,
    2: {
      name: 'spec',
      type: {
        message: {
          1: {
            name: 'resourceAttributes',
            type: {
              message: {
                1: { name: 'namespace', type: 'string' },
                2: { name: 'verb', type: 'string' },
                3: { name: 'group', type: 'string' },
                4: { name: 'version', type: 'string' },
                5: { name: 'resource', type: 'string' },
                6: { name: 'subresource', type: 'string' },
                7: { name: 'name', type: 'string' },
              },
            },
          },
          2: { name: 'nonResourceAttributes', type: { message: { 1: { name: 'path', type: 'string' }, 2: { name: 'verb', type: 'string' } } } },
        },
      },
    },
  },
  'authorization.k8s.io/v1/SelfSubjectRulesReview': { 1: META, 2: { name: 'spec', type: { message: { 1: { name: 'namespace', type: 'string' } } } } },
};

const MAGIC = Buffer.from([0x6b, 0x38, 0x73, 0x00]);

/** The media type of the Kubernetes protobuf encoding. */
export const PROTOBUF_MEDIA_TYPE = 'application/vnd.kubernetes.protobuf';

class Reader {
  pos = 0;
  constructor(readonly buf: Buffer) {}
  get done(): boolean {
    return this.pos >= this.buf.length;
  }
  varint(): bigint {
    let result = 0n;
    let shift = 0n;
    for (;;) {
      if (this.pos >= this.buf.length) throw malformed('truncated varint');
      const byte = this.buf[this.pos++] ?? 0;
      result |= BigInt(byte & 0x7f) << shift;
      if ((byte & 0x80) === 0) return result;
      shift += 7n;
      if (shift > 70n) throw malformed('varint too long');
    }
  }
  bytes(): Buffer {
    const length = Number(this.varint());
    if (this.pos + length > this.buf.length) throw malformed('truncated field');
    const out = this.buf.subarray(this.pos, this.pos + length);
    this.pos += length;
    return out;
  }
  skip(wireType: number): void {
    if (wireType === 0) this.varint();
    else if (wireType === 1) this.pos += 8;
    else if (wireType === 2) this.bytes();
    else if (wireType === 5) this.pos += 4;
    else throw malformed(`unsupported wire type ${wireType}`);
  }
}

function malformed(why: string): ApiError {
  return new ApiError(400, 'BadRequest', `the protobuf body could not be decoded: ${why}`);
}

function decodeMessage(buf: Buffer, schema: Schema): Record<string, unknown> {
  const reader = new Reader(buf);
  const out: Record<string, unknown> = {};
  while (!reader.done) {
    const tag = Number(reader.varint());
    const fieldNumber = tag >>> 3;
    const wireType = tag & 7;
    const field = schema[fieldNumber];
    if (!field) {
      reader.skip(wireType);
      continue;
    }
    const type = field.type;
    let value: unknown;
    if (type === 'int') value = Number(reader.varint());
    else if (type === 'bool') value = reader.varint() !== 0n;
    else if (type === 'string') value = reader.bytes().toString('utf8');
    else if (type === 'bytes') value = reader.bytes().toString('base64');
    else if ('message' in type) value = decodeMessage(reader.bytes(), type.message);
    else {
      const entry = decodeMessage(reader.bytes(), { 1: { name: 'key', type: 'string' }, 2: { name: 'value', type: type.map } });
      const map = (out[field.name] as Record<string, unknown> | undefined) ?? {};
      map[String(entry.key ?? '')] = entry.value ?? '';
      out[field.name] = map;
      continue;
    }
    if (field.repeated) out[field.name] = [...((out[field.name] as unknown[] | undefined) ?? []), value];
    // Go's protobuf writes empty strings and false; JSON would omit them.
    else if (value !== '' && value !== false && value !== 0) out[field.name] = value;
  }
  return out;
}

/**
 * Decodes a `k8s\0`-prefixed protobuf body into the JSON object it stands for. Throws 415 for kinds the
 * simulator cannot decode (the client should send JSON), 400 for a malformed body.
 */
export function decodeKubeProtobuf(body: Buffer): KubeObject {
  if (body.length < 4 || !body.subarray(0, 4).equals(MAGIC)) throw malformed('missing the k8s protobuf prefix');
  const unknown = decodeMessage(body.subarray(4), {
    1: { name: 'typeMeta', type: { message: { 1: { name: 'apiVersion', type: 'string' }, 2: { name: 'kind', type: 'string' } } } },
    2: { name: 'raw', type: 'bytes' },
  });
  const typeMeta = (unknown.typeMeta as { apiVersion?: string; kind?: string } | undefined) ?? {};
  const apiVersion = typeMeta.apiVersion ?? '';
  const kind = typeMeta.kind ?? '';
  const schema = SCHEMAS[`${apiVersion}/${kind}`];
  if (!schema) {
    throw new ApiError(415, 'UnsupportedMediaType', `kube-sim cannot decode ${apiVersion} ${kind} from protobuf; send application/json`);
  }
  const raw = Buffer.from(String(unknown.raw ?? ''), 'base64');
  const obj = decodeMessage(raw, schema);
  return { apiVersion, kind, metadata: {}, ...obj } as KubeObject;
}
