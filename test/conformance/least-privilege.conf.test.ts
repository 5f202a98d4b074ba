// The least-privilege scenarios (test/support/least-privilege-scenarios.ts) on a real kube-apiserver as the broker's service account; each probe's outcome goes to /tmp/rbac-probes.txt.
import { describeLeastPrivilege } from "../support/least-privilege-scenarios.js";

// Skipped (not failed) when the real servers are not built: bash test/conformance/servers/build.sh.
describeLeastPrivilege("real", "/tmp/rbac-probes.txt");
