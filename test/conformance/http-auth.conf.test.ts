// The kubernetes API auth scenarios on a real kube-apiserver; importing them also runs them on the sandbox in this same file, so a difference shows side by side.
import { describeKubeAuthScenarios } from "../http/auth/kube-auth.int.test.js";

// Skipped (not failed) when the real servers are not built: bash test/conformance/servers/build.sh.
describeKubeAuthScenarios("real");
