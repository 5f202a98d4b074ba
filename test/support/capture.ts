// A Writable that keeps what is written to it, for tests that read back logs or a command's output.
import { Writable } from "node:stream";

export interface Captured {
  stream: Writable;
  /** Each write as a string (pino writes one line per record). */
  chunks: string[];
  text(): string;
}

export function captureStream(): Captured {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      chunks.push(chunk.toString("utf8"));
      done();
    },
  });
  return { stream, chunks, text: () => chunks.join("") };
}
