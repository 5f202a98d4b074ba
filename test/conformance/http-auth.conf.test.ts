// The kubernetes API auth scenarios (test/support/kube-auth-scenarios.ts) on a real kube-apiserver; test/http/auth/kube-auth.int.test.ts runs them on the sandbox.
import { describeKubeAuthScenarios } from "../support/kube-auth-scenarios.js";

// Skipped (not failed) when the real servers are not built: bash test/conformance/servers/build.sh.
describeKubeAuthScenarios("real");
