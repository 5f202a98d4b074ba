// SecretResolver over in-memory SecretSources: source order, overrides, redaction, and the rotation index.
import { pino } from "pino";
import { describe, expect, it } from "vitest";
import { sealed, type SecretMaterial } from "../../src/model/credentials.js";
import { BrokerNotAuthorizedError, SecretNotFoundError, SecretSourceUnavailableError, ValidationError } from "../../src/model/errors.js";
import { Redactor } from "../../src/runtime/redact.js";
import type { SecretRef } from "../../src/model/upstream.js";
import { SecretResolver } from "../../src/secrets/resolver.js";
import type { ResolvedSecret, SecretRequest, SecretSource, SecretSourceName } from "../../src/secrets/secret-source.js";

/** An in-memory source: a map of refs to material, or an error to throw. */
class MemorySource implements SecretSource {
  readonly secrets = new Map<string, SecretMaterial | Error>();
  readonly asked: SecretRef[] = [];
  private readonly listeners = new Set<(ref: SecretRef) => void>();
  started = 0;
  stopped = 0;

  constructor(readonly name: SecretSourceName) {}

  resolve(request: SecretRequest): Promise<ResolvedSecret> {
    this.asked.push(request.ref);
    const found = this.secrets.get(`${request.ref.namespace}/${request.ref.name}`);
    if (found === undefined) return Promise.reject(new SecretNotFoundError(`${this.name}: not found`));
    if (found instanceof Error) return Promise.reject(found);
    return Promise.resolve({ material: found, source: this.name, version: "1", location: `${this.name}:${request.ref.name}` });
  }
  onChange(listener: (ref: SecretRef) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
  emit(ref: SecretRef): void {
    for (const l of this.listeners) l(ref);
  }
  start(): Promise<void> {
    this.started++;
    return Promise.resolve();
  }
  stop(): Promise<void> {
    this.stopped++;
    return Promise.resolve();
  }
}

const aws = (secretAccessKey: string): SecretMaterial => sealed({ kind: "awsKeys", accessKeyId: "AKIAFAKE00000001", secretAccessKey });
const ref: SecretRef = { namespace: "gloo-system", name: "creds" };

function setup(order: SecretSourceName[] = ["kubernetes", "vault"]) {
  const kubernetes = new MemorySource("kubernetes");
  const vault = new MemorySource("vault");
  const redactor = new Redactor();
  const resolver = new SecretResolver({ sources: [kubernetes, vault], order, redactor, logger: pino({ level: "silent" }) });
  return { kubernetes, vault, redactor, resolver };
}

describe("SecretResolver", () => {
  it("tries Kubernetes first and falls through to Vault on NotFound", async () => {
    const { kubernetes, vault, resolver } = setup();
    vault.secrets.set("gloo-system/creds", aws("fromVaultSecretValue0001"));
    const r = await resolver.resolve({ ref });
    expect(r.source).toBe("vault");
    expect(kubernetes.asked).toHaveLength(1);
  });

  it("stops at the first source that has the secret", async () => {
    const { kubernetes, vault, resolver } = setup();
    kubernetes.secrets.set("gloo-system/creds", aws("fromKubeSecretValue0001"));
    vault.secrets.set("gloo-system/creds", aws("fromVaultSecretValue0002"));
    expect((await resolver.resolve({ ref })).source).toBe("kubernetes");
    expect(vault.asked).toHaveLength(0);
  });

  it("stops on any failure other than NotFound", async () => {
    for (const failure of [new BrokerNotAuthorizedError("refused"), new SecretSourceUnavailableError("down")]) {
      const { kubernetes, vault, resolver } = setup();
      kubernetes.secrets.set("gloo-system/creds", failure);
      vault.secrets.set("gloo-system/creds", aws("fromVaultSecretValue0003"));
      await expect(resolver.resolve({ ref })).rejects.toBe(failure);
      expect(vault.asked).toHaveLength(0);
    }
  });

  it("reports NotFound naming every source asked", async () => {
    const { resolver } = setup();
    const err = await resolver.resolve({ ref }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SecretNotFoundError);
    expect((err as Error).message).toBe("secret gloo-system/creds not found in kubernetes or vault");
  });

  it("follows the configured order", async () => {
    const { kubernetes, vault, resolver } = setup(["vault"]);
    kubernetes.secrets.set("gloo-system/creds", aws("fromKubeSecretValue0002"));
    await expect(resolver.resolve({ ref })).rejects.toBeInstanceOf(SecretNotFoundError);
    expect(kubernetes.asked).toHaveLength(0);
    expect(vault.asked).toHaveLength(1);
  });

  it("asks only the source the per-upstream override names", async () => {
    const { kubernetes, vault, resolver } = setup();
    kubernetes.secrets.set("gloo-system/creds", aws("fromKubeSecretValue0003"));
    vault.secrets.set("gloo-system/creds", aws("fromVaultSecretValue0004"));
    expect((await resolver.resolve({ ref, override: "vault" })).source).toBe("vault");
    expect(kubernetes.asked).toHaveLength(0);
  });

  it("rejects an override naming a source that is not configured", async () => {
    const kubernetes = new MemorySource("kubernetes");
    const resolver = new SecretResolver({ sources: [kubernetes], order: ["kubernetes"], redactor: new Redactor(), logger: pino({ level: "silent" }) });
    const err = await resolver.resolve({ ref, override: "vault" }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ValidationError);
    expect((err as ValidationError).reason).toBe("InvalidSpec");
  });

  it("registers resolved values with the redactor", async () => {
    const { kubernetes, redactor, resolver } = setup();
    kubernetes.secrets.set("gloo-system/creds", aws("registeredSecretValue0001"));
    await resolver.resolve({ ref });
    expect(redactor.scrub("key=registeredSecretValue0001")).toBe("key=[REDACTED]");
  });

  it("keeps a tracked secret's values scrubbed through 100,000 other registrations", async () => {
    const kubernetes = new MemorySource("kubernetes");
    const redactor = new Redactor({ maxUnowned: 100, maxReleased: 100 });
    const resolver = new SecretResolver({ sources: [kubernetes], order: ["kubernetes"], redactor, logger: pino({ level: "silent" }) });
    kubernetes.secrets.set("gloo-system/creds", aws("trackedSecretValue0001"));
    resolver.track("gloo-system/up-1", ref);
    await resolver.resolve({ ref });
    for (let i = 0; i < 100_000; i++) redactor.register(`unrelatedSecretValue${i}`);
    expect(redactor.scrub("k=trackedSecretValue0001")).toBe("k=[REDACTED]");
  });

  it("releases a secret's values when its last upstream is untracked, and keeps the old version for a while after a rotation", async () => {
    const kubernetes = new MemorySource("kubernetes");
    const redactor = new Redactor({ maxUnowned: 10, maxReleased: 1 });
    const resolver = new SecretResolver({ sources: [kubernetes], order: ["kubernetes"], redactor, logger: pino({ level: "silent" }) });
    resolver.track("gloo-system/up-1", ref);
    resolver.track("gloo-system/up-2", ref);
    kubernetes.secrets.set("gloo-system/creds", aws("firstVersionSecret01"));
    await resolver.resolve({ ref });
    kubernetes.secrets.set("gloo-system/creds", aws("secondVersionSecret02"));
    await resolver.resolve({ ref });
    expect(redactor.scrub("firstVersionSecret01 secondVersionSecret02")).toBe("[REDACTED] [REDACTED]");
    resolver.untrack("gloo-system/up-1");
    expect(redactor.scrub("secondVersionSecret02")).toBe("[REDACTED]");
    resolver.untrack("gloo-system/up-2");
    // Released last, it is the one the tail of one keeps; the first version is forgotten.
    expect(redactor.scrub("firstVersionSecret01 secondVersionSecret02")).toBe("firstVersionSecret01 [REDACTED]");
    expect(resolver.trackedRefCount).toBe(0);
  });

  it("maps a rotated secret to exactly the upstreams that use it", () => {
    const { kubernetes, vault, resolver } = setup();
    const other: SecretRef = { namespace: "gloo-system", name: "other" };
    resolver.track("gloo-system/up-1", ref);
    resolver.track("gloo-system/up-2", ref);
    resolver.track("gloo-system/up-2", other);
    resolver.track("gloo-system/up-3", other);
    const seen: string[][] = [];
    resolver.onRotation((keys) => seen.push(keys));
    kubernetes.emit(ref);
    vault.emit(other);
    kubernetes.emit({ namespace: "gloo-system", name: "unused" });
    expect(seen).toEqual([
      ["gloo-system/up-1", "gloo-system/up-2"],
      ["gloo-system/up-2", "gloo-system/up-3"],
    ]);
  });

  it("forgets an untracked upstream", () => {
    const { resolver } = setup();
    resolver.track("gloo-system/up-1", ref);
    resolver.track("gloo-system/up-2", ref);
    resolver.untrack("gloo-system/up-1");
    resolver.untrack("gloo-system/up-1");
    expect(resolver.upstreamsUsing(ref)).toEqual(["gloo-system/up-2"]);
    resolver.untrack("gloo-system/up-2");
    expect(resolver.upstreamsUsing(ref)).toEqual([]);
  });

  it("starts and stops every source", async () => {
    const { kubernetes, vault, resolver } = setup();
    await resolver.start();
    await resolver.stop();
    expect([kubernetes.started, vault.started, kubernetes.stopped, vault.stopped]).toEqual([1, 1, 1, 1]);
  });
});
