import { once } from "node:events";
import { createServer, request, type Agent as HttpsAgent, type Server } from "node:https";
import type { AddressInfo } from "node:net";
import tls from "node:tls";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { trustedHttpsAgent } from "../../../src/cloud/shared/tls.js";
import { createCertificateAuthority, issueServerCertificate } from "../../../src/sandbox/common/certificates.js";

/** GET / through `agent` on a fresh connection (the server closes each one); the status, or the TLS error's code. */
function get(agent: HttpsAgent, port: number): Promise<number | string> {
  return new Promise((resolve) => {
    const req = request({ host: "127.0.0.1", port, path: "/", agent }, (res) => {
      res.resume();
      res.on("end", () => resolve(res.statusCode ?? 0));
    });
    req.on("error", (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
    req.end();
  });
}

describe("trustedHttpsAgent", () => {
  const ca = createCertificateAuthority("credbroker test CA");
  const serving = issueServerCertificate(ca, ["127.0.0.1"]);
  let server: Server;
  let port: number;
  const agents: HttpsAgent[] = [];
  beforeAll(async () => {
    server = createServer({ key: serving.privateKeyPem, cert: serving.certificatePem }, (_req, res) => {
      res.setHeader("connection", "close");
      res.end("ok");
    });
    server.listen(0, "127.0.0.1");
    await once(server, "listening");
    port = (server.address() as AddressInfo).port;
  });
  afterEach(() => {
    vi.restoreAllMocks();
    for (const a of agents.splice(0)) a.destroy();
  });
  afterAll(async () => {
    server.close();
    await once(server, "close");
  });

  it("parses the CA bundle once, however many connections it opens", async () => {
    const bundle = [...tls.rootCertificates, ca.certificatePem];
    const agent = trustedHttpsAgent(bundle);
    agents.push(agent);
    const contexts = vi.spyOn(tls, "createSecureContext");
    const answers: (number | string)[] = [];
    for (let i = 0; i < 5; i++) answers.push(await get(agent, port));
    expect(answers).toEqual([200, 200, 200, 200, 200]);
    expect(contexts).not.toHaveBeenCalled();
  });

  it("still verifies the server: without the extra CA the same server is refused", async () => {
    const agent = trustedHttpsAgent([...tls.rootCertificates]);
    agents.push(agent);
    const defaults = trustedHttpsAgent(undefined);
    agents.push(defaults);
    expect(await get(agent, port)).toBe("UNABLE_TO_VERIFY_LEAF_SIGNATURE");
    expect(await get(defaults, port)).toBe("UNABLE_TO_VERIFY_LEAF_SIGNATURE");
  });
});
