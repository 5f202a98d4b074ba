// The operational endpoints every replica serves: liveness, readiness and Prometheus metrics.
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import express, { type Express, type Request } from "express";
import type { CounterLike } from "../runtime/telemetry.js";

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

/** The route label of a request once answered: the path of the route that matched, "other" when none did. */
function routeLabel(req: Request): string {
  // Express types `req.route` as any; it is set only when a route (not middleware) matched.
  const route: unknown = req.route;
  if (typeof route !== "object" || route === null || !("path" in route)) return "other";
  // An error leaving a router restores the parent's baseUrl (none at the top), so it may be unset by now.
  const base: unknown = req.baseUrl;
  return `${typeof base === "string" ? base : ""}${String(route.path)}`;
}

/** Builds the app; later routes (reverify, upstream views) mount on the same app. No I/O until listened. */
export function createOpsApp(deps: OpsDeps): Express {
  const app = express();
  app.disable("x-powered-by");
  const counter = deps.httpRequests;
  if (counter !== undefined) {
    // First in the chain, so routes mounted later are counted too. "finish" is the response fully
    // handed to the OS; a request the client abandons mid-answer is not counted.
    app.use((req, res, next) => {
      res.once("finish", () => counter.inc({ route: routeLabel(req), code: String(res.statusCode) }));
      next();
    });
  }
  app.get("/healthz", (_req, res) => {
    res.json({ status: "ok" });
  });
  app.get("/readyz", (_req, res) => {
    const ready = deps.ready();
    res.status(ready ? 200 : 503).json({ status: ready ? "ready" : "syncing" });
  });
  app.get("/metrics", (_req, res, next) => {
    deps.renderMetrics().then(
      (text) => {
        res.type(deps.metricsContentType).send(text);
      },
      (err: unknown) => next(err),
    );
  });
  return app;
}

/** Listens on host:port (0 picks a free port). I/O. */
export async function listenOps(app: Express, host: string, port: number): Promise<{ server: Server; url: string; close(): Promise<void> }> {
  const server = await new Promise<Server>((resolve, reject) => {
    const s = app.listen(port, host, (err?: Error) => (err ? reject(err) : resolve(s)));
  });
  const address = server.address() as AddressInfo;
  return {
    server,
    url: `http://${host.includes(":") ? `[${host}]` : host}:${address.port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
