// API access without a token (auth none): accepted only from a loopback peer, the second line of defence behind the config's own check.
import { BlockList, isIP } from "node:net";
import type { ApiAuth, Authentication, Authorization } from "./api-auth.js";

/**
 * The none method. `authenticate` accepts any request (a token, if sent, is ignored) whose peer is
 * a loopback address (127.0.0.0/8, ::1, ::ffff:127.x.x.x) and refuses every other or unparsable
 * peer; `authorize` allows everything. No I/O; never throws.
 */
export function createAnonymousAuth(): ApiAuth {
  const loopback = new BlockList();
  loopback.addSubnet("127.0.0.0", 8, "ipv4");
  loopback.addAddress("::1", "ipv6");
  const isLoopback = (peer: string): boolean => {
    const family = isIP(peer);
    // BlockList matches an IPv4-mapped IPv6 address against the IPv4 rules.
    return family !== 0 && loopback.check(peer, family === 4 ? "ipv4" : "ipv6");
  };
  return {
    authenticate(_token, peer): Promise<Authentication> {
      if (!isLoopback(peer)) return Promise.resolve({ ok: false, message: "anonymous access is only allowed from a loopback address" });
      return Promise.resolve({ ok: true, caller: { id: `anonymous:${peer}`, display: "anonymous" } });
    },
    authorize(): Promise<Authorization> {
      return Promise.resolve({ allowed: true });
    },
  };
}
