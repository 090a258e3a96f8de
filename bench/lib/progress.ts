/**
 * @module bench/lib/progress
 * A progress bar on stderr for long benchmark runs. On a TTY it redraws one line
 * (`[######------] 12/40  30%  1:05 left  publish 100 B × 16 · nats`); elsewhere (CI, pipes) it
 * prints one plain line per step. Messages (`note`) go above the bar in both cases.
 *
 * @example
 * const progress = new Progress(40);
 * progress.start('publish 100 B × 1 · tributary');
 * progress.done();
 * progress.finish();
 */

const BAR_WIDTH = 24;

export class Progress {
  readonly #total: number;
  readonly #tty: boolean;
  readonly #stream: NodeJS.WriteStream;
  readonly #startedAt = Date.now();
  #completed = 0;
  #label = '';
  #stepStartedAt = Date.now();
  #drawn = false;

  constructor(total: number, stream: NodeJS.WriteStream = process.stderr) {
    this.#total = Math.max(total, 1);
    this.#stream = stream;
    this.#tty = stream.isTTY === true && process.env.CI === undefined;
  }

  /** Begins a step: redraws the bar (TTY) or prints `[n/total] label` (plain). */
  start(label: string): void {
    this.#label = label;
    this.#stepStartedAt = Date.now();
    if (this.#tty) this.#draw();
    else this.#stream.write(`[${this.#completed + 1}/${this.#total}] ${label} …\n`);
  }

  /** Ends the current step, with an optional short outcome (`123,456 msgs/s`). */
  done(outcome?: string): void {
    this.#completed = Math.min(this.#completed + 1, this.#total);
    if (this.#tty) {
      if (outcome !== undefined) this.note(`  ${this.#label}: ${outcome}`);
      this.#draw();
    } else if (outcome !== undefined) {
      const seconds = ((Date.now() - this.#stepStartedAt) / 1000).toFixed(1);
      this.#stream.write(`      ${outcome} (${seconds} s)\n`);
    }
  }

  /** A line above the bar. */
  note(message: string): void {
    if (this.#tty) {
      this.#clear();
      this.#stream.write(`${message}\n`);
      this.#draw();
    } else {
      this.#stream.write(`${message}\n`);
    }
  }

  /** Removes the bar (TTY) so the final output starts on a clean line. */
  finish(): void {
    if (this.#tty) this.#clear();
    const seconds = Math.round((Date.now() - this.#startedAt) / 1000);
    this.#stream.write(`${this.#completed}/${this.#total} steps in ${formatDuration(seconds)}\n`);
  }

  #draw(): void {
    const fraction = this.#completed / this.#total;
    const filled = Math.round(fraction * BAR_WIDTH);
    const elapsed = (Date.now() - this.#startedAt) / 1000;
    const left =
      this.#completed > 0 ? (elapsed / this.#completed) * (this.#total - this.#completed) : Number.NaN;
    const columns = this.#stream.columns ?? 100;
    const line =
      `[${'#'.repeat(filled)}${'-'.repeat(BAR_WIDTH - filled)}] ${this.#completed}/${this.#total}` +
      ` ${String(Math.round(fraction * 100)).padStart(3)}%` +
      `${Number.isFinite(left) ? `  ${formatDuration(Math.round(left))} left` : ''}  ${this.#label}`;
    this.#stream.write(`\r\x1b[2K${line.slice(0, columns - 1)}`);
    this.#drawn = true;
  }

  #clear(): void {
    if (this.#drawn) this.#stream.write('\r\x1b[2K');
    this.#drawn = false;
  }
}

function formatDuration(seconds: number): string {
  const minutes = Math.floor(seconds / 60);
  return `${minutes}:${String(seconds % 60).padStart(2, '0')}`;
}
