// One express app per listening port: the operational endpoints, the API and its OpenAPI document, then JSON 404s and the error handler that never leaks.
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import express, { type Express, type Request } from "express";
import type { CounterLike } from "../runtime/telemetry.js";
import { errorHandler, methodNotAllowed, notFound } from "./api-errors.js";
import { apiRouter, type ApiDeps } from "./api-routes.js";
import { opsRouter, type OpsDeps } from "./ops-server.js";
import openApiDocument from "./openapi.json" with { type: "json" };

export interface HttpAppParts {
  /** Serve /healthz, /readyz, /metrics. */
  ops?: OpsDeps;
  /** Serve /v1/reverify, /v1/upstreams and /v1/openapi.json. */
  api?: ApiDeps;
  /** `credbroker_http_requests_total{route, code}`. */
  httpRequests?: CounterLike;
  /** An error no route expected: logged by the caller, answered as a bare 500. */
  onUnexpected?: (err: unknown) => void;
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

/** The OpenAPI 3.1 document of the API, as checked in (src/http/openapi.json). */
export const OPENAPI_DOCUMENT: unknown = openApiDocument;

/** Builds the app for one port. No I/O until listened. */
export function createHttpApp(parts: HttpAppParts): Express {
  const app = express();
  app.disable("x-powered-by");
  app.set("etag", false);
  const counter = parts.httpRequests;
  if (counter !== undefined) {
    // First in the chain, so every route is counted. "finish" is the response fully handed to the
    // OS; a request the client abandons mid-answer is not counted.
    app.use((req, res, next) => {
      res.once("finish", () => counter.inc({ route: routeLabel(req), code: String(res.statusCode) }));
      next();
    });
  }
  app.use((_req, res, next) => {
    res.setHeader("Cache-Control", "no-store");
    res.setHeader("X-Content-Type-Options", "nosniff");
    next();
  });
  if (parts.ops !== undefined) app.use(opsRouter(parts.ops));
  if (parts.api !== undefined) {
    app
      .route("/v1/openapi.json")
      .get((_req, res) => {
        res.json(openApiDocument);
      })
      .all(methodNotAllowed(["GET"]));
    app.use(apiRouter(parts.api));
  }
  app.use(notFound);
  app.use(errorHandler(parts.onUnexpected ?? (() => undefined)));
  return app;
}

/** The operational endpoints alone (tests, and a replica with a separate ops port). */
export function createOpsApp(deps: OpsDeps): Express {
  return createHttpApp({ ops: deps, ...(deps.httpRequests !== undefined ? { httpRequests: deps.httpRequests } : {}) });
}

export interface Listening {
  server: Server;
  url: string;
  close(): Promise<void>;
}

/** Listens on host:port (0 picks a free port). I/O. */
export async function listenHttp(app: Express, host: string, port: number): Promise<Listening> {
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
