// Picks the configured API authentication method (kubernetes, token-file, none) and builds it from the broker's settings.
import type { KubeConfig } from "@kubernetes/client-node";
import type { Logger } from "pino";
import type { Clock } from "../../runtime/clock.js";
import { createAnonymousAuth } from "./anonymous-auth.js";
import type { ApiAuth } from "./api-auth.js";
import { createKubeAuth } from "./kube-auth.js";
import { createTokenFileAuth } from "./token-file-auth.js";

export interface ApiAuthSettings {
  auth: "kubernetes" | "token-file" | "none";
  /** Required for token-file. */
  tokenFile?: string | undefined;
  tokenAudiences: readonly string[];
  authCacheMs: number;
}

export interface ApiAuthDeps {
  /** The broker's own credentials (used by kubernetes only). */
  kubeConfig: KubeConfig;
  clock: Clock;
  requestTimeoutMs: number;
  logger?: Pick<Logger, "warn" | "info">;
}

/**
 * The ApiAuth for `settings.auth`. Only token-file does I/O here (it reads its file): rejects with
 * an Error naming the file (and line) when it is unreadable or malformed, or when no tokenFile is set.
 */
export async function createApiAuth(settings: ApiAuthSettings, deps: ApiAuthDeps): Promise<ApiAuth> {
  switch (settings.auth) {
    case "kubernetes":
      return createKubeAuth({
        kubeConfig: deps.kubeConfig,
        audiences: settings.tokenAudiences,
        cacheMs: settings.authCacheMs,
        clock: deps.clock,
        requestTimeoutMs: deps.requestTimeoutMs,
      });
    case "token-file": {
      if (settings.tokenFile === undefined || settings.tokenFile === "") throw new Error("http.auth token-file needs http.tokenFile");
      return createTokenFileAuth({ path: settings.tokenFile, clock: deps.clock, ...(deps.logger !== undefined ? { logger: deps.logger } : {}) });
    }
    case "none":
      return createAnonymousAuth();
    default: {
      const unknown: never = settings.auth;
      throw new Error(`unknown http.auth method ${String(unknown)}`);
    }
  }
}
