import { RESOURCE_TYPES, type Verb } from './resources.js';

/**
 * One refusal in the simulator's RBAC stand-in. Every field left out matches anything (so `{ verb: 'patch',
 * resource: 'deployments' }` refuses patching deployments and their `/scale` and `/status`; add
 * `subresource: ''` to refuse only the main resource). `'*'` also matches anything.
 */
export interface DeniedRule {
  verb?: Verb | '*';
  /** API group ('' for core); omitted matches every group. */
  group?: string;
  /** Plural resource name, e.g. `deployments`. */
  resource?: string;
  /** `scale`, `status`, or '' for the main resource only. */
  subresource?: string;
  namespace?: string;
  name?: string;
}

/** What a request (or a SelfSubjectAccessReview) asks to do, in RBAC terms. */
export interface RequestAttributes {
  verb: string;
  group: string;
  resource: string;
  subresource?: string;
  namespace?: string;
  name?: string;
}

function fieldMatches(rule: string | undefined, value: string | undefined): boolean {
  return rule === undefined || rule === '*' || rule === (value ?? '');
}

/** The rule that refuses this request, if any. */
export function findDenial(rules: readonly DeniedRule[], attrs: RequestAttributes): DeniedRule | undefined {
  return rules.find(
    (rule) =>
      fieldMatches(rule.verb, attrs.verb) &&
      fieldMatches(rule.group, attrs.group) &&
      fieldMatches(rule.resource, attrs.resource) &&
      fieldMatches(rule.subresource, attrs.subresource) &&
      fieldMatches(rule.namespace, attrs.namespace) &&
      (rule.name === undefined || rule.name === '*' || attrs.name === undefined || rule.name === attrs.name),
  );
}

/** The 403 message the apiserver's RBAC authorizer writes. */
export function forbiddenMessage(attrs: RequestAttributes, user: string): string {
  const resource = attrs.subresource ? `${attrs.resource}/${attrs.subresource}` : attrs.resource;
  const qualified = attrs.group ? `${attrs.resource}.${attrs.group}` : attrs.resource;
  const subject = attrs.name ? `${qualified} "${attrs.name}"` : qualified;
  const scope = attrs.namespace ? ` in the namespace "${attrs.namespace}"` : ' at the cluster scope';
  return `${subject} is forbidden: User "${user}" cannot ${attrs.verb} resource "${resource}" in API group "${attrs.group}"${scope}`;
}

/**
 * The `status.resourceRules` of a SelfSubjectRulesReview for a namespace: every served resource and
 * subresource with the verbs not refused there.
 */
export function resourceRulesFor(rules: readonly DeniedRule[], namespace: string): Array<{ verbs: string[]; apiGroups: string[]; resources: string[] }> {
  if (rules.length === 0) return [{ verbs: ['*'], apiGroups: ['*'], resources: ['*'] }];
  const out: Array<{ verbs: string[]; apiGroups: string[]; resources: string[] }> = [];
  for (const r of RESOURCE_TYPES) {
    for (const sub of ['', ...r.subresources]) {
      const resource = sub ? `${r.plural}/${sub}` : r.plural;
      const verbs = r.verbs.filter((verb) => !findDenial(rules, { verb, group: r.group, resource: r.plural, subresource: sub, namespace }));
      if (verbs.length > 0) out.push({ verbs: [...verbs], apiGroups: [r.group], resources: [resource] });
    }
  }
  return out;
}
