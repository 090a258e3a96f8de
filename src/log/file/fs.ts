/**
 * @module log/file/fs
 * The file-system calls of the file engine, behind one small interface, so the engine can run
 * over a simulated file system that fails writes and fsyncs, tears writes, runs out of space and
 * loses what a crash would lose (`testing/sim-fs.ts`). Production uses {@link nodeFileSystem}; the
 * simulation therefore exercises the engine's real code, not a copy. No other module of
 * `log/file/` imports `node:fs` (the linter keeps it so).
 *
 * Durability contract (what the simulation models, and what a POSIX file system promises):
 * - bytes written to a file survive a crash only once `datasync()` on it returned without error;
 *   a failed `datasync()` may have lost them for good, even if a later one succeeds (Linux marks
 *   the pages clean after a write-back error: "fsyncgate");
 * - a created, renamed or removed name survives a crash only once `syncDir()` of its directory
 *   returned; a rename is atomic (after a crash, the old or the new file, never a mix).
 *
 * @example
 * const file = await fs.open(path, 'create');
 * const written = file.writevSync([bytes], 0); // may be short: write the rest again
 * await file.datasync();
 * await fs.syncDir(dirname(path));
 */
import { fdatasync, writevSync } from 'node:fs';
import {
  type FileHandle,
  mkdir,
  open,
  readdir,
  readFile,
  rename,
  rm,
  stat,
  writeFile,
} from 'node:fs/promises';

/** An open file of the log. */
export interface LogFile {
  /**
   * Writes `buffers` at `position` and returns how many bytes were written (possibly fewer than
   * asked; the caller writes the rest). Synchronous: see `Segment.appendBatches` for why.
   */
  writevSync(buffers: readonly Uint8Array[], position: number): number;
  /** Reads up to `length` bytes at `position` into `buffer[offset…]`; returns the count read. */
  read(buffer: Uint8Array, offset: number, length: number, position: number): Promise<number>;
  /** fdatasync: the file's data written so far is on disk once this resolves. */
  datasync(): Promise<void>;
  truncate(size: number): Promise<void>;
  close(): Promise<void>;
}

/** `create` fails if the file exists (`wx+`); `update` opens an existing file for reading and writing (`r+`). */
export type OpenMode = 'create' | 'update';

export interface LogFileSystem {
  open(path: string, mode: OpenMode): Promise<LogFile>;
  readFile(path: string): Promise<Uint8Array>;
  /**
   * Writes a whole file and fdatasyncs it before resolving. `exclusive` fails with EEXIST when
   * the file exists.
   */
  writeFile(
    path: string,
    data: Uint8Array | readonly Uint8Array[],
    options?: { readonly exclusive?: boolean },
  ): Promise<void>;
  rename(from: string, to: string): Promise<void>;
  /** Removes a file or (with `recursive`) a directory tree; a missing path is not an error. */
  rm(path: string, options?: { readonly recursive?: boolean }): Promise<void>;
  /** Creates a directory and its missing parents. */
  mkdir(path: string): Promise<void>;
  readdir(path: string): Promise<string[]>;
  /** Size of a file in bytes. */
  size(path: string): Promise<number>;
  /** fsync of a directory: names created, renamed or removed in it are on disk once this resolves. */
  syncDir(path: string): Promise<void>;
}

/** The file system of the machine, through `node:fs`. */
export const nodeFileSystem: LogFileSystem = {
  async open(path, mode) {
    return new NodeLogFile(await open(path, mode === 'create' ? 'wx+' : 'r+'));
  },
  async readFile(path) {
    return readFile(path);
  },
  async writeFile(path, data, options) {
    const payload = data instanceof Uint8Array ? data : (data as Uint8Array[]);
    await writeFile(path, payload, { flush: true, flag: options?.exclusive ? 'wx' : 'w' });
  },
  rename,
  async rm(path, options) {
    await rm(path, { force: true, recursive: options?.recursive ?? false });
  },
  async mkdir(path) {
    await mkdir(path, { recursive: true });
  },
  async readdir(path) {
    return readdir(path);
  },
  async size(path) {
    return (await stat(path)).size;
  },
  async syncDir(path) {
    const handle = await open(path, 'r');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  },
};

class NodeLogFile implements LogFile {
  constructor(private readonly handle: FileHandle) {}

  writevSync(buffers: readonly Uint8Array[], position: number): number {
    return writevSync(this.handle.fd, buffers as Uint8Array[], position);
  }

  async read(buffer: Uint8Array, offset: number, length: number, position: number): Promise<number> {
    return (await this.handle.read(buffer, offset, length, position)).bytesRead;
  }

  /** fdatasync through the callback API: measured faster per call than FileHandle.datasync(). */
  datasync(): Promise<void> {
    return new Promise((resolve, reject) => {
      fdatasync(this.handle.fd, (error) => (error ? reject(error) : resolve()));
    });
  }

  truncate(size: number): Promise<void> {
    return this.handle.truncate(size);
  }

  close(): Promise<void> {
    return this.handle.close();
  }
}
