// Shard spreading on a real kube-apiserver and etcd (the same scenarios run on the sandbox in test/runtime/leader/).
import { describeShardSpreadScenarios } from "../support/shard-spread-scenarios.js";

describeShardSpreadScenarios("real");
