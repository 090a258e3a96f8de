/**
 * Summarizes a V8 `.cpuprofile` (what `node --cpu-prof` writes): self time per function and per
 * file, heaviest first, with the share of the profile's samples (idle excluded).
 *
 *   npx tsx bench/lib/cpuprofile-top.ts FILE [--top 40] [--from-s A] [--to-s B] [--timeline]
 *
 * `--from-s` / `--to-s` keep only the samples between A and B seconds after the profile started
 * (to look at one phase of a run, e.g. the paced phase of `bench/fanout-probe.ts`, not the
 * connecting before it); `--timeline` prints the busy ms of each second first, to find the phase.
 */
import { readFileSync } from 'node:fs';

interface ProfileNode {
  readonly id: number;
  readonly callFrame: {
    readonly functionName: string;
    readonly url: string;
    readonly lineNumber: number;
  };
  readonly children?: readonly number[];
}

interface CpuProfile {
  readonly nodes: readonly ProfileNode[];
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
}

function shortUrl(url: string): string {
  if (url === '') return '(native)';
  const modules = url.lastIndexOf('node_modules/');
  if (modules !== -1) return url.slice(modules + 'node_modules/'.length);
  const src = url.search(/\/(src|dist|bench)\//);
  return src === -1 ? url : url.slice(src + 1);
}

function main(): void {
  const [file, ...rest] = process.argv.slice(2);
  if (file === undefined) throw new Error('usage: cpuprofile-top FILE [--top N]');
  const topIndex = rest.indexOf('--top');
  const top = topIndex === -1 ? 40 : Number(rest[topIndex + 1]);
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const option = (name: string): number | undefined => {
    const index = rest.indexOf(name);
    return index === -1 ? undefined : Number(rest[index + 1]);
  };
  const fromUs = (option('--from-s') ?? 0) * 1e6;
  const toUs = (option('--to-s') ?? Number.POSITIVE_INFINITY) * 1e6;
  const idleId = profile.nodes.find((node) => node.callFrame.functionName === '(idle)')?.id;
  const selfUs = new Map<number, number>();
  const busyPerSecondUs: number[] = [];
  let atUs = 0;
  for (let i = 0; i < profile.samples.length; i++) {
    const id = profile.samples[i]!;
    const delta = profile.timeDeltas[i] ?? 0;
    atUs += delta;
    if (id !== idleId) {
      const second = Math.floor(atUs / 1e6);
      busyPerSecondUs[second] = (busyPerSecondUs[second] ?? 0) + delta;
    }
    if (atUs < fromUs || atUs >= toUs) continue;
    selfUs.set(id, (selfUs.get(id) ?? 0) + delta);
  }
  if (rest.includes('--timeline')) {
    process.stdout.write('busy ms per second since the profile started\n');
    for (let second = 0; second < busyPerSecondUs.length; second++) {
      process.stdout.write(
        `${String(second).padStart(4)} s ${((busyPerSecondUs[second] ?? 0) / 1000).toFixed(0).padStart(5)}\n`,
      );
    }
  }
  const byFunction = new Map<string, number>();
  const byFile = new Map<string, number>();
  let idle = 0;
  let total = 0;
  for (const [id, us] of selfUs) {
    const frame = byId.get(id)!.callFrame;
    if (frame.functionName === '(idle)') {
      idle += us;
      continue;
    }
    total += us;
    const where = shortUrl(frame.url);
    const name = `${frame.functionName || '(anonymous)'}  ${where}:${frame.lineNumber + 1}`;
    byFunction.set(name, (byFunction.get(name) ?? 0) + us);
    byFile.set(where, (byFile.get(where) ?? 0) + us);
  }
  const print = (title: string, entries: Map<string, number>): void => {
    process.stdout.write(`\n${title}\n`);
    const sorted = [...entries].sort((a, b) => b[1] - a[1]).slice(0, top);
    for (const [name, us] of sorted) {
      process.stdout.write(
        `${(us / 1000).toFixed(1).padStart(9)} ms ${((100 * us) / total).toFixed(1).padStart(5)}%  ${name}\n`,
      );
    }
  };
  process.stdout.write(
    `${file}: busy ${(total / 1000).toFixed(0)} ms, idle ${(idle / 1000).toFixed(0)} ms\n`,
  );
  print('self time by function', byFunction);
  print('self time by file', byFile);
}

main();
