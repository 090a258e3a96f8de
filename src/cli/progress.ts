/**
 * @module cli/progress
 * Progress of a long command on stderr (stdout keeps the report, so it can be piped): a bar
 * redrawn in place on a terminal, otherwise a plain line each time another tenth of the work
 * is done, so logs and CI output stay readable.
 *
 * @example
 * const progress = new Progress(totalBytes, process.stderr);
 * progress.advance(chunkBytes);
 * progress.done();
 */
import { formatBytes } from './format.js';

const BAR_WIDTH = 30;
/** Redraws of the bar are at most this often: a terminal is slower than a CRC check. */
const REDRAW_INTERVAL_MS = 100;

export interface ProgressStream {
  readonly isTTY?: boolean;
  write(text: string): boolean;
}

export class Progress {
  private doneBytes = 0;
  private lastDrawMs = 0;
  private lastTenth = 0;
  private label = '';

  /** `format` writes an amount of work: bytes by default; `String` for counts such as records. */
  constructor(
    private readonly totalBytes: number,
    private readonly stream: ProgressStream,
    private readonly format: (amount: number) => string = formatBytes,
  ) {}

  /** What is being worked on now (shown beside the bar). */
  setLabel(label: string): void {
    this.label = label;
  }

  advance(bytes: number): void {
    this.doneBytes += bytes;
    if (this.stream.isTTY) {
      const now = Date.now();
      if (now - this.lastDrawMs >= REDRAW_INTERVAL_MS) {
        this.lastDrawMs = now;
        this.draw();
      }
      return;
    }
    const tenth = this.totalBytes === 0 ? 10 : Math.floor((this.doneBytes / this.totalBytes) * 10);
    if (tenth > this.lastTenth) {
      this.lastTenth = tenth;
      this.stream.write(`progress: ${this.percent()}% (${this.amount()})\n`);
    }
  }

  /** Clears the bar (on a terminal) so the report that follows starts on a clean line. */
  done(): void {
    if (this.stream.isTTY) this.stream.write('\r\x1b[2K');
  }

  private draw(): void {
    const filled = Math.round((this.percent() / 100) * BAR_WIDTH);
    const bar = `${'#'.repeat(filled)}${'-'.repeat(BAR_WIDTH - filled)}`;
    this.stream.write(`\r\x1b[2K[${bar}] ${this.percent()}% ${this.amount()} ${this.label}`);
  }

  private percent(): number {
    if (this.totalBytes === 0) return 100;
    return Math.min(100, Math.floor((this.doneBytes / this.totalBytes) * 100));
  }

  private amount(): string {
    return `${this.format(this.doneBytes)} of ${this.format(this.totalBytes)}`;
  }
}
