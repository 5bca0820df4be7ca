import * as k8s from '@kubernetes/client-node';
import { PachbackupError } from '../errors.js';
import type { ClusterConfig } from '../config/config.js';

/**
 * The Kubernetes client configuration of one cluster: its ServiceAccount when pachbackup runs inside it,
 * otherwise the named context of a kubeconfig — never "whatever the current context is", because pausing
 * the wrong cluster is the runbook's first warning.
 */
export function loadKubeConfig(kubernetes: ClusterConfig['kubernetes']): k8s.KubeConfig {
  const kc = new k8s.KubeConfig();
  if (kubernetes.inCluster) {
    kc.loadFromCluster();
    return kc;
  }
  if (kubernetes.kubeconfig) kc.loadFromFile(kubernetes.kubeconfig);
  else kc.loadFromDefault();
  if (kubernetes.context) {
    if (!kc.getContextObject(kubernetes.context)) {
      const known = kc.getContexts().map((c) => c.name);
      throw new PachbackupError('config-invalid', `kubeconfig has no context "${kubernetes.context}"`, {
        hint: known.length ? `expected one of ${known.join(', ')}` : 'the kubeconfig has no contexts',
      });
    }
    kc.setCurrentContext(kubernetes.context);
  }
  return kc;
}
