/**
 * Docs that run as written: every fenced code block of README.md and docs/*.md is run against a
 * real `tributary serve`, or is marked as not runnable (test/fixtures/doc-blocks.ts has the rule:
 * `fragment` in the info string, or a data language such as `text` or `json`). A block that is
 * neither fails with its file and line.
 *
 * Each Markdown file gets its own server (fresh data, its HTTP, Kafka and MQTT listeners on free
 * ports) and its own empty working directory; its blocks run in document order, so a block may use
 * what an earlier block of the same file created. Before a block runs, and only then, it is changed
 * in these ways (SUBSTITUTIONS below):
 *
 * - the documented default addresses `127.0.0.1:7700` / `localhost:7700` (HTTP, WebSocket, SSE),
 *   `:9092` (Kafka) and `:1883` / `-p 1883` (MQTT) become the test server's;
 * - in ts/js blocks, the package's import specifiers (`tributary-sync`, `tributary-sync/client/node`,
 *   …) become the source files the package's `exports` are built from, so no build is needed;
 * - in sh blocks, `tributary` is the command line (the build when it is current, else the sources:
 *   test/fixtures/cli-entry.ts), with `TRIBUTARY_URL` pointing at the test server (and
 *   `TRIBUTARY_PORT`, `TRIBUTARY_KAFKA_PORT`, `TRIBUTARY_MQTT_PORT` set to 0, so a `tributary
 *   serve` in a block takes free ports); `$PASSWORD` is set; `curl` fails on an HTTP
 *   error (`--fail-with-body`); commands that stream until stopped — `curl -N`, `tributary consume`,
 *   `tributary serve`, `mosquitto_sub`, `kcat -C` without `-e` — are stopped after
 *   STREAM_SECONDS, which counts as success; background jobs end with the block.
 *
 * ts/js blocks run as ES modules (`.mts`, through tsx) and must end by themselves (close clients,
 * leave loops); sh blocks run with `bash -e -o pipefail`. All ts/js blocks are also type-checked
 * together under the project's strict tsconfig (js blocks with `checkJs`), so a snippet that uses
 * a name or an option the API does not have fails even where it would only be `undefined` at run
 * time.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import ts from 'typescript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliEntry } from './fixtures/cli-entry.js';
import { blockKind, type DocBlock, docBlocks, unmarkedMessage } from './fixtures/doc-blocks.js';
import { freePort, killServer, type ServerProcess, startServerProcess } from './fixtures/server-process.js';

const ROOT = resolve(import.meta.dirname, '..');
const SNIPPET_DIR = join(ROOT, '.tmp/docs-snippets');
const TSX_LOADER = pathToFileURL(join(ROOT, 'node_modules/tsx/dist/loader.mjs')).href;
const STREAM_SECONDS = 4;
const BLOCK_TIMEOUT_MS = 45_000;

const DOC_FILES = [
  'README.md',
  ...readdirSync(join(ROOT, 'docs'))
    .filter((name) => name.endsWith('.md'))
    .sort()
    .map((name) => `docs/${name}`),
];

interface Ports {
  readonly http: number;
  readonly kafka: number;
  readonly mqtt: number;
}

/** `tributary-sync…` import specifiers → the source entry each `exports` target is built from. */
function sourceEntries(): Map<string, string> {
  const manifest = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
    name: string;
    exports: Record<string, string | { default?: string }>;
  };
  const entries = new Map<string, string>();
  for (const [subpath, target] of Object.entries(manifest.exports)) {
    const built = typeof target === 'string' ? target : target.default;
    if (built === undefined || !built.startsWith('./dist/') || !built.endsWith('.js')) continue;
    const stem = join(ROOT, 'src', built.slice('./dist/'.length, -'.js'.length));
    const source = [`${stem}.ts`, `${stem}.tsx`].find((candidate) => {
      try {
        readFileSync(candidate);
        return true;
      } catch {
        return false;
      }
    });
    if (source) entries.set(`${manifest.name}${subpath.slice(1)}`, pathToFileURL(source).href);
  }
  return entries;
}

const ENTRIES = sourceEntries();

/** The only changes made to a block before it runs (see the header). */
function substitute(block: DocBlock, ports: Ports): string {
  let text = block.body
    .replace(/\b(?:localhost|127\.0\.0\.1):7700\b/g, `127.0.0.1:${ports.http}`)
    .replace(/\b(?:localhost|127\.0\.0\.1):9092\b/g, `127.0.0.1:${ports.kafka}`)
    .replace(/\b(?:localhost|127\.0\.0\.1):1883\b/g, `127.0.0.1:${ports.mqtt}`);
  if (block.kind === 'sh') text = text.replace(/(\s-p\s+)1883\b/g, `$1${ports.mqtt}`);
  if (block.kind === 'ts') {
    text = text.replace(
      /(['"])(tributary-sync(?:\/[\w./-]+)?)\1/g,
      (whole, quote: string, specifier: string) => {
        const source = ENTRIES.get(specifier);
        return source === undefined ? whole : `${quote}${source}${quote}`;
      },
    );
  }
  return text;
}

/**
 * Commands a block must not run: they would act on this machine beyond the test's server and
 * directory (signal other processes, install packages, run the project's own long scripts).
 */
const REFUSED_COMMANDS = [
  'kill',
  'pkill',
  'killall',
  'pidof',
  'sudo',
  'apt',
  'apt-get',
  'systemctl',
  'npm',
  'npx',
  'git',
  'shutdown',
  'reboot',
];

/** Bash functions every sh block runs under (see the header). */
function shellPrelude(): string {
  const cli = `node ${cliEntry(TSX_LOADER).join(' ')}`;
  const refused = REFUSED_COMMANDS.map(
    (command) =>
      `${command}() { echo "doc-test: '${command}' is never run here (it would reach beyond the test); mark the block \\\`sh fragment\\\`" >&2; return 97; }`,
  ).join('\n');
  return `set -eo pipefail
${refused}
__stream() { local s=0; timeout ${STREAM_SECONDS} "$@" || s=$?; if [ "$s" -eq 124 ]; then return 0; fi; return "$s"; }
tributary() {
  case "$1" in
    consume|serve) __stream ${cli} "$@" ;;
    *) ${cli} "$@" ;;
  esac
}
curl() {
  local s=0
  case " $* " in
    *" -N "*) command curl --silent --show-error --fail-with-body --max-time ${STREAM_SECONDS} "$@" || s=$?
              if [ "$s" -eq 28 ]; then s=0; fi ;;
    *) command curl --silent --show-error --fail-with-body "$@" || s=$? ;;
  esac
  echo
  return "$s"
}
mosquitto_sub() { __stream mosquitto_sub "$@"; }
kcat() {
  case " $* " in
    *" -C "*) case " $* " in *" -e "*) command kcat "$@" ;; *) __stream kcat "$@" ;; esac ;;
    *) command kcat "$@" ;;
  esac
}
`;
}

interface Outcome {
  readonly code: number | string;
  readonly output: string;
}

/** Runs a command in its own process group; the whole group is killed when it ends or times out. */
function runGroup(
  command: string,
  args: readonly string[],
  cwd: string,
  env: NodeJS.ProcessEnv,
  timeoutMs = BLOCK_TIMEOUT_MS - 5_000,
): Promise<Outcome> {
  return new Promise((done) => {
    const child = spawn(command, args, { cwd, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    const collect = (chunk: Buffer): void => {
      if (output.length < 200_000) output += chunk.toString();
    };
    child.stdout.on('data', collect);
    child.stderr.on('data', collect);
    const killGroup = (): void => {
      try {
        if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
      } catch {
        // the group is gone already
      }
    };
    const timer = setTimeout(() => {
      output += `\n[doc-test: stopped after ${timeoutMs / 1000} s; a snippet must end by itself]`;
      killGroup();
    }, timeoutMs);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      killGroup();
      done({ code: code ?? signal ?? 'unknown', output });
    });
  });
}

function blockEnv(ports: Ports): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (!name.startsWith('TRIBUTARY_') && !name.startsWith('npm_')) env[name] = value;
  }
  return {
    ...env,
    TRIBUTARY_URL: `http://127.0.0.1:${ports.http}`,
    TRIBUTARY_PORT: '0',
    TRIBUTARY_KAFKA_PORT: '0',
    TRIBUTARY_MQTT_PORT: '0',
    TRIBUTARY_LOG_LEVEL: 'warn',
    PASSWORD: 'correct horse battery staple',
  };
}

/** SIGTERM (a graceful stop), then SIGKILL if the server is still there after 15 s: never left running. */
async function stopServer(server: ServerProcess): Promise<void> {
  const killer = setTimeout(() => server.child.kill('SIGKILL'), 15_000);
  await killServer(server, 'SIGTERM');
  clearTimeout(killer);
}

function snippetName(block: DocBlock): string {
  return `${block.file.replace(/[^\w]+/g, '-')}-${block.line}`;
}

async function runBlock(block: DocBlock, ports: Ports, cwd: string): Promise<void> {
  const text = substitute(block, ports);
  let outcome: Outcome;
  if (block.kind === 'ts') {
    const path = join(SNIPPET_DIR, `${snippetName(block)}.mts`);
    writeFileSync(path, text);
    outcome = await runGroup(process.execPath, ['--import', TSX_LOADER, path], cwd, blockEnv(ports));
  } else {
    outcome = await runGroup('bash', ['-c', `${shellPrelude()}\n${text}`], cwd, blockEnv(ports));
  }
  if (outcome.code !== 0) {
    throw new Error(
      `${block.file}:${block.line}: the \`${block.info}\` block failed (exit ${outcome.code}).\n` +
        `--- as run (after the substitutions listed in test/docs-snippets.test.ts) ---\n${text}\n` +
        `--- output ---\n${outcome.output}\n` +
        'If it is not meant to run as written, mark it: ```ts fragment / ```sh fragment.',
    );
  }
}

describe('doc block rules', () => {
  it('reads fences, indentation and info strings as CommonMark does', () => {
    const markdown = [
      '```ts fragment',
      'a()',
      '```',
      '- item',
      '  ~~~sh',
      '  echo hi',
      '  ```',
      '  ~~~',
      '```',
      'x',
      '````',
    ].join('\n');
    const blocks = docBlocks('x.md', markdown);
    expect(blocks.map(({ line, kind, body }) => ({ line, kind, body }))).toEqual([
      { line: 1, kind: 'fragment', body: 'a()' },
      { line: 5, kind: 'sh', body: 'echo hi\n```' },
      { line: 9, kind: 'unmarked', body: 'x' },
    ]);
    expect(['json', 'text', 'http', 'properties'].map(blockKind)).toEqual(['data', 'data', 'data', 'data']);
    expect(['python', '', 'js', 'bash', 'python fragment'].map(blockKind)).toEqual([
      'unmarked',
      'unmarked',
      'ts',
      'sh',
      'fragment',
    ]);
    expect(unmarkedMessage(blocks[2] as DocBlock)).toContain('x.md:9');
  });

  it('refuses commands that would reach beyond the test', async () => {
    const outcome = await runGroup(
      'bash',
      ['-c', `${shellPrelude()}\nkill -0 "$$" && echo ran`],
      tmpdir(),
      process.env,
    );
    expect(outcome.code).toBe(97);
    expect(outcome.output).toContain("'kill' is never run here");
    expect(outcome.output).not.toContain('ran');
  });
});

for (const file of DOC_FILES) {
  const blocks = docBlocks(file, readFileSync(join(ROOT, file), 'utf8'));
  const runnable = blocks.some((block) => block.kind === 'ts' || block.kind === 'sh');
  // A file of output and data blocks only has nothing to report.
  if (blocks.every((block) => block.kind === 'data')) continue;

  describe(file, () => {
    let server: ServerProcess | undefined;
    let ports: Ports | undefined;
    let cwd = '';

    beforeAll(async () => {
      if (!runnable) return;
      mkdirSync(SNIPPET_DIR, { recursive: true });
      cwd = await mkdtemp(join(tmpdir(), 'tributary-docs-'));
      // Three different ports (a port just freed may be handed out again).
      const free = new Set<number>();
      while (free.size < 3) free.add(await freePort());
      const [http = 0, kafka = 0, mqtt = 0] = [...free];
      ports = { http, kafka, mqtt };
      server = await startServerProcess(join(cwd, 'server-data'), http, {
        args: ['--kafka-port', String(kafka), '--mqtt-port', String(mqtt)],
        readyTimeoutMs: 60_000,
      });
    }, 90_000);

    afterAll(async () => {
      if (server) await stopServer(server);
      if (cwd) rmSync(cwd, { recursive: true, force: true });
      for (const block of blocks) rmSync(join(SNIPPET_DIR, `${snippetName(block)}.mts`), { force: true });
    }, 60_000);

    for (const block of blocks) {
      const name = `${file}:${block.line} ${block.info || '(no language)'}`;
      if (block.kind === 'data') continue;
      if (block.kind === 'fragment') {
        it.skip(name, () => {});
      } else if (block.kind === 'unmarked') {
        it(name, () => {
          throw new Error(unmarkedMessage(block));
        });
      } else {
        it(name, { timeout: BLOCK_TIMEOUT_MS }, async () => {
          if (!ports) throw new Error('no test server');
          await runBlock(block, ports, cwd);
        });
      }
    }
  });
}

/**
 * What `tsc -p <config>` reports for the config's own files (the blocks), in tsc's format. Only the
 * blocks are checked: the sources they import are type-checked as a whole by `npm run typecheck`,
 * and checking a block resolves the types it uses from them without checking every source again.
 */
function snippetDiagnostics(configPath: string): { count: number; text: string } {
  const config = ts.getParsedCommandLineOfConfigFile(
    configPath,
    {},
    {
      ...ts.sys,
      onUnRecoverableConfigFileDiagnostic: (diagnostic) => {
        throw new Error(ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n'));
      },
    },
  );
  if (config === undefined) throw new Error(`no tsconfig at ${configPath}`);
  const program = ts.createProgram({ rootNames: config.fileNames, options: config.options });
  const diagnostics = [
    ...config.errors,
    ...program.getOptionsDiagnostics(),
    ...program.getGlobalDiagnostics(),
    ...config.fileNames.flatMap((fileName) => {
      const file = program.getSourceFile(fileName);
      if (file === undefined) throw new Error(`${fileName} is not in the program`);
      return [...program.getSyntacticDiagnostics(file), ...program.getSemanticDiagnostics(file)];
    }),
  ];
  const text = ts.formatDiagnostics(diagnostics, {
    getCanonicalFileName: (fileName) => fileName,
    getCurrentDirectory: () => ROOT,
    getNewLine: () => '\n',
  });
  return { count: diagnostics.length, text };
}

describe('ts and js blocks', () => {
  const TYPECHECK_DIR = join(ROOT, '.tmp/docs-typecheck');

  afterAll(() => rmSync(TYPECHECK_DIR, { recursive: true, force: true }));

  it('type-check under the project tsconfig (strict; js blocks with checkJs), with the package names mapped to the sources', {
    timeout: 180_000,
  }, async () => {
    const blocks = DOC_FILES.flatMap((file) =>
      docBlocks(file, readFileSync(join(ROOT, file), 'utf8')),
    ).filter((block) => block.kind === 'ts');
    expect(blocks.length).toBeGreaterThan(0);
    rmSync(TYPECHECK_DIR, { recursive: true, force: true });
    mkdirSync(TYPECHECK_DIR, { recursive: true });
    // `export {}` makes a block without imports a module too (top-level await needs one).
    for (const block of blocks) {
      const extension = /^(ts|typescript)\b/.test(block.info) ? 'mts' : 'mjs';
      writeFileSync(join(TYPECHECK_DIR, `${snippetName(block)}.${extension}`), `${block.body}\nexport {};\n`);
    }
    const paths = Object.fromEntries(
      [...ENTRIES].map(([specifier, url]) => [specifier, [fileURLToPath(url)]]),
    );
    const tsconfig = {
      extends: '../../tsconfig.json',
      compilerOptions: { noEmit: true, rootDir: '../..', allowJs: true, checkJs: true, paths },
      include: ['*.mts', '*.mjs'],
    };
    writeFileSync(join(TYPECHECK_DIR, 'tsconfig.json'), JSON.stringify(tsconfig, null, 2));
    const { count, text } = snippetDiagnostics(join(TYPECHECK_DIR, 'tsconfig.json'));
    const located = text.replace(
      /(?:[^\s(]*\/)?([\w-]+)\.m[jt]s\((\d+),(\d+)\)/g,
      (whole, name: string, line: string) => {
        const block = blocks.find((candidate) => snippetName(candidate) === name);
        return block ? `${block.file}:${block.line + Number(line)} (${whole})` : whole;
      },
    );
    expect(count, located).toBe(0);
  });
});
