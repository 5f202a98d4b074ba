// All credbroker_* Prometheus metrics in one object with its own registry (no global default registry).
import { Counter, Gauge, Histogram, Registry } from "prom-client";
import type { CloudTelemetry, Labels, SecretsTelemetry } from "../runtime/telemetry.js";

export class Metrics implements SecretsTelemetry, CloudTelemetry {
  readonly registry = new Registry();

  readonly vaultOperations = new Counter({ name: "credbroker_vault_operations_total", help: "Vault calls by operation and result", labelNames: ["operation", "result"], registers: [this.registry] });
  readonly vaultTokenTtlSeconds = new Gauge({ name: "credbroker_vault_token_ttl_seconds", help: "Seconds left on the Vault token", labelNames: ["auth"], registers: [this.registry] });
  readonly vaultLoginFailureStreaks = new Counter({ name: "credbroker_vault_login_failure_streaks_total", help: "Streaks of failed Vault logins, one per streak however many attempts it took", labelNames: ["auth"], registers: [this.registry] });
  readonly notAuthorizedStreaks = new Counter({ name: "credbroker_broker_not_authorized_streaks_total", help: "Streaks of 401/403 refusals of the broker's own identity by Kubernetes or Vault, one per streak however many refusals it took", labelNames: ["dependency"], registers: [this.registry] });
  readonly secretCache = new Counter({ name: "credbroker_secret_cache_total", help: "Parsed-secret cache lookups", labelNames: ["source", "result"], registers: [this.registry] });

  readonly providerCalls = new Counter({ name: "credbroker_provider_calls_total", help: "Cloud API calls by provider, operation and result", labelNames: ["provider", "operation", "result"], registers: [this.registry] });
  readonly providerCallSeconds = new Histogram({ name: "credbroker_provider_call_duration_seconds", help: "Cloud API call latency", labelNames: ["provider", "operation"], buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10], registers: [this.registry] });
  readonly clockOffsetSeconds = new Gauge({ name: "credbroker_clock_offset_seconds", help: "The provider's clock minus the broker's, as last measured from its answers (the SDK corrects signatures by it)", labelNames: ["provider"], registers: [this.registry] });
  readonly cloudCache = new Counter({ name: "credbroker_cloud_cache_total", help: "Shared verification/discovery results: hit, miss, joined (in-flight)", labelNames: ["kind", "result"], registers: [this.registry] });

  readonly queueDepth = new Gauge({ name: "credbroker_queue_depth", help: "Upstream keys due and waiting for a worker (periodic re-verifications not yet due are not counted)", registers: [this.registry] });
  readonly queueInFlight = new Gauge({ name: "credbroker_queue_in_flight", help: "Reconciles running", registers: [this.registry] });
  readonly reconciles = new Counter({ name: "credbroker_reconcile_total", help: "Reconciles by outcome (written, unchanged: the stored state already said it, skipped, superseded: the spec changed under the verdict, handedOver: the lease moved mid-pass, failed, gone) and reason (a condition reason, or the failure's)", labelNames: ["outcome", "reason"], registers: [this.registry] });
  readonly reconcileSeconds = new Histogram({ name: "credbroker_reconcile_duration_seconds", help: "Reconcile latency", labelNames: ["outcome"], buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30], registers: [this.registry] });
  readonly writes = new Counter({ name: "credbroker_kubernetes_writes_total", help: "Kubernetes writes by kind (spec, status, event) and result (made, skipped, conflict, gone, failed: an Event that could not be recorded)", labelNames: ["kind", "result"], registers: [this.registry] });
  readonly upstreamsByState = new Gauge({ name: "credbroker_upstreams", help: "Upstreams by published state", labelNames: ["state"], registers: [this.registry] });
  readonly upstreamState = new Gauge({ name: "credbroker_upstream_state", help: "1 for the current state of each upstream (series deleted with the upstream)", labelNames: ["namespace", "name", "state", "reason"], registers: [this.registry] });
  readonly leader = new Gauge({ name: "credbroker_leader", help: "1 when this replica holds the lease of the shard", labelNames: ["shard"], registers: [this.registry] });
  readonly watchRestarts = new Counter({ name: "credbroker_watch_restarts_total", help: "Watch restarts by resource and cause", labelNames: ["resource", "cause"], registers: [this.registry] });
  readonly httpRequests = new Counter({ name: "credbroker_http_requests_total", help: "HTTP requests by route and status code", labelNames: ["route", "code"], registers: [this.registry] });
  readonly reverifyRequests = new Counter({ name: "credbroker_reverify_requests_total", help: "Upstreams asked to be re-verified over HTTP, by how each was taken: queued (a new forced run), joined (one already queued answers it), handed_off (the reverify annotation asks the shard's leader), joined_hand_off", labelNames: ["answer"], registers: [this.registry] });
  readonly reverifyQueued = new Gauge({ name: "credbroker_reverify_queued", help: "Re-verifications asked for over HTTP, queued or handed off, whose run has not started (capped by http.maxQueuedReverify)", registers: [this.registry] });
  readonly httpRefusals = new Counter({ name: "credbroker_http_refusals_total", help: "API requests refused before reaching a route, by reason (unauthenticated, forbidden, rate_limited, queue_full, auth_unavailable)", labelNames: ["reason"], registers: [this.registry] });

  // The labels of each upstream's current state series, so the old series can be removed exactly.
  private readonly stateSeries = new Map<string, Labels>();

  /** Replaces the per-upstream state series of one upstream (deleting the old one). */
  setUpstreamState(namespace: string, name: string, state: string, reason: string): void {
    this.forgetUpstream(namespace, name);
    const labels = { namespace, name, state, reason };
    this.upstreamState.set(labels, 1);
    this.stateSeries.set(`${namespace}/${name}`, labels);
  }

  /** Deletes every per-object series of a deleted upstream. */
  forgetUpstream(namespace: string, name: string): void {
    const key = `${namespace}/${name}`;
    const labels = this.stateSeries.get(key);
    if (labels) this.upstreamState.remove(labels);
    this.stateSeries.delete(key);
  }

  async render(): Promise<string> {
    return this.registry.metrics();
  }
}
