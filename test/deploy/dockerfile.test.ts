/**
 * The image cannot be built here (no Docker engine), so its Dockerfile is read as the builder reads it —
 * line continuations, comments, stages, ARG defaults — and checked for what production depends on.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO } from './kustomize.js';

interface Instruction {
  keyword: string;
  args: string;
  line: number;
}

interface Stage {
  image: string;
  name?: string;
  instructions: Instruction[];
}

/** Instructions of a Dockerfile: continuations joined, comment lines dropped (also inside continuations, as BuildKit does). */
function instructionsOf(text: string): Instruction[] {
  const out: Instruction[] = [];
  let pending: { text: string; line: number } | undefined;
  text.split('\n').forEach((raw, index) => {
    const line = raw.trimEnd();
    if (/^\s*#/.test(line) || (pending === undefined && line.trim() === '')) return;
    const continued = line.endsWith('\\');
    const body = continued ? line.slice(0, -1) : line;
    pending = pending ? { text: `${pending.text} ${body.trim()}`, line: pending.line } : { text: body.trim(), line: index + 1 };
    if (continued) return;
    const [keyword = '', ...rest] = pending.text.split(/\s+/);
    out.push({ keyword: keyword.toUpperCase(), args: rest.join(' '), line: pending.line });
    pending = undefined;
  });
  return out;
}

function argDefault(args: string): [string, string | undefined] {
  const [name = '', ...value] = args.split('=');
  return [name.trim(), value.length > 0 ? value.join('=').trim() : undefined];
}

function substitute(text: string, vars: Record<string, string>): string {
  return text.replace(/\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?/g, (whole, name: string) => vars[name] ?? whole);
}

/** Stages with their base images resolved from the global ARG defaults, and each stage's ARGs substituted. */
function stagesOf(text: string): Stage[] {
  const globals: Record<string, string> = {};
  const stages: Stage[] = [];
  for (const ins of instructionsOf(text)) {
    const current = stages[stages.length - 1];
    if (ins.keyword === 'FROM') {
      const match = /^(?:--platform=\S+\s+)?(\S+)(?:\s+AS\s+(\S+))?$/i.exec(substitute(ins.args, globals));
      if (!match) throw new Error(`line ${ins.line}: cannot read FROM ${ins.args}`);
      stages.push({ image: match[1]!, ...(match[2] ? { name: match[2] } : {}), instructions: [] });
    } else if (!current) {
      if (ins.keyword !== 'ARG') throw new Error(`line ${ins.line}: ${ins.keyword} before the first FROM`);
      const [name, value] = argDefault(ins.args);
      if (value !== undefined) globals[name] = value;
    } else {
      current.instructions.push(ins);
    }
  }
  // Within a stage, an ARG without a value takes the global default; substitute what is declared.
  for (const stage of stages) {
    const vars: Record<string, string> = {};
    stage.instructions = stage.instructions.map((ins) => {
      if (ins.keyword === 'ARG') {
        const [name, value] = argDefault(ins.args);
        const resolved = value ?? globals[name];
        if (resolved !== undefined) vars[name] = resolved;
        return ins;
      }
      return { ...ins, args: substitute(ins.args, vars) };
    });
  }
  return stages;
}

const dockerfile = readFileSync(join(REPO, 'Dockerfile'), 'utf8');
const stages = stagesOf(dockerfile);
const final = stages[stages.length - 1]!;
const runs = (stage: Stage) => stage.instructions.filter((i) => i.keyword === 'RUN').map((i) => i.args);
const last = (stage: Stage, keyword: string) => stage.instructions.filter((i) => i.keyword === keyword).at(-1);
const nodeMajor = (image: string) => Number(/^(?:docker\.io\/(?:library\/)?)?node:(\d+)/.exec(image)?.[1] ?? NaN);
const buildStage = stages.find((s) => runs(s).some((r) => /\bnpm ci\b/.test(r)));

describe('Dockerfile', () => {
  it('builds in one stage and runs from another', () => {
    expect(stages.length).toBeGreaterThanOrEqual(2);
    expect(buildStage, 'no stage runs npm ci').toBeDefined();
    expect(buildStage).not.toBe(final);
  });

  it('builds and runs on the same slim Node LTS, 22 or newer', () => {
    for (const stage of [buildStage!, final]) {
      expect(nodeMajor(stage.image), stage.image).toBeGreaterThanOrEqual(22);
      expect(nodeMajor(stage.image) % 2, `${stage.image} is not an LTS line`).toBe(0);
      expect(stage.image).toMatch(/-slim\b/);
    }
    expect(final.image).toBe(buildStage!.image);
  });

  it('installs with npm ci, builds, and keeps only production dependencies', () => {
    const script = runs(buildStage!).join(' && ');
    expect(script).toMatch(/\bnpm ci\b/);
    expect(script).toMatch(/\bnpm run build\b/);
    const pruned = /\bnpm prune\b[^&;]*--omit=dev/.test(script) || /\bnpm ci\b[^&;]*--omit=dev/.test(script);
    expect(pruned, 'dev dependencies are not removed (npm prune --omit=dev)').toBe(true);
    expect(script.indexOf('npm run build')).toBeLessThan(script.search(/--omit=dev/));
  });

  it('installs no packages with npm, yarn or pnpm in the final stage', () => {
    for (const run of runs(final)) expect(run).not.toMatch(/\b(npm|npx|yarn|pnpm)\s+(install|i|ci|add)\b/);
  });

  it('copies only the built app, production node_modules, bin, package.json and manifest.yml into the final stage', () => {
    const allowed = new Set(['dist', 'bin', 'node_modules', 'package.json', 'manifest.yml']);
    const copies = final.instructions.filter((i) => i.keyword === 'COPY' || i.keyword === 'ADD');
    expect(copies.some((c) => c.keyword === 'ADD')).toBe(false);
    const appFiles: string[] = [];
    for (const copy of copies) {
      const words = copy.args.split(/\s+/);
      const from = words.find((w) => w.startsWith('--from='))?.slice('--from='.length);
      const paths = words.filter((w) => !w.startsWith('--'));
      const sources = paths.slice(0, -1).map((p) => p.replace(/^\/app\//, '').replace(/\/$/, ''));
      if (from && from !== buildStage!.name && sources.every((s) => s.endsWith('.asc'))) continue; // an apt signing key
      for (const source of sources) {
        expect(allowed.has(source), `COPY ${copy.args}`).toBe(true);
        appFiles.push(source);
        if (source === 'node_modules') expect(from, 'node_modules must come from the pruned build stage').toBe(buildStage!.name);
        if (source === 'dist') expect(from).toBe(buildStage!.name);
      }
    }
    expect(new Set(appFiles)).toEqual(allowed);
  });

  it('installs pg_dump/pg_restore 17 or newer from the PostgreSQL apt repository, with a pinned key', () => {
    const script = runs(final).join(' ; ');
    expect(script).toMatch(/apt-get install[^;]*\bpostgresql-client-1[7-9]\b/);
    const source = /deb \[signed-by=(\S+)\] https:\/\/apt\.postgresql\.org\/pub\/repos\/apt \S+-pgdg main/.exec(script);
    expect(source, 'no apt.postgresql.org source list with signed-by').not.toBeNull();
    // The key file comes from a stage that accepts it only with the published fingerprint.
    const keyCopy = final.instructions.find((i) => i.keyword === 'COPY' && i.args.includes(source![1]!));
    const keyStage = stages.find((s) => s.name && keyCopy?.args.includes(`--from=${s.name}`));
    expect(keyStage, 'the signing key is not copied from a verifying stage').toBeDefined();
    const fingerprint = keyStage!.instructions.find((i) => i.keyword === 'ARG' && i.args.startsWith('PGDG_KEY_FINGERPRINT='));
    expect(fingerprint?.args).toMatch(/=B97B0AFCAA1A47F044F244A07FCC7D46ACCC4CF8$/);
    expect(runs(keyStage!).join(' ')).toMatch(/gpg .*--show-keys/);
  });

  it('runs as a numeric non-root user under tini, with `serve` as the default command', () => {
    const user = last(final, 'USER')?.args ?? '';
    expect(user).toMatch(/^\d+(:\d+)?$/);
    expect(Number(user.split(':')[0])).toBeGreaterThan(0);
    expect(runs(final).join(' ')).toMatch(/apt-get install[^;]*\btini\b/);
    const entrypoint = JSON.parse(last(final, 'ENTRYPOINT')?.args ?? 'null') as string[] | null;
    expect(entrypoint).toEqual(['tini', '--', 'node', '/app/bin/pachbackup.js']);
    expect(JSON.parse(last(final, 'CMD')?.args ?? 'null')).toEqual(['serve']);
    // No HEALTHCHECK: one-shot CLI runs share the image, and Kubernetes uses its own probes.
    expect(stages.flatMap((s) => s.instructions).some((i) => i.keyword === 'HEALTHCHECK')).toBe(false);
  });

  it('starts the compiled CLI that `npm run build` writes', () => {
    const bin = readFileSync(join(REPO, 'bin/pachbackup.js'), 'utf8');
    expect(bin).toContain("import('../dist/cli/main.js')");
    const build = JSON.parse(readFileSync(join(REPO, 'tsconfig.build.json'), 'utf8')) as { compilerOptions: { rootDir: string; outDir: string } };
    expect(build.compilerOptions).toMatchObject({ rootDir: 'src', outDir: 'dist' });
    expect(existsSync(join(REPO, 'src/cli/main.ts'))).toBe(true);
  });
});

describe('.dockerignore', () => {
  const ignored = readFileSync(join(REPO, '.dockerignore'), 'utf8')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));

  it('keeps local builds, dependencies, sandbox state and Git out of the build context', () => {
    for (const entry of ['node_modules', 'dist', '.sandbox', '.git', 'coverage']) expect(ignored).toContain(entry);
  });

  it('keeps in the context everything the Dockerfile copies from it', () => {
    for (const stage of stages) {
      for (const copy of stage.instructions.filter((i) => i.keyword === 'COPY' && !i.args.includes('--from='))) {
        const paths = copy.args.split(/\s+/).filter((w) => !w.startsWith('--'));
        for (const source of paths.slice(0, -1)) {
          expect(existsSync(join(REPO, source)), `COPY ${source}: not in the repository`).toBe(true);
          expect(ignored.includes(source.split('/')[0]!), `COPY ${source}: excluded by .dockerignore`).toBe(false);
        }
      }
    }
  });
});
