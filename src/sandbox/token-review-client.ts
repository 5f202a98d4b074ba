// Lets the Vault emulator check service-account JWTs the way Vault does: a TokenReview call to the Kubernetes API.
import { request } from "node:https";
import type { TokenReviewer } from "./vault/index.js";

export interface KubeEndpoint {
  url: string;
  /** PEM of the API server's certificate (the emulator's self-signed one). */
  caPem?: string | undefined;
  /** Bearer token allowed to create TokenReviews (Vault's "token reviewer JWT"). */
  token: string;
}

/** A TokenReviewer that POSTs `authentication.k8s.io/v1` TokenReviews over HTTPS. I/O; never throws for a rejected token. */
export function createTokenReviewClient(endpoint: KubeEndpoint): TokenReviewer {
  return (jwt) =>
    new Promise((resolve, reject) => {
      const body = JSON.stringify({ apiVersion: "authentication.k8s.io/v1", kind: "TokenReview", spec: { token: jwt } });
      const url = new URL("/apis/authentication.k8s.io/v1/tokenreviews", endpoint.url);
      const req = request(
        url,
        {
          method: "POST",
          ...(endpoint.caPem !== undefined ? { ca: endpoint.caPem } : {}),
          headers: { authorization: `Bearer ${endpoint.token}`, "content-type": "application/json", "content-length": Buffer.byteLength(body) },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (c: Buffer) => chunks.push(c));
          res.on("end", () => {
            try {
              const review = JSON.parse(Buffer.concat(chunks).toString("utf8")) as {
                status?: { authenticated?: boolean; user?: { username?: string; uid?: string; groups?: string[] } };
              };
              if ((res.statusCode ?? 500) >= 300) {
                reject(new Error(`TokenReview answered HTTP ${res.statusCode ?? 0}`));
                return;
              }
              const user = review.status?.user ?? {};
              resolve({
                authenticated: review.status?.authenticated === true,
                ...(user.username !== undefined ? { username: user.username } : {}),
                ...(user.uid !== undefined ? { uid: user.uid } : {}),
                ...(user.groups !== undefined ? { groups: user.groups } : {}),
              });
            } catch (err) {
              reject(err instanceof Error ? err : new Error("TokenReview answer unreadable"));
            }
          });
        },
      );
      req.on("error", reject);
      req.end(body);
    });
}
