// VaultSecretSource against the Vault emulator with node-vault: the contract on KV v2 (kubernetes login) and KV v1 (token file), polling.
import { Metrics } from "../../../src/observability/metrics.js";
import { createVaultSecretSource } from "../../../src/secrets/vault/vault-secret-source.js";
import { FakeClock } from "../../../src/runtime/clock.js";
import { toVaultData } from "../fixtures.js";
import { captureLog } from "../log-capture.js";
import { glooVaultPath, startSandbox } from "../sandbox.js";
import { secretSourceContract } from "../secret-source.contract.js";
import { brokerSettings, POLL_INTERVAL_MS, tokenFileSettings } from "./harness.js";

const log = captureLog();

secretSourceContract("vault", async () => {
  const clock = new FakeClock();
  const sandbox = await startSandbox({ clock: clock.now });
  const make = () => createVaultSecretSource(brokerSettings(sandbox), { logger: log.logger, telemetry: new Metrics(), cacheSize: 100, clock, random: () => 0.5 });
  const source = await make();
  return {
    source,
    put: (ref, fixture) => Promise.resolve(void sandbox.vault.putSecret("secret", glooVaultPath(ref.namespace, ref.name), toVaultData(ref, fixture))),
    remove: (ref) => Promise.resolve(sandbox.vault.deleteSecret("secret", glooVaultPath(ref.namespace, ref.name))),
    // One polling interval: the rotation must be noticed by the next poll.
    oneChangeInterval: () => Promise.resolve(clock.advance(POLL_INTERVAL_MS)),
    another: make,
    close: () => sandbox.close(),
  };
}, "KV v2, kubernetes login");

// KV v1 (Gloo's layout without data/) and token-file auth, with the root token: the policy only covers the KV v2 layout.
secretSourceContract("vault", async () => {
  const clock = new FakeClock();
  const sandbox = await startSandbox({ clock: clock.now });
  const settings = await tokenFileSettings(sandbox, sandbox.vault.rootToken, { kvMount: "kv", kvVersion: 1 });
  const make = () => createVaultSecretSource(settings, { logger: log.logger, telemetry: new Metrics(), cacheSize: 100, clock, random: () => 0.5 });
  const source = await make();
  return {
    source,
    put: (ref, fixture) => Promise.resolve(void sandbox.vault.putSecret("kv", glooVaultPath(ref.namespace, ref.name), toVaultData(ref, fixture), 1)),
    remove: (ref) => Promise.resolve(sandbox.vault.deleteSecret("kv", glooVaultPath(ref.namespace, ref.name))),
    oneChangeInterval: () => Promise.resolve(clock.advance(POLL_INTERVAL_MS)),
    another: make,
    close: () => sandbox.close(),
  };
}, "KV v1, token file");
