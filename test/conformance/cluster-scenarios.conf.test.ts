// The shared end-to-end scenarios on a real kube-apiserver and etcd (the same code runs on the sandbox in test/controller/).
import { describeClusterScenarios } from "../support/cluster-scenarios.js";

describeClusterScenarios("real");
