// Batching encoded text messages into frames for a 2.x client (encode.ts
// encodes them).

/** Characters one batched frame holds at most unless told otherwise. */
export const DEFAULT_TEXT_BATCH_CHARS = 64 * 1024;

/**
 * Gathers encoded messages into frames (the 2.x client splits a frame on the
 * record separator). Encode a fan-out once with encodeTextMessage and add the
 * same text to each connection's batch; send what `add` returns at once and
 * what `take` returns when the turn ends. A single message longer than
 * `maxChars` is a frame of its own.
 */
export class TextBatch {
  readonly #maxChars: number;
  readonly #maxMessages: number;
  #texts: string[] = [];
  #chars = 0;

  constructor(options: { maxChars?: number; maxMessages?: number } = {}) {
    this.#maxChars = options.maxChars ?? DEFAULT_TEXT_BATCH_CHARS;
    this.#maxMessages = options.maxMessages ?? 100;
  }

  /** Adds one encoded message; returns the frame to send first when this one did not fit. */
  add(text: string): string | null {
    let full: string | null = null;
    if (
      this.#texts.length > 0 &&
      (this.#chars + text.length > this.#maxChars || this.#texts.length >= this.#maxMessages)
    ) {
      full = this.take();
    }
    this.#texts.push(text);
    this.#chars += text.length;
    return full;
  }

  /** The gathered messages as one frame (null when there are none); the batch is then empty. */
  take(): string | null {
    if (this.#texts.length === 0) return null;
    const frame = this.#texts.length === 1 ? (this.#texts[0] as string) : this.#texts.join('');
    this.#texts = [];
    this.#chars = 0;
    return frame;
  }

  /** Messages waiting in the batch. */
  get size(): number {
    return this.#texts.length;
  }

  /** Characters waiting in the batch. */
  get chars(): number {
    return this.#chars;
  }
}
