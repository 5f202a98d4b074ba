// The shared end-to-end scenarios on the sandbox's Kubernetes emulator (the same code runs on a real kube-apiserver in test/conformance/).
import { describeClusterScenarios } from "../support/cluster-scenarios.js";

describeClusterScenarios("sandbox");
