/**
 * @module log/file/testing/sim-fs
 * An in-memory file system for the file engine's fault simulation. It implements the engine's
 * `LogFileSystem` (log/file/fs.ts), so the simulation runs the engine's real code, and it models
 * what the durability contract of fs.ts allows a real machine to do:
 *
 * - **Page cache vs disk.** Every file has the bytes readers see (the cache) and the bytes that
 *   would survive a machine crash (durable). Writes and truncations since the last successful
 *   `datasync()` are pending; `datasync()` makes them durable.
 * - **Failed fsync ("fsyncgate").** A failed `datasync()` may have written any of the pending
 *   writes, whole or torn; the rest are lost for good: they stay in the cache but a later
 *   successful `datasync()` does not write them (Linux marks the pages clean). Only writing the
 *   bytes again makes them durable.
 * - **Directories.** Creating, renaming or removing a name is pending in its directory until
 *   `syncDir()` of that directory; a crash keeps a random prefix of each directory's pending
 *   changes (a journalled file system commits them in order).
 * - **Crashes.** `crash('machine')` keeps, of each file's pending writes, a random subset, each
 *   whole or torn at any byte (unordered write-back, torn sectors); `crash('process')` keeps the
 *   page cache whole, as a killed process does. Either way the engine that was running is dead:
 *   every later call through its mount fails.
 * - **Faults on demand or from the seed.** Writes fail or write short, fsyncs fail, the disk
 *   fills (`capacityBytes`: a write that does not fit writes what fits, then ENOSPC), and
 *   `flipByte` damages bytes at rest.
 *
 * Every call completes in a microtask, so a run is a deterministic function of its seed.
 *
 * @example
 * const sim = new SimFileSystem(new Prng(seed), { writeFailRate: 0.01 });
 * const log = await openFileLog({ dir: '/data', fs: sim.mount(), maintenanceIntervalMs: 0 });
 * // … append …
 * sim.crash('machine');
 * const reopened = await openFileLog({ dir: '/data', fs: sim.mount(), maintenanceIntervalMs: 0 });
 */
import { dirname } from 'node:path';
import type { LogFile, LogFileSystem, OpenMode } from '../fs.js';
import type { Prng } from './prng.js';

/** Probabilities of each injected fault, per call. All default to 0 (no faults). */
export interface SimFaults {
  /** A file write (or whole-file write) fails with EIO or ENOSPC, possibly after writing a prefix. */
  readonly writeFailRate?: number;
  /** A write writes only a prefix of what it was given and returns the short count. */
  readonly shortWriteRate?: number;
  /** A `datasync()` fails with EIO (pending writes partly written, the rest lost: see above). */
  readonly fsyncFailRate?: number;
  /** A rename, directory sync or truncation fails with EIO. */
  readonly metadataFailRate?: number;
}

type Pending = { readonly position: number; readonly bytes: Uint8Array } | { readonly truncate: number };

class Inode {
  cache: Uint8Array = new Uint8Array(0);
  durable: Uint8Array = new Uint8Array(0);
  pending: Pending[] = [];
}

type Node = { readonly kind: 'file'; readonly inode: Inode } | { readonly kind: 'dir' };

type Namespace = Map<string, Node>;

/** A change to a directory, replayed on the durable namespace when the directory is synced. */
type DirChange = (names: Namespace) => void;

export class SimFileSystem {
  /** Total bytes files may hold; a write past it writes what fits, then fails with ENOSPC. */
  capacityBytes = Number.POSITIVE_INFINITY;
  /** While false, no fault is injected (explicit ones like `capacityBytes` still apply). */
  faultsEnabled = true;
  /** Faults injected so far, by kind, for the simulation's report. */
  readonly injected = { writeFail: 0, shortWrite: 0, fsyncFail: 0, metadataFail: 0, enospc: 0 };
  /**
   * One-shot faults for hand-written tests: the next write / fdatasync of a file whose path ends
   * with `pathSuffix` (default: any file) fails with this code.
   */
  failNext: { write?: string; fsync?: string; pathSuffix?: string } = {};
  private names: Namespace = new Map([['/', { kind: 'dir' }]]);
  private durableNames: Namespace = new Map([['/', { kind: 'dir' }]]);
  private dirChanges = new Map<string, DirChange[]>();
  private generation = 0;

  constructor(
    private readonly random: Prng,
    private readonly faults: SimFaults = {},
  ) {}

  /** A `LogFileSystem` for one engine instance; it stops working at the next crash. */
  mount(): LogFileSystem {
    return new SimMount(this, this.generation);
  }

  /** Simulates a crash: what was not durable is lost (machine) or kept (process). */
  crash(kind: 'machine' | 'process'): void {
    this.generation++;
    const inodes = new Set<Inode>();
    for (const node of [...this.names.values(), ...this.durableNames.values()]) {
      if (node.kind === 'file') inodes.add(node.inode);
    }
    if (kind === 'process') {
      for (const inode of inodes) inode.durable = inode.cache.slice();
      this.durableNames = new Map(this.names);
    } else {
      for (const inode of inodes) {
        for (const change of inode.pending) {
          if (this.random.chance(0.5))
            inode.durable = applyPending(inode.durable, change, this.tearAt(change));
        }
      }
      for (const changes of this.dirChanges.values()) {
        const kept = this.random.int(0, changes.length);
        for (const change of changes.slice(0, kept)) change(this.durableNames);
      }
      dropOrphans(this.durableNames);
    }
    this.dirChanges.clear();
    for (const inode of inodes) {
      inode.pending = [];
      inode.cache = inode.durable.slice();
    }
    this.names = new Map(this.durableNames);
  }

  /** Flips bits of one byte of a file, in the cache and on disk (damage at rest); returns an undo. */
  flipByte(path: string, position: number, mask = 0xff): () => void {
    const inode = this.fileAt(path);
    if (position >= inode.cache.byteLength || position >= inode.durable.byteLength) {
      throw new Error(`flipByte: ${path} has no byte ${position}`);
    }
    inode.cache[position]! ^= mask;
    inode.durable[position]! ^= mask;
    return () => {
      inode.cache[position]! ^= mask;
      inode.durable[position]! ^= mask;
    };
  }

  /** Paths of the files that exist now, sorted. */
  files(): string[] {
    return [...this.names]
      .filter(([, node]) => node.kind === 'file')
      .map(([path]) => path)
      .sort();
  }

  /** Current contents of a file (what a reader sees). */
  contents(path: string): Uint8Array {
    return this.fileAt(path).cache.slice();
  }

  /** What of a file would survive a machine crash now. */
  durableContents(path: string): Uint8Array {
    return this.fileAt(path).durable.slice();
  }

  usedBytes(): number {
    let used = 0;
    const seen = new Set<Inode>();
    for (const node of this.names.values()) {
      if (node.kind === 'file' && !seen.has(node.inode)) {
        seen.add(node.inode);
        used += node.inode.cache.byteLength;
      }
    }
    return used;
  }

  // ---- operations, called by mounts of the current generation ----

  checkAlive(generation: number, syscall: string, path: string): void {
    if (generation !== this.generation) {
      throw simError('EIO', syscall, path, 'the simulated machine crashed; this engine instance is dead');
    }
  }

  open(path: string, mode: OpenMode): Inode {
    const node = this.names.get(path);
    if (mode === 'update') {
      if (node === undefined) throw simError('ENOENT', 'open', path);
      if (node.kind !== 'file') throw simError('EISDIR', 'open', path);
      return node.inode;
    }
    if (node !== undefined) throw simError('EEXIST', 'open', path);
    return this.createFile(path);
  }

  write(inode: Inode, buffers: readonly Uint8Array[], position: number, path: string): number {
    const total = buffers.reduce((sum, b) => sum + b.byteLength, 0);
    if (total === 0) return 0;
    const forced = this.forced('write', path);
    if (forced !== undefined) {
      throw simError(forced, 'write', path);
    }
    if (this.fault(this.faults.writeFailRate)) {
      this.injected.writeFail++;
      throw simError(this.random.chance(0.5) ? 'ENOSPC' : 'EIO', 'write', path);
    }
    let length = total;
    if (this.fault(this.faults.shortWriteRate) && total > 1) {
      this.injected.shortWrite++;
      length = this.random.int(1, total - 1);
    }
    const growth = Math.max(0, position + length - inode.cache.byteLength);
    const free = this.capacityBytes - this.usedBytes();
    if (growth > free) {
      length -= growth - Math.max(0, free);
      if (length <= 0) {
        this.injected.enospc++;
        throw simError('ENOSPC', 'write', path);
      }
    }
    const bytes = concat(buffers, length);
    inode.cache = applyPending(inode.cache, { position, bytes }, undefined);
    inode.pending.push({ position, bytes });
    return length;
  }

  datasync(inode: Inode, path: string): void {
    const forced = this.forced('fsync', path) !== undefined;
    if (forced || this.fault(this.faults.fsyncFailRate)) {
      this.injected.fsyncFail++;
      // Some pending writes reached the disk, whole or torn; the others never will.
      for (const change of inode.pending) {
        if (this.random.chance(0.5)) inode.durable = applyPending(inode.durable, change, this.tearAt(change));
      }
      inode.pending = [];
      throw simError('EIO', 'fdatasync', path);
    }
    for (const change of inode.pending) inode.durable = applyPending(inode.durable, change, undefined);
    inode.pending = [];
  }

  truncate(inode: Inode, size: number, path: string): void {
    if (this.fault(this.faults.metadataFailRate)) {
      this.injected.metadataFail++;
      throw simError('EIO', 'ftruncate', path);
    }
    inode.cache = applyPending(inode.cache, { truncate: size }, undefined);
    inode.pending.push({ truncate: size });
  }

  writeWholeFile(path: string, data: Uint8Array, exclusive: boolean): void {
    const node = this.names.get(path);
    if (node !== undefined && exclusive) throw simError('EEXIST', 'open', path);
    if (node?.kind === 'dir') throw simError('EISDIR', 'open', path);
    const inode = node?.kind === 'file' ? node.inode : this.createFile(path);
    this.truncate(inode, 0, path);
    let written = 0;
    while (written < data.byteLength) {
      written += this.write(inode, [data.subarray(written)], written, path);
    }
    this.datasync(inode, path);
  }

  readFile(path: string): Uint8Array {
    return this.fileAt(path).cache.slice();
  }

  rename(from: string, to: string): void {
    const node = this.names.get(from);
    if (node === undefined) throw simError('ENOENT', 'rename', from);
    if (!this.isDir(dirname(to))) throw simError('ENOENT', 'rename', to);
    if (this.fault(this.faults.metadataFailRate)) {
      this.injected.metadataFail++;
      throw simError('EIO', 'rename', from);
    }
    const move = (names: Namespace) => {
      const moved = [...names].filter(([p]) => p === from || p.startsWith(`${from}/`));
      if (moved.length === 0) return;
      removeTree(names, to);
      for (const [p] of moved) names.delete(p);
      for (const [p, n] of moved) names.set(to + p.slice(from.length), n);
    };
    move(this.names);
    this.changeDir(dirname(to), move);
    if (dirname(from) !== dirname(to)) this.changeDir(dirname(from), move);
  }

  rm(path: string, recursive: boolean): void {
    const node = this.names.get(path);
    if (node === undefined) return;
    if (node.kind === 'dir' && !recursive && [...this.names.keys()].some((p) => p.startsWith(`${path}/`))) {
      throw simError('ENOTEMPTY', 'rm', path);
    }
    removeTree(this.names, path);
    this.changeDir(dirname(path), (names) => removeTree(names, path));
  }

  mkdir(path: string): void {
    if (path === '/' || this.names.get(path)?.kind === 'dir') return;
    if (this.names.has(path)) throw simError('EEXIST', 'mkdir', path);
    this.mkdir(dirname(path));
    this.names.set(path, { kind: 'dir' });
    this.changeDir(dirname(path), (names) => names.set(path, { kind: 'dir' }));
  }

  readdir(path: string): string[] {
    if (!this.isDir(path)) throw simError('ENOENT', 'scandir', path);
    const prefix = path === '/' ? '/' : `${path}/`;
    return [...this.names.keys()]
      .filter(
        (p) => p.startsWith(prefix) && p.length > prefix.length && !p.slice(prefix.length).includes('/'),
      )
      .map((p) => p.slice(prefix.length))
      .sort();
  }

  size(path: string): number {
    return this.fileAt(path).cache.byteLength;
  }

  syncDir(path: string): void {
    if (!this.isDir(path)) throw simError('ENOENT', 'open', path);
    if (this.fault(this.faults.metadataFailRate)) {
      this.injected.metadataFail++;
      throw simError('EIO', 'fsync', path);
    }
    // Entries of a directory whose own name is not durable yet wait for it; a crash drops them.
    for (const change of this.dirChanges.get(path) ?? []) change(this.durableNames);
    this.dirChanges.delete(path);
  }

  private createFile(path: string): Inode {
    if (!this.isDir(dirname(path))) throw simError('ENOENT', 'open', path);
    const node: Node = { kind: 'file', inode: new Inode() };
    this.names.set(path, node);
    this.changeDir(dirname(path), (names) => names.set(path, node));
    return node.inode;
  }

  private changeDir(dir: string, change: DirChange): void {
    const changes = this.dirChanges.get(dir) ?? [];
    changes.push(change);
    this.dirChanges.set(dir, changes);
  }

  private isDir(path: string): boolean {
    return this.names.get(path)?.kind === 'dir';
  }

  private fileAt(path: string): Inode {
    const node = this.names.get(path);
    if (node === undefined) throw simError('ENOENT', 'open', path);
    if (node.kind !== 'file') throw simError('EISDIR', 'read', path);
    return node.inode;
  }

  private forced(kind: 'write' | 'fsync', path: string): string | undefined {
    const code = this.failNext[kind];
    if (code === undefined || !path.endsWith(this.failNext.pathSuffix ?? '')) return undefined;
    delete this.failNext[kind];
    return code;
  }

  private fault(rate: number | undefined): boolean {
    return this.faultsEnabled && rate !== undefined && this.random.chance(rate);
  }

  /** Where a pending write is torn when it is only partly written: undefined = whole. */
  private tearAt(change: Pending): number | undefined {
    if (!('bytes' in change) || !this.random.chance(0.3)) return undefined;
    return this.random.int(0, change.bytes.byteLength);
  }
}

/** One engine instance's view: calls fail once the machine it runs on "crashed". */
class SimMount implements LogFileSystem {
  constructor(
    private readonly sim: SimFileSystem,
    private readonly generation: number,
  ) {}

  private async call<T>(syscall: string, path: string, run: () => T): Promise<T> {
    await Promise.resolve();
    this.sim.checkAlive(this.generation, syscall, path);
    return run();
  }

  open(path: string, mode: OpenMode): Promise<LogFile> {
    return this.call(
      'open',
      path,
      () => new SimFile(this.sim, this.generation, path, this.sim.open(path, mode)),
    );
  }

  readFile(path: string): Promise<Uint8Array> {
    return this.call('read', path, () => this.sim.readFile(path));
  }

  writeFile(
    path: string,
    data: Uint8Array | readonly Uint8Array[],
    options?: { readonly exclusive?: boolean },
  ): Promise<void> {
    const bytes = data instanceof Uint8Array ? data : concat(data as Uint8Array[], Number.POSITIVE_INFINITY);
    return this.call('write', path, () => this.sim.writeWholeFile(path, bytes, options?.exclusive ?? false));
  }

  rename(from: string, to: string): Promise<void> {
    return this.call('rename', from, () => this.sim.rename(from, to));
  }

  rm(path: string, options?: { readonly recursive?: boolean }): Promise<void> {
    return this.call('rm', path, () => this.sim.rm(path, options?.recursive ?? false));
  }

  mkdir(path: string): Promise<void> {
    return this.call('mkdir', path, () => this.sim.mkdir(path));
  }

  readdir(path: string): Promise<string[]> {
    return this.call('scandir', path, () => this.sim.readdir(path));
  }

  size(path: string): Promise<number> {
    return this.call('stat', path, () => this.sim.size(path));
  }

  syncDir(path: string): Promise<void> {
    return this.call('fsync', path, () => this.sim.syncDir(path));
  }
}

class SimFile implements LogFile {
  constructor(
    private readonly sim: SimFileSystem,
    private readonly generation: number,
    private readonly path: string,
    private readonly inode: Inode,
  ) {}

  writevSync(buffers: readonly Uint8Array[], position: number): number {
    this.sim.checkAlive(this.generation, 'write', this.path);
    return this.sim.write(this.inode, buffers, position, this.path);
  }

  async read(buffer: Uint8Array, offset: number, length: number, position: number): Promise<number> {
    await Promise.resolve();
    this.sim.checkAlive(this.generation, 'read', this.path);
    const bytes = this.inode.cache.subarray(position, position + length);
    buffer.set(bytes, offset);
    return bytes.byteLength;
  }

  async datasync(): Promise<void> {
    await Promise.resolve();
    this.sim.checkAlive(this.generation, 'fdatasync', this.path);
    this.sim.datasync(this.inode, this.path);
  }

  async truncate(size: number): Promise<void> {
    await Promise.resolve();
    this.sim.checkAlive(this.generation, 'ftruncate', this.path);
    this.sim.truncate(this.inode, size, this.path);
  }

  async close(): Promise<void> {
    await Promise.resolve();
  }
}

function applyPending(bytes: Uint8Array, change: Pending, tearAt: number | undefined): Uint8Array {
  if ('truncate' in change) {
    if (change.truncate <= bytes.byteLength) return bytes.slice(0, change.truncate);
    const grown = new Uint8Array(change.truncate);
    grown.set(bytes);
    return grown;
  }
  const data = tearAt === undefined ? change.bytes : change.bytes.subarray(0, tearAt);
  const end = change.position + data.byteLength;
  const out = end > bytes.byteLength ? new Uint8Array(end) : bytes.slice();
  if (end > bytes.byteLength) out.set(bytes);
  out.set(data, change.position);
  return out;
}

function concat(buffers: readonly Uint8Array[], length: number): Uint8Array {
  const total = Math.min(
    length,
    buffers.reduce((sum, b) => sum + b.byteLength, 0),
  );
  const out = new Uint8Array(total);
  let at = 0;
  for (const buffer of buffers) {
    if (at >= total) break;
    const part = buffer.subarray(0, total - at);
    out.set(part, at);
    at += part.byteLength;
  }
  return out;
}

function removeTree(names: Namespace, path: string): void {
  for (const p of [...names.keys()]) if (p === path || p.startsWith(`${path}/`)) names.delete(p);
}

/** Names whose directory did not survive do not survive either. */
function dropOrphans(names: Namespace): void {
  for (const p of [...names.keys()].sort((a, b) => a.length - b.length)) {
    if (p !== '/' && names.get(dirname(p))?.kind !== 'dir') names.delete(p);
  }
}

function simError(code: string, syscall: string, path: string, detail?: string): NodeJS.ErrnoException {
  const error: NodeJS.ErrnoException = new Error(
    `${code}: ${detail ?? 'simulated fault'}, ${syscall} '${path}'`,
  );
  error.code = code;
  error.syscall = syscall;
  error.path = path;
  return error;
}
