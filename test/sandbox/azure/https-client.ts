// Test helper: raw HTTPS requests to the Azure emulator, trusting its CA (and only it) per request.
import { request } from "node:https";
import { rootCertificates } from "node:tls";

export interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  json: unknown;
  text: string;
}

export interface RawRequest {
  method?: string;
  headers?: Record<string, string>;
  body?: string;
  /** CA bundle to trust; omit to trust only Node's public roots (the emulator then fails TLS). */
  ca?: string;
}

/** Sends one request; resolves with status and parsed JSON (undefined when the body is not JSON). */
export function rawRequest(url: string, options: RawRequest = {}): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method: options.method ?? "GET",
        headers: { ...(options.body === undefined ? {} : { "content-length": Buffer.byteLength(options.body).toString() }), ...options.headers },
        ca: options.ca === undefined ? [...rootCertificates] : [...rootCertificates, options.ca],
        agent: false,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => {
          const text = Buffer.concat(chunks).toString("utf8");
          let json: unknown;
          try {
            json = JSON.parse(text);
          } catch {
            json = undefined;
          }
          resolve({ status: res.statusCode ?? 0, headers: res.headers, json, text });
        });
        res.on("error", reject);
      },
    );
    req.on("error", reject);
    req.end(options.body);
  });
}

/** Client options that make @azure clients trust the emulator CA in addition to the public roots. */
export function trustingOptions(caPem: string): { tlsOptions: { ca: string[] } } {
  return { tlsOptions: { ca: [...rootCertificates, caPem] } };
}
