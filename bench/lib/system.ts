/**
 * @module bench/lib/system
 * What the benchmarks report about the machine and the processes: hardware summary, peak RSS,
 * CPU time, and the resident memory of other processes (servers under test) from /proc.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { arch, cpus, platform, release, totalmem } from 'node:os';

export interface MachineInfo {
  readonly node: string;
  readonly platform: string;
  readonly release: string;
  readonly arch: string;
  readonly cpuModel: string;
  readonly cpuCount: number;
  readonly totalMemoryBytes: number;
}

export function machineInfo(): MachineInfo {
  const cpuList = cpus();
  return {
    node: process.version,
    platform: platform(),
    release: release(),
    arch: arch(),
    cpuModel: cpuList[0]?.model.trim() ?? 'unknown',
    cpuCount: cpuList.length,
    totalMemoryBytes: totalmem(),
  };
}

/** Peak resident set size of this process so far, in bytes (`maxRSS` is in KiB). */
export function peakRssBytes(): number {
  return process.resourceUsage().maxRSS * 1024;
}

/** Starts a CPU-time stopwatch; the returned function gives user + system CPU ms since the start. */
export function cpuStopwatch(): () => number {
  const start = process.cpuUsage();
  return () => {
    const used = process.cpuUsage(start);
    return (used.user + used.system) / 1000;
  };
}

/** User + system CPU of a process so far, from /proc/<pid>/stat (Linux; NaN elsewhere). */
export function processCpuMs(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(fields[11]) + Number(fields[12]);
    return (ticks * 1000) / 100;
  } catch {
    return Number.NaN;
  }
}

/**
 * Minor page faults of a process so far, from /proc/<pid>/stat (Linux; NaN elsewhere): memory
 * the kernel had to map in, e.g. fresh buffers after the allocator gave pages back.
 */
export function processMinorFaults(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[7]);
  } catch {
    return Number.NaN;
  }
}

/** Write system calls (write, writev, …) of a process so far, from /proc/<pid>/io (Linux; NaN elsewhere). */
export function processWriteCalls(pid: number): number {
  try {
    return Number(/syscw:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/io`, 'utf8'))?.[1] ?? Number.NaN);
  } catch {
    return Number.NaN;
  }
}

/** Resident memory of another process, from `/proc/<pid>/status` (Linux only). */
export interface ProcessMemory {
  /** VmRSS: resident now. */
  readonly rssBytes: number;
  /** VmHWM: peak resident since start or since the last {@link resetPeakRss}. */
  readonly peakRssBytes: number;
  /**
   * RssFile: the part of VmRSS that is mapped files (e.g. LMDB's map): page cache, which the
   * kernel takes back under memory pressure; the rest is the process's own memory.
   */
  readonly rssFileBytes: number;
}

/** Reads VmRSS and VmHWM of `pid`; undefined when the process is gone or /proc is unavailable. */
export function processMemory(pid: number): ProcessMemory | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch {
    return undefined;
  }
  const field = (name: string): number => {
    const match = new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(text);
    return match === null ? Number.NaN : Number(match[1]) * 1024;
  };
  return { rssBytes: field('VmRSS'), peakRssBytes: field('VmHWM'), rssFileBytes: field('RssFile') };
}

/**
 * Resets VmHWM of `pid` to its current RSS (writes `5` to `/proc/<pid>/clear_refs`, Linux ≥ 4.0,
 * own processes only). Returns false when the kernel refused; callers then rely on sampling.
 */
export function resetPeakRss(pid: number): boolean {
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, '5');
    return true;
  } catch {
    return false;
  }
}

/**
 * Samples VmRSS of some processes every `intervalMs` while a workload runs; `stop()` returns the
 * peak per pid: the larger of the highest sample and VmHWM (when it could be reset at the start).
 */
export class RssSampler {
  readonly #pids: readonly number[];
  readonly #peaks = new Map<number, number>();
  readonly #hwmReset = new Map<number, boolean>();
  readonly #timer: NodeJS.Timeout;

  constructor(pids: readonly number[], intervalMs = 100) {
    this.#pids = pids;
    for (const pid of pids) this.#hwmReset.set(pid, resetPeakRss(pid));
    this.#sample();
    this.#timer = setInterval(() => this.#sample(), intervalMs);
    this.#timer.unref();
  }

  stop(): Map<number, number> {
    clearInterval(this.#timer);
    this.#sample();
    for (const pid of this.#pids) {
      const memory = processMemory(pid);
      if (memory !== undefined && this.#hwmReset.get(pid) === true) {
        this.#peaks.set(pid, Math.max(this.#peaks.get(pid) ?? 0, memory.peakRssBytes));
      }
    }
    return new Map(this.#peaks);
  }

  #sample(): void {
    for (const pid of this.#pids) {
      const memory = processMemory(pid);
      if (memory !== undefined && Number.isFinite(memory.rssBytes)) {
        this.#peaks.set(pid, Math.max(this.#peaks.get(pid) ?? 0, memory.rssBytes));
      }
    }
  }
}
