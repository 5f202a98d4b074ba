// Newline-delimited framing of a watch stream: bytes in, whole lines out, a bound on an unfinished line.
import { KubeApiError } from "./kube-request.js";

const NEWLINE = 0x0a;

/**
 * Splits a byte stream into newline-terminated lines, holding at most `maxLineBytes` of an unfinished one.
 * Works on bytes (a newline byte never occurs inside a UTF-8 sequence), so a character split across chunks
 * is decoded whole. Pure; `push` throws KubeApiError when a line grows past the limit.
 */
export class LineSplitter {
  private pending: Buffer[] = [];
  private pendingBytes = 0;

  constructor(
    private readonly maxLineBytes: number,
    private readonly what: string,
  ) {}

  /** The lines `chunk` completes, without their newline. */
  push(chunk: Buffer): string[] {
    const lines: string[] = [];
    let start = 0;
    for (let nl = chunk.indexOf(NEWLINE, start); nl >= 0; nl = chunk.indexOf(NEWLINE, start)) {
      const piece = chunk.subarray(start, nl);
      this.checkLength(this.pendingBytes + piece.length);
      lines.push((this.pending.length === 0 ? piece : Buffer.concat([...this.pending, piece])).toString("utf8"));
      this.pending = [];
      this.pendingBytes = 0;
      start = nl + 1;
    }
    if (start < chunk.length) {
      this.checkLength(this.pendingBytes + chunk.length - start);
      this.pending.push(chunk.subarray(start));
      this.pendingBytes += chunk.length - start;
    }
    return lines;
  }

  /** True when something other than whitespace follows the last newline: the stream stopped mid-line. */
  get hasPartialLine(): boolean {
    return this.pendingBytes > 0 && Buffer.concat(this.pending).toString("utf8").trim() !== "";
  }

  private checkLength(bytes: number): void {
    if (bytes > this.maxLineBytes) throw new KubeApiError(`${this.what}: event line longer than ${this.maxLineBytes} bytes`, undefined);
  }
}
