// The Lambda function store: naming of fleets, listing order, and markers that survive changes between pages.
import { describe, expect, it } from "vitest";
import { InvalidMarkerError, LambdaFunctionStore } from "../../../src/sandbox/aws/functions.js";

const ACCOUNT = "123456789012";
const REGION = "us-east-1";

function names(store: LambdaFunctionStore, options: { marker?: string; maxItems: number; allVersions?: boolean }) {
  const page = store.listFunctions(ACCOUNT, REGION, { allVersions: false, ...options });
  return { names: page.items.map((e) => `${e.fn.name}@${e.version}`), nextMarker: page.nextMarker };
}

describe("LambdaFunctionStore", () => {
  it("names a fleet <prefix>-<zero-padded n> and lists it sorted", () => {
    const store = new LambdaFunctionStore();
    expect(store.addMany(ACCOUNT, REGION, 3, "fleet", 0)).toEqual(["fleet-0001", "fleet-0002", "fleet-0003"]);
    store.add(ACCOUNT, REGION, { name: "alpha" }, 0);
    expect(names(store, { maxItems: 50 }).names).toEqual(["alpha@$LATEST", "fleet-0001@$LATEST", "fleet-0002@$LATEST", "fleet-0003@$LATEST"]);
  });

  it("neither repeats nor skips surviving functions when functions are removed or added between pages", () => {
    const store = new LambdaFunctionStore();
    store.addMany(ACCOUNT, REGION, 6, "f", 0);
    const first = names(store, { maxItems: 3 });
    expect(first.names).toEqual(["f-0001@$LATEST", "f-0002@$LATEST", "f-0003@$LATEST"]);
    store.remove(ACCOUNT, REGION, "f-0004");
    store.add(ACCOUNT, REGION, { name: "a-first" }, 0);
    const second = names(store, { maxItems: 3, marker: first.nextMarker! });
    expect(second.names).toEqual(["f-0005@$LATEST", "f-0006@$LATEST"]);
    expect(second.nextMarker).toBeUndefined();
  });

  it("continues a version listing inside a function", () => {
    const store = new LambdaFunctionStore();
    store.add(ACCOUNT, REGION, { name: "a", versions: 2 }, 0);
    store.add(ACCOUNT, REGION, { name: "b" }, 0);
    const first = names(store, { maxItems: 2, allVersions: true });
    expect(first.names).toEqual(["a@$LATEST", "a@1"]);
    expect(names(store, { maxItems: 5, allVersions: true, marker: first.nextMarker! }).names).toEqual(["a@2", "b@$LATEST"]);
  });

  it("refuses markers it did not issue", () => {
    const store = new LambdaFunctionStore();
    store.add(ACCOUNT, REGION, { name: "a" }, 0);
    expect(() => names(store, { maxItems: 1, marker: "garbage" })).toThrow(InvalidMarkerError);
    expect(() => names(store, { maxItems: 1, marker: Buffer.from('["a",-1]').toString("base64url") })).toThrow(InvalidMarkerError);
  });

  it("refuses aliases to unpublished versions and names Lambda would refuse", () => {
    const store = new LambdaFunctionStore();
    expect(() => store.add(ACCOUNT, REGION, { name: "a", versions: 1, aliases: [{ name: "live", version: 2 }] }, 0)).toThrow(/invalid alias/);
    expect(() => store.add(ACCOUNT, REGION, { name: "has:colon" }, 0)).toThrow(/invalid Lambda function name/);
  });
});
