import { describe, expect, it } from 'vitest';
import { ApiError } from '../../../src/sandbox/kube-sim/api-error.js';
import { applyPatch, jsonPatch, mergePatch, strategicMergePatch } from '../../../src/sandbox/kube-sim/patch.js';

const deployment = {
  metadata: { name: 'pachd', labels: { app: 'pachd', suite: 'pachyderm' }, finalizers: ['a'] },
  spec: {
    replicas: 1,
    template: {
      metadata: { labels: { app: 'pachd' } },
      spec: {
        containers: [
          {
            name: 'pachd',
            image: 'pachyderm/pachd:2.11.6',
            args: ['--mode', '$(MODE)'],
            env: [
              { name: 'A', value: '1' },
              { name: 'B', value: '2' },
            ],
            ports: [{ containerPort: 1650, name: 'grpc' }],
            volumeMounts: [{ name: 'disk', mountPath: '/pach' }],
          },
          { name: 'sidecar', image: 'envoy:1' },
        ],
        volumes: [{ name: 'disk', emptyDir: {} }],
        tolerations: [{ key: 'x', operator: 'Exists' }],
      },
    },
  },
};

type Containers = Array<{ name: string; image?: string; env?: Array<{ name: string; value?: string }>; args?: string[]; ports?: unknown[] }>;
const containersOf = (obj: unknown): Containers => (obj as typeof deployment).spec.template.spec.containers as Containers;

describe('strategic merge patch (what kubectl patch sends by default)', () => {
  it('merges containers and env by name instead of replacing the lists', () => {
    const out = strategicMergePatch(deployment, {
      spec: { template: { spec: { containers: [{ name: 'pachd', image: 'pachyderm/pachd:2.11.7', env: [{ name: 'B', value: 'two' }, { name: 'C', value: '3' }] }] } } },
    });
    const containers = containersOf(out);
    expect(containers.map((c) => c.name)).toEqual(['pachd', 'sidecar']);
    expect(containers[0]?.image).toBe('pachyderm/pachd:2.11.7');
    expect(containers[0]?.env).toEqual([
      { name: 'A', value: '1' },
      { name: 'B', value: 'two' },
      { name: 'C', value: '3' },
    ]);
    expect(containers[0]?.args).toEqual(['--mode', '$(MODE)']);
    expect(deployment.spec.template.spec.containers[0]?.image).toBe('pachyderm/pachd:2.11.6'); // input untouched
  });

  it('honours $patch: delete and $patch: replace, and null deletes a key', () => {
    const out = strategicMergePatch(deployment, {
      metadata: { labels: { suite: null } },
      spec: {
        template: {
          spec: {
            containers: [{ name: 'sidecar', $patch: 'delete' }],
            volumes: [{ name: 'scratch', emptyDir: {} }, { $patch: 'replace' }],
          },
        },
      },
    }) as typeof deployment;
    expect(out.metadata.labels).toEqual({ app: 'pachd' });
    expect(containersOf(out).map((c) => c.name)).toEqual(['pachd']);
    expect(out.spec.template.spec.volumes).toEqual([{ name: 'scratch', emptyDir: {} }]);

    const replacedMap = strategicMergePatch(deployment, { metadata: { labels: { $patch: 'replace', only: 'this' } } }) as typeof deployment;
    expect(replacedMap.metadata.labels).toEqual({ only: 'this' });
  });

  it('replaces lists without a merge key and merges ports by containerPort', () => {
    const out = strategicMergePatch(deployment, {
      spec: { template: { spec: { tolerations: [{ key: 'y', operator: 'Exists' }], containers: [{ name: 'pachd', args: ['--mode', 'paused'], ports: [{ containerPort: 1650, name: 'api' }, { containerPort: 1600 }] }] } } },
    }) as typeof deployment;
    expect(out.spec.template.spec.tolerations).toEqual([{ key: 'y', operator: 'Exists' }]);
    const pachd = containersOf(out)[0];
    expect(pachd?.args).toEqual(['--mode', 'paused']);
    expect(pachd?.ports).toEqual([{ containerPort: 1650, name: 'api' }, { containerPort: 1600 }]);
  });

  it('merges finalizers as a set and removes with $deleteFromPrimitiveList', () => {
    const added = strategicMergePatch(deployment, { metadata: { finalizers: ['a', 'b'] } }) as typeof deployment;
    expect(added.metadata.finalizers).toEqual(['a', 'b']);
    const removed = strategicMergePatch(added, { metadata: { '$deleteFromPrimitiveList/finalizers': ['a'] } }) as typeof deployment;
    expect(removed.metadata.finalizers).toEqual(['b']);
  });
});

describe('JSON merge patch (RFC 7386)', () => {
  it('replaces lists, merges maps and deletes with null', () => {
    const out = mergePatch(deployment, { metadata: { labels: { suite: null, x: 'y' } }, spec: { template: { spec: { containers: [{ name: 'only' }] } } } }) as typeof deployment;
    expect(out.metadata.labels).toEqual({ app: 'pachd', x: 'y' });
    expect(containersOf(out)).toEqual([{ name: 'only' }]);
    expect(out.spec.replicas).toBe(1);
  });
});

describe('JSON patch (RFC 6902)', () => {
  it('applies add, remove, replace, move, copy and test in order', () => {
    const out = jsonPatch({ a: { b: [1, 2, 3] }, c: 'x' }, [
      { op: 'test', path: '/c', value: 'x' },
      { op: 'add', path: '/a/b/-', value: 4 },
      { op: 'add', path: '/a/b/0', value: 0 },
      { op: 'remove', path: '/a/b/1' },
      { op: 'replace', path: '/c', value: 'y' },
      { op: 'copy', from: '/c', path: '/d' },
      { op: 'move', from: '/d', path: '/e~1f' },
      { op: 'add', path: '/g~0h', value: true },
    ]);
    expect(out).toEqual({ a: { b: [0, 2, 3, 4] }, c: 'y', 'e/f': 'y', 'g~h': true });
  });

  it('fails a failed test or a missing path with 422 and a malformed patch with 400', () => {
    const code = (fn: () => unknown): number => {
      try {
        fn();
      } catch (err) {
        if (err instanceof ApiError) return err.code;
        throw err;
      }
      return 0;
    };
    expect(code(() => applyPatch('json', { a: 1 }, [{ op: 'test', path: '/a', value: 2 }]))).toBe(422);
    expect(code(() => applyPatch('json', { a: 1 }, [{ op: 'remove', path: '/b' }]))).toBe(422);
    expect(code(() => applyPatch('json', { a: 1 }, [{ op: 'replace', path: '/b', value: 1 }]))).toBe(422);
    expect(code(() => applyPatch('json', { a: 1 }, { op: 'add' }))).toBe(400);
    expect(code(() => applyPatch('json', { a: 1 }, [{ op: 'frobnicate', path: '/a' }]))).toBe(400);
  });
});
