// The worst function filters an annotation can hold, over 500 discovered functions: the broker keeps answering and filters right.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MAX_FUNCTION_FILTER_BYTES, MAX_FUNCTION_FILTER_GLOBS, MAX_FUNCTION_GLOB_LENGTH } from "../../src/model/function-filter.js";
import { readOwnStatus } from "../../src/model/status.js";
import { SAMPLE_AWS, startSandbox, type Sandbox } from "../../src/sandbox/index.js";
import { UPSTREAMS } from "../../src/sandbox/kube/index.js";
import { eventually, sandboxConfig, startTestBroker, type HarnessBroker } from "../support/broker-harness.js";

type Lambda = { logicalName: string; lambdaFunctionName: string; qualifier?: string };

const FUNCTIONS = 500;
// 59 'a's, '-' and four digits: Lambda's longest name (64), made of the character the globs repeat.
const PREFIX = "a".repeat(59);
const NAMES = Array.from({ length: FUNCTIONS }, (_, i) => `${PREFIX}-${String(i + 1).padStart(4, "0")}`);

// Each glob would keep a backtracking regex busy for far longer than the test runs: stars between
// characters the names are full of, and a last character that fails only at the very end.
const INCLUDE = [
  `${"*a".repeat(40)}*1`, // numbers ending in 1
  `${"a*".repeat(50)}-00?2`, // 0002 … 0092 ending in 2
  `${"*?".repeat(60)}*Q`, // nothing: no name holds a Q
];
const EXCLUDE = [
  `${"*a".repeat(30)}*-02*`, // 0200 … 0299
  `${"*a".repeat(14)}*-0?11`, // 0011, 0111, … 0411
  `${"*?".repeat(60)}*b`, // nothing
  `${"?*".repeat(63)}??`, // nothing: needs 65 characters
];
const FILTER = [...INCLUDE, ...EXCLUDE.map((g) => `!${g}`)].join(",");

/** What the filter above keeps, said with arithmetic instead of globs. */
function expectedNames(): string[] {
  return NAMES.filter((name) => {
    const n = Number(name.slice(-4));
    const included = n % 10 === 1 || (n <= 92 && n % 10 === 2);
    const excluded = Math.floor(n / 100) === 2 || n % 100 === 11;
    return included && !excluded;
  });
}

interface HealthProbe {
  answered: number;
  failed: number;
  slowestMs: number;
  stop(): Promise<void>;
}

/** Asks /healthz over and over until stopped, keeping the slowest round trip (it grows with a blocked event loop). */
function probeHealth(url: string): HealthProbe {
  const probe = { answered: 0, failed: 0, slowestMs: 0 };
  let running = true;
  const loop = (async () => {
    while (running) {
      const started = performance.now();
      const ok = await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(30_000) })
        .then(async (res) => {
          await res.arrayBuffer();
          return res.status === 200;
        })
        .catch(() => false);
      probe.slowestMs = Math.max(probe.slowestMs, performance.now() - started);
      if (ok) probe.answered += 1;
      else probe.failed += 1;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  })();
  return Object.assign(probe, {
    stop: async () => {
      running = false;
      await loop;
    },
  });
}

describe("a hostile function filter over 500 functions", () => {
  let sandbox: Sandbox;
  let broker: HarnessBroker;
  const get = (name = "hostile") => sandbox.kube.get(UPSTREAMS, "team-orders", name)!;
  const apply = (name: string, filter: string) =>
    sandbox.kube.apply({
      apiVersion: "gloo.solo.io/v1",
      kind: "Upstream",
      metadata: { namespace: "team-orders", name, annotations: { "discovery.solo.io/function_discovery": "enabled", "credbroker.io/function-filter": filter } },
      spec: { aws: { region: SAMPLE_AWS.region, secretRef: { name: "aws-creds", namespace: "team-orders" } } },
    });
  const lambdas = () => (get().spec as { aws: { lambdaFunctions?: Lambda[] } }).aws.lambdaFunctions ?? [];

  beforeAll(async () => {
    sandbox = await startSandbox();
    sandbox.seed({ aws: { accounts: [{ id: SAMPLE_AWS.accountId, generatedFunctions: [{ region: SAMPLE_AWS.region, count: FUNCTIONS, prefix: PREFIX }] }] } });
    broker = await startTestBroker(sandboxConfig(sandbox));
    await eventually("the sample world reconciled", () => readOwnStatus(sandbox.kube.get(UPSTREAMS, "team-orders", "orders-lambda")!, "credbroker")?.state === "Accepted", 30_000);
  });

  afterAll(async () => {
    await broker?.stop();
    await sandbox?.close();
  });

  it("is within the annotation's bounds, so it is the worst an upstream may ask for", () => {
    expect(Buffer.byteLength(FILTER)).toBeLessThanOrEqual(MAX_FUNCTION_FILTER_BYTES);
    for (const glob of [...INCLUDE, ...EXCLUDE]) expect(glob.length).toBeLessThanOrEqual(MAX_FUNCTION_GLOB_LENGTH);
    // 50 ending in 1 and 10 in 2, less 201 … 291 and 11, 111, 311, 411.
    expect(expectedNames()).toHaveLength(46);
  });

  it("publishes the filtered list while /healthz keeps answering", async () => {
    const health = probeHealth(broker.url);
    try {
      apply("hostile", FILTER);
      await eventually("the hostile upstream's functions published", () => lambdas().length > 0 && readOwnStatus(get(), "credbroker")?.state === "Accepted", 60_000);
    } finally {
      await health.stop();
    }

    expect(lambdas().map((f) => f.lambdaFunctionName)).toEqual(expectedNames());
    expect(lambdas().every((f) => f.qualifier === "$LATEST" && f.logicalName === f.lambdaFunctionName)).toBe(true);
    expect(readOwnStatus(get(), "credbroker")!.details.functions).toEqual({ discovered: 46, published: 46, truncated: false });

    expect(health.failed).toBe(0);
    expect(health.answered).toBeGreaterThan(0);
    // A hang detector, not a latency target: the backtracking regex blocked the loop for hours.
    expect(health.slowestMs).toBeLessThan(5000);
  }, 90_000);

  it("rejects a filter past the bounds as InvalidSpec naming the annotation, without echoing it", async () => {
    const globs = Array.from({ length: MAX_FUNCTION_FILTER_GLOBS + 1 }, (_, i) => `*a*a*a*a*a*a*a*a*${i}`);
    apply("too-many-globs", globs.join(","));
    const status = await eventually("too-many-globs judged", () => {
      const s = readOwnStatus(get("too-many-globs"), "credbroker");
      return s !== undefined && s.state !== "Pending" ? s : undefined;
    });
    expect(status.state).toBe("Rejected");
    const failing = status.details.conditions.find((c) => c.status === "False");
    expect(failing).toMatchObject({ reason: "InvalidSpec" });
    expect(failing!.message).toContain('metadata.annotations["credbroker.io/function-filter"]');
    expect(failing!.message).toContain(`at most ${MAX_FUNCTION_FILTER_GLOBS} globs`);
    expect(JSON.stringify(status)).not.toContain(globs[0]);
  });
});
