import type { z } from 'zod';

type Issue = z.core.$ZodIssue;
type Path = readonly PropertyKey[];

/** Keys whose values are never repeated back in a message. */
const SECRET_KEY = /password|secret|token|key$/i;

/**
 * One line per validation problem, for a person fixing the file: the dotted key, what was found (unless the
 * key holds a secret), and what is expected.
 */
export function formatIssue(issue: Issue, schema: z.ZodType): string {
  const key = formatPath(issue.path);
  const input = (issue as { input?: unknown }).input;
  const found = issue.path.some((p) => typeof p === 'string' && SECRET_KEY.test(p)) ? 'a value' : show(input);

  switch (issue.code) {
    case 'invalid_type':
      if (input === undefined) return `${key}: missing; expected ${article(issue.expected)}`;
      return `${key}: got ${found}; expected ${article(issue.expected)}`;
    case 'invalid_value':
      return `${key}: got ${found}; expected one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}`;
    case 'unrecognized_keys': {
      const allowed = allowedKeys(schema, issue.path);
      const where = key === '(top level)' ? 'at the top level' : `in ${key}`;
      const list = issue.keys.map((k) => `"${k}"`).join(', ');
      return `unknown key${issue.keys.length > 1 ? 's' : ''} ${list} ${where}; expected ${allowed.length ? `one of ${allowed.join(', ')}` : 'no other keys'}`;
    }
    case 'invalid_union':
      return `${key}: got ${found}; expected ${unionExpectation(issue)}`;
    case 'too_small':
    case 'too_big':
    case 'invalid_format':
    case 'custom':
    default:
      return `${key}: ${input === undefined ? 'missing' : `got ${found}`}; ${expectation(issue.message)}`;
  }
}

function expectation(message: string): string {
  const text = message.replace(/^Invalid input: /i, '');
  return /^expected /i.test(text) ? text : `expected ${text}`;
}

function formatPath(path: Path): string {
  if (path.length === 0) return '(top level)';
  return path.map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 ? String(p) : `.${String(p)}`)).join('');
}

function show(value: unknown): string {
  if (value === undefined) return 'nothing';
  const text = JSON.stringify(value);
  if (text === undefined) return String(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

function article(type: string): string {
  const names: Record<string, string> = { object: 'a mapping', array: 'a list', string: 'a string', number: 'a number', int: 'an integer', boolean: 'true or false' };
  return names[type] ?? type;
}

function unionExpectation(issue: Extract<Issue, { code: 'invalid_union' }>): string {
  // The most specific branch's messages say more than "invalid input".
  const messages = issue.errors.flat().map((e) => e.message).filter((m) => !/^Invalid input/.test(m));
  return messages[0] ?? 'a value of another shape';
}

/** The keys a strict object at `path` accepts, found by walking the schema. */
function allowedKeys(schema: z.ZodType, path: Path): string[] {
  let node: unknown = schema;
  for (const segment of path) {
    node = unwrap(node);
    const def = (node as { _zod?: { def?: Record<string, unknown> } })._zod?.def;
    if (!def) return [];
    if (def.type === 'object') node = (def.shape as Record<string, unknown>)[String(segment)];
    else if (def.type === 'record') node = def.valueType;
    else if (def.type === 'array') node = def.element;
    else return [];
  }
  const def = (unwrap(node) as { _zod?: { def?: { type?: string; shape?: Record<string, unknown> } } })._zod?.def;
  return def?.type === 'object' && def.shape ? Object.keys(def.shape) : [];
}

function unwrap(node: unknown): unknown {
  for (;;) {
    const def = (node as { _zod?: { def?: { type?: string; innerType?: unknown; in?: unknown } } })?._zod?.def;
    if (!def) return node;
    if (def.type === 'default' || def.type === 'optional' || def.type === 'nullable' || def.type === 'prefault') node = def.innerType;
    else if (def.type === 'pipe') node = def.in;
    else return node;
  }
}
