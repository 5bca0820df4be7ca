import { describe, expect, it } from 'vitest';
import { buildHandedBackReply } from '../../../src/slack/views/handed-back-reply.js';
import { buildRetryReply } from '../../../src/slack/views/retry-reply.js';
import { expectGolden } from './golden.js';

describe('notes in a run thread', () => {
  it('says a run was handed back, why, and that the cluster runs and nothing is lost', () => {
    const reply = buildHandedBackReply({ kind: 'backup', reason: 'worker shutting down (SIGTERM)' });
    expect(reply.text).toBe('↩️ Handed back to the queue — worker shutting down (SIGTERM). Another worker carries the backup on from its last finished step.');
    expectGolden('handed-back-reply', reply);
  });

  it('says a step waits on a service that keeps failing, and when it answers again', () => {
    const retrying = buildRetryReply({ stepTitle: 'Copy objects (cluster running)', message: 'retrying the object store (https://s3.example, bucket data) for 6 s (9 retries so far): HTTP 503 SlowDown', recovered: false });
    expect(retrying.text).toMatch(/^⏳ Copy objects \(cluster running\) — retrying the object store/);
    expectGolden('retry-reply', retrying);
    expect(buildRetryReply({ stepTitle: 'Pause Pachyderm', message: 'the Kubernetes API answers again after 7 s of retries', recovered: true }).text).toBe('✔️ Pause Pachyderm — the Kubernetes API answers again after 7 s of retries');
  });
});
