// The operational endpoints every replica serves without authentication: liveness, readiness and Prometheus metrics.
import { Router } from "express";
import type { CounterLike } from "../runtime/telemetry.js";
import { methodNotAllowed } from "./api-errors.js";

export interface OpsDeps {
  /** Watches have synced: the broker knows the fleet. A Vault outage does not make it unready. */
  ready: () => boolean;
  renderMetrics: () => Promise<string>;
  metricsContentType: string;
  /**
   * Counts each answered request as `{route, code}` (`credbroker_http_requests_total`): route is the
   * matched route's path, or `other` for a path or method no route serves, so a scanner cannot grow
   * the label set. Omitted: nothing is counted.
   */
  httpRequests?: CounterLike;
}

/** /healthz, /readyz and /metrics. No I/O until the app listens. */
export function opsRouter(deps: OpsDeps): Router {
  const router = Router();
  router
    .route("/healthz")
    .get((_req, res) => {
      res.json({ status: "ok" });
    })
    .all(methodNotAllowed(["GET"]));
  router
    .route("/readyz")
    .get((_req, res) => {
      const ready = deps.ready();
      res.status(ready ? 200 : 503).json({ status: ready ? "ready" : "syncing" });
    })
    .all(methodNotAllowed(["GET"]));
  router
    .route("/metrics")
    .get((_req, res, next) => {
      deps.renderMetrics().then(
        (text) => {
          res.type(deps.metricsContentType).send(text);
        },
        (err: unknown) => next(err),
      );
    })
    .all(methodNotAllowed(["GET"]));
  return router;
}
