import { badRequest } from './api-error.js';
import { isJsonObject, readPath, type KubeObject } from './kube-object.js';
import type { ResourceType } from './resources.js';

/** One parsed label requirement (`app=pachd`, `tier in (a,b)`, `!canary`, ...). */
export interface LabelRequirement {
  key: string;
  operator: 'equals' | 'notEquals' | 'in' | 'notIn' | 'exists' | 'doesNotExist' | 'greaterThan' | 'lessThan';
  values: string[];
}

/** A parsed label selector: every requirement must hold. Empty matches everything. */
export type LabelSelectorRequirements = LabelRequirement[];

/** The structured selector of workloads (`spec.selector` of Deployments, ReplicaSets, ...). */
export interface LabelSelectorSpec {
  matchLabels?: Record<string, string>;
  matchExpressions?: Array<{ key: string; operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist'; values?: string[] }>;
}

type Token = { kind: 'word'; text: string } | { kind: 'op'; text: string };

function tokenize(input: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < input.length) {
    const ch = input[i] ?? '';
    if (/\s/.test(ch)) {
      i++;
      continue;
    }
    const two = input.slice(i, i + 2);
    if (two === '==' || two === '!=') {
      tokens.push({ kind: 'op', text: two });
      i += 2;
      continue;
    }
    if ('=!(),<>'.includes(ch)) {
      tokens.push({ kind: 'op', text: ch });
      i++;
      continue;
    }
    let j = i;
    while (j < input.length && !/[\s=!(),<>]/.test(input[j] ?? '')) j++;
    tokens.push({ kind: 'word', text: input.slice(i, j) });
    i = j;
  }
  return tokens;
}

const LABEL_KEY = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

/**
 * Parses a label selector string as the API accepts it in `?labelSelector=`: comma-joined requirements
 * `k=v`, `k==v`, `k!=v`, `k in (a,b)`, `k notin (a)`, `k`, `!k`, `k>1`, `k<1`. Throws a 400 ApiError
 * on a syntax error, with a message in the apiserver's style.
 */
export function parseLabelSelector(selector: string): LabelSelectorRequirements {
  const tokens = tokenize(selector);
  const requirements: LabelRequirement[] = [];
  let pos = 0;
  const fail = (why: string): never => {
    throw badRequest(`unable to parse requirement: ${why}`);
  };
  const peek = (): Token | undefined => tokens[pos];
  const next = (): Token | undefined => tokens[pos++];
  const checkKey = (key: string): string => {
    if (!LABEL_KEY.test(key) || key.length > 317) fail(`invalid label key "${key}"`);
    return key;
  };
  const checkValue = (value: string): string => {
    if (!LABEL_VALUE.test(value) || value.length > 63) fail(`invalid label value: "${value}"`);
    return value;
  };
  while (pos < tokens.length) {
    let token = next();
    if (!token) break;
    if (token.kind === 'op' && token.text === '!') {
      const key = next();
      if (!key || key.kind !== 'word') fail('found end of input, expected: identifier after \'!\'');
      requirements.push({ key: checkKey((key as Token).text), operator: 'doesNotExist', values: [] });
    } else if (token.kind === 'word') {
      const key = checkKey(token.text);
      const op = peek();
      if (!op || (op.kind === 'op' && op.text === ',')) {
        requirements.push({ key, operator: 'exists', values: [] });
      } else if (op.kind === 'op' && ['=', '==', '!='].includes(op.text)) {
        next();
        const value = peek();
        let text = '';
        if (value && value.kind === 'word') {
          next();
          text = value.text;
        }
        requirements.push({ key, operator: op.text === '!=' ? 'notEquals' : 'equals', values: [checkValue(text)] });
      } else if (op.kind === 'op' && (op.text === '>' || op.text === '<')) {
        next();
        const value = next();
        if (!value || value.kind !== 'word' || !/^-?\d+$/.test(value.text)) fail(`for '${op.text}' operator, the value must be an integer`);
        requirements.push({ key, operator: op.text === '>' ? 'greaterThan' : 'lessThan', values: [(value as Token).text] });
      } else if (op.kind === 'word' && (op.text === 'in' || op.text === 'notin')) {
        next();
        const open = next();
        if (!open || open.text !== '(') fail(`found '${open?.text ?? 'end of input'}', expected: '('`);
        const values: string[] = [];
        for (;;) {
          const item = next();
          if (!item) fail("found end of input, expected: ')'");
          const t = item as Token;
          if (t.kind === 'op' && t.text === ')') break;
          if (t.kind === 'op' && t.text === ',') continue;
          if (t.kind !== 'word') fail(`found '${t.text}', expected: ',', ')' or identifier`);
          values.push(checkValue(t.text));
        }
        if (values.length === 0) fail(`for 'in', 'notin' operators, values set can't be empty`);
        requirements.push({ key, operator: op.text === 'in' ? 'in' : 'notIn', values });
      } else {
        fail(`found '${op.text}', expected: in, notin, =, ==, !=, gt, lt`);
      }
    } else {
      fail(`found '${token.text}', expected: !, identifier, or 'end of string'`);
    }
    token = next();
    if (token && !(token.kind === 'op' && token.text === ',')) fail(`found '${token.text}', expected: ',' or 'end of string'`);
  }
  return requirements;
}

/** Whether a set of labels satisfies every requirement. */
export function matchesLabels(requirements: LabelSelectorRequirements, labels: Record<string, string> | undefined): boolean {
  const l = labels ?? {};
  return requirements.every((req) => {
    const has = Object.prototype.hasOwnProperty.call(l, req.key);
    const value = l[req.key];
    switch (req.operator) {
      case 'equals':
        return has && value === req.values[0];
      case 'notEquals':
        return !has || value !== req.values[0];
      case 'in':
        return has && req.values.includes(value ?? '');
      case 'notIn':
        return !has || !req.values.includes(value ?? '');
      case 'exists':
        return has;
      case 'doesNotExist':
        return !has;
      case 'greaterThan':
      case 'lessThan': {
        if (!has || !/^-?\d+$/.test(value ?? '')) return false;
        const n = Number(value);
        const bound = Number(req.values[0]);
        return req.operator === 'greaterThan' ? n > bound : n < bound;
      }
    }
  });
}

/** Requirements equivalent to a structured `spec.selector`. */
export function requirementsFromSpec(selector: LabelSelectorSpec | undefined): LabelSelectorRequirements {
  const out: LabelRequirement[] = [];
  for (const [key, value] of Object.entries(selector?.matchLabels ?? {})) out.push({ key, operator: 'equals', values: [value] });
  for (const expr of selector?.matchExpressions ?? []) {
    const operator = ({ In: 'in', NotIn: 'notIn', Exists: 'exists', DoesNotExist: 'doesNotExist' } as const)[expr.operator];
    out.push({ key: expr.key, operator, values: expr.values ?? [] });
  }
  return out;
}

/** The selector string form (`app=pachd,suite=pachyderm`), as Scale's `status.selector` shows it. */
export function formatRequirements(requirements: LabelSelectorRequirements): string {
  return [...requirements]
    .sort((a, b) => a.key.localeCompare(b.key))
    .map((r) => {
      switch (r.operator) {
        case 'equals':
          return `${r.key}=${r.values[0] ?? ''}`;
        case 'notEquals':
          return `${r.key}!=${r.values[0] ?? ''}`;
        case 'in':
          return `${r.key} in (${r.values.join(',')})`;
        case 'notIn':
          return `${r.key} notin (${r.values.join(',')})`;
        case 'exists':
          return r.key;
        case 'doesNotExist':
          return `!${r.key}`;
        case 'greaterThan':
          return `${r.key}>${r.values[0] ?? ''}`;
        case 'lessThan':
          return `${r.key}<${r.values[0] ?? ''}`;
      }
    })
    .join(',');
}

/** Reads a workload's selector: structured (apps/v1) or a plain map (ReplicationController). */
export function workloadSelector(obj: KubeObject): LabelSelectorRequirements {
  const spec = isJsonObject(obj.spec) ? obj.spec : {};
  const selector = spec.selector;
  if (!isJsonObject(selector)) return [];
  if (obj.kind === 'ReplicationController') {
    return requirementsFromSpec({ matchLabels: selector as Record<string, string> });
  }
  return requirementsFromSpec(selector as LabelSelectorSpec);
}

/** One parsed field requirement (`status.phase=Running`, `metadata.name!=x`). */
export interface FieldRequirement {
  path: string;
  operator: 'equals' | 'notEquals';
  value: string;
}

function splitUnescaped(input: string, separator: string): string[] {
  const parts: string[] = [];
  let current = '';
  for (let i = 0; i < input.length; i++) {
    const ch = input[i] ?? '';
    if (ch === '\\' && i + 1 < input.length) {
      current += ch + (input[i + 1] ?? '');
      i++;
    } else if (ch === separator) {
      parts.push(current);
      current = '';
    } else {
      current += ch;
    }
  }
  parts.push(current);
  return parts;
}

function unescapeFieldValue(value: string): string {
  return value.replace(/\\(.)/g, '$1');
}

/**
 * Parses `?fieldSelector=` for a resource: `metadata.name`, `metadata.namespace` and the resource's own
 * supported fields (pods: `status.phase`, `spec.nodeName`, ...), with `=`, `==`, `!=`. An unsupported field
 * is a 400, as on a real cluster (`field label not supported`).
 */
export function parseFieldSelector(selector: string, resource: ResourceType): FieldRequirement[] {
  const out: FieldRequirement[] = [];
  for (const raw of splitUnescaped(selector, ',')) {
    const part = raw.trim();
    if (!part) continue;
    const match = /^([^=!]+?)\s*(==|!=|=)\s*(.*)$/.exec(part);
    if (!match) throw badRequest(`invalid selector: '${selector}'; can't understand '${part}'`);
    const path = match[1] ?? '';
    const operator = match[2] === '!=' ? 'notEquals' : 'equals';
    const supported = ['metadata.name', 'metadata.namespace', ...resource.fieldSelectors];
    if (!supported.includes(path)) throw badRequest(`field label not supported: ${path}`);
    out.push({ path, operator, value: unescapeFieldValue(match[3] ?? '') });
  }
  return out;
}

/** Whether an object satisfies every field requirement. */
export function matchesFields(requirements: FieldRequirement[], obj: KubeObject): boolean {
  return requirements.every((req) => {
    const raw = req.path === 'metadata.namespace' ? (obj.metadata.namespace ?? '') : readPath(obj, req.path);
    const value = raw === undefined || raw === null ? '' : String(raw);
    return req.operator === 'equals' ? value === req.value : value !== req.value;
  });
}
