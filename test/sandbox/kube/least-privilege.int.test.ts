// The least-privilege scenarios (test/support/least-privilege-scenarios.ts) on the sandbox's emulator, which enforces rbac.yaml; test/conformance/least-privilege.conf.test.ts runs them on a real kube-apiserver.
import { describeLeastPrivilege } from "../../support/least-privilege-scenarios.js";

// RBAC_PROBES_FILE=<path> keeps the table of probes and outcomes.
describeLeastPrivilege("sandbox", process.env["RBAC_PROBES_FILE"]);
