/**
 * @module compression/errors
 * The error every decompressor throws: corrupt input, or output past the size limit
 * (`tooLarge`, answered MESSAGE_TOO_LARGE rather than CORRUPT_MESSAGE).
 */
export class DecompressError extends Error {
  constructor(
    readonly codec: string,
    reason: string,
    readonly tooLarge = false,
  ) {
    super(`${codec}: ${reason}`);
    this.name = 'DecompressError';
  }
}
