import { pino } from "pino";
import { describe, expect, it } from "vitest";
import { silentSecretsTelemetry } from "../../../src/runtime/telemetry.js";
import { KubernetesSecretSource } from "../../../src/secrets/kubernetes/kubernetes-secret-source.js";
import type { KubernetesSecretReader } from "../../../src/secrets/kubernetes/secret-reader.js";

const b64 = (s: string) => Buffer.from(s).toString("base64");
const secret = (rv: string, key: string) => ({
  apiVersion: "v1",
  kind: "Secret",
  metadata: { namespace: "ns", name: "aws", resourceVersion: rv },
  data: { aws_access_key_id: b64("AKIAEXAMPLEEXAMPLE01"), aws_secret_access_key: b64(key) },
});

describe("KubernetesSecretSource and a Secret that changes while it is read", () => {
  it("reads again when the watch reports a newer version during the read, and caches only the newer copy", async () => {
    const stored = { current: secret("1", "old-secret-key-0000000000000000000000000") };
    let release: () => void = () => undefined;
    let reads = 0;
    const reader: KubernetesSecretReader = {
      read: async () => {
        reads++;
        const copy = stored.current;
        if (reads === 1) await new Promise<void>((resolve) => (release = resolve));
        return copy;
      },
    };
    const source = new KubernetesSecretSource({ reader, cacheSize: 10, logger: pino({ level: "silent" }), telemetry: silentSecretsTelemetry() });
    const changed: string[] = [];
    source.onChange((ref) => changed.push(`${ref.namespace}/${ref.name}`));
    const ref = { namespace: "ns", name: "aws" };

    const first = source.resolve({ ref, expected: "awsKeys" });
    await new Promise((resolve) => setImmediate(resolve));
    // The Secret is rotated, and the watch says so, before the first read answers with the old copy.
    stored.current = secret("2", "new-secret-key-0000000000000000000000000");
    source.handleSecretEvent("MODIFIED", stored.current.metadata);
    release();
    const answered = await first;
    expect(answered.version).toBe("2");
    expect(reads).toBe(2);
    // Served from the cache now, without another read.
    const next = await source.resolve({ ref, expected: "awsKeys" });
    expect(next.version).toBe("2");
    expect(reads).toBe(2);
    expect(changed).toEqual([]);
  });
});
