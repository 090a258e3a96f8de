/**
 * @module cli/sse
 * A Server-Sent Events parser (the WHATWG event-stream format) that accepts text in chunks of
 * any size: lines may end in LF, CR or CRLF, split anywhere between chunks.
 *
 * @example
 * const parser = new SseParser();
 * for (const event of parser.push('id: 3\nevent: record\ndata: {"offset":3}\n\n')) handle(event);
 */

export interface SseEvent {
  /** `message` when the event has no `event:` field. */
  readonly event: string;
  readonly data: string;
  /** The last event id seen so far (sticky, as in EventSource), or undefined before any. */
  readonly id: string | undefined;
}

export class SseParser {
  private buffer = '';
  private eventName = '';
  private data: string[] = [];
  private lastId: string | undefined;
  /** A CR ended the previous chunk: an LF starting the next one belongs to it. */
  private pendingCr = false;

  get lastEventId(): string | undefined {
    return this.lastId;
  }

  push(chunk: string): SseEvent[] {
    let text = chunk;
    if (this.pendingCr && text.startsWith('\n')) text = text.slice(1);
    this.pendingCr = false;
    this.buffer += text;
    const events: SseEvent[] = [];
    let start = 0;
    for (;;) {
      const cr = this.buffer.indexOf('\r', start);
      const lf = this.buffer.indexOf('\n', start);
      if (cr < 0 && lf < 0) break;
      const end = cr < 0 ? lf : lf < 0 ? cr : Math.min(cr, lf);
      const line = this.buffer.slice(start, end);
      start = end + 1;
      if (this.buffer[end] === '\r') {
        if (end + 1 === this.buffer.length) this.pendingCr = true;
        else if (this.buffer[end + 1] === '\n') start++;
      }
      const event = this.line(line);
      if (event !== undefined) events.push(event);
    }
    this.buffer = this.buffer.slice(start);
    return events;
  }

  private line(line: string): SseEvent | undefined {
    if (line === '') {
      if (this.data.length === 0) {
        this.eventName = '';
        return undefined;
      }
      const event = { event: this.eventName || 'message', data: this.data.join('\n'), id: this.lastId };
      this.eventName = '';
      this.data = [];
      return event;
    }
    if (line.startsWith(':')) return undefined;
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'event') this.eventName = value;
    else if (field === 'data') this.data.push(value);
    else if (field === 'id' && !value.includes('\0')) this.lastId = value;
    return undefined;
  }
}
