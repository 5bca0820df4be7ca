import type { Step } from '../runner/step.js';
import type { BackupDeps } from './backup-deps.js';
import type { BackupOutputs } from './backup-outputs.js';
import { captureHelmValues } from './steps/capture-helm-values.js';
import { catchUpCopy, copyDelta, preCopyObjects, writeInventory } from './steps/copy-objects.js';
import { dumpDatabases } from './steps/dump-databases.js';
import { resumeIngress, suspendIngress } from './steps/ingress.js';
import { pauseCluster, resumeCluster } from './steps/pause-cluster.js';
import { preflight } from './steps/preflight.js';
import { holdSnapshotsIfLost, snapshotDatabases } from './steps/snapshot-databases.js';
import { verify } from './steps/verify.js';
import { writeManifest } from './steps/write-manifest.js';

/**
 * A backup, in order (DESIGN.md "Operations are steps"). Everything between `pause` and `resume` is downtime, so
 * the pause holds only what must be frozen: the objects that arrived since the pre-copy and the moment of each
 * database (an exported snapshot). The bulk copy happens before the pause; the dumps (from the snapshots), the
 * manifest and verification after the resume.
 */
export function createBackupSteps(deps: BackupDeps): Step<BackupOutputs>[] {
  return [
    preflight(deps),
    captureHelmValues(deps),
    preCopyObjects(deps),
    catchUpCopy(deps),
    suspendIngress(deps),
    pauseCluster(deps),
    copyDelta(deps),
    snapshotDatabases(deps),
    resumeCluster(deps, { beforeResume: (ctx) => holdSnapshotsIfLost(deps, ctx) }),
    resumeIngress(deps),
    dumpDatabases(deps),
    writeInventory(deps),
    writeManifest(deps),
    verify(deps),
  ];
}
