#!/usr/bin/env bash
# Cross-checks the Kubernetes emulator with an independent client: kubectl apply/get/patch/watch/delete
# of an Upstream and a Secret, exiting non-zero on the first mismatch.
#
# usage: scripts/check-kubectl.sh KUBECONFIG [NAMESPACE]
#
# --validate=false: the emulator serves no OpenAPI documents (/openapi/v2 and /openapi/v3 answer 404),
# and kubectl's client-side validation needs them; server-side pruning is what the check exercises.
set -euo pipefail

kubeconfig=${1:?usage: check-kubectl.sh KUBECONFIG [NAMESPACE]}
ns=${2:-default}
k() { kubectl --kubeconfig "$kubeconfig" --request-timeout=10s "$@"; }
fail() { echo "check-kubectl: FAIL: $*" >&2; exit 1; }
expect() { # expect <description> <actual> <wanted>
  [ "$2" = "$3" ] || fail "$1: got '$2', want '$3'"
  echo "ok - $1"
}

work=$(mktemp -d)
watch_pid=""
cleanup() {
  if [ -n "$watch_pid" ]; then kill "$watch_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

cat >"$work/objects.yaml" <<YAML
apiVersion: v1
kind: Secret
metadata:
  name: kubectl-check-creds
  namespace: $ns
stringData:
  aws_access_key_id: AKIAKUBECTLCHECK
  aws_secret_access_key: not-a-real-secret
---
apiVersion: gloo.solo.io/v1
kind: Upstream
metadata:
  name: kubectl-check
  namespace: $ns
  labels:
    check: kubectl
spec:
  aws:
    region: us-east-1
    secretRef:
      name: kubectl-check-creds
      namespace: $ns
    notInSchema: pruned
    lambdaFunctions:
      - logicalName: f
        lambdaFunctionName: f
        qualifier: \$LATEST
YAML

k version -o json >/dev/null || fail "kubectl version could not reach the server"
resources=$(k api-resources -o name) || fail "kubectl api-resources"
grep -qx 'upstreams.gloo.solo.io' <<<"$resources" || fail "discovery lacks upstreams.gloo.solo.io"
echo "ok - discovery lists upstreams.gloo.solo.io"

# leftovers of an earlier, failed run would skew generation checks
k delete -f "$work/objects.yaml" --ignore-not-found >/dev/null || fail "cleanup of earlier objects"

# apply (client-side, with the last-applied annotation), twice: the second is an update of existing objects
k apply --validate=false -f "$work/objects.yaml" >/dev/null || fail "first apply"
k apply --validate=false -f "$work/objects.yaml" >/dev/null || fail "second apply"

up() { k get upstreams.gloo.solo.io kubectl-check -n "$ns" -o "jsonpath=$1"; }
expect "upstream region" "$(up '{.spec.aws.region}')" "us-east-1"
expect "unknown spec field pruned" "$(up '{.spec.aws.notInSchema}')" ""
expect "lambda qualifier kept" "$(up '{.spec.aws.lambdaFunctions[0].qualifier}')" '$LATEST'
expect "generation starts at 1" "$(up '{.metadata.generation}')" "1"
[ -n "$(up '{.metadata.annotations.kubectl\.kubernetes\.io/last-applied-configuration}')" ] || fail "last-applied annotation missing"
echo "ok - last-applied annotation stored"
listed=$(k get upstreams -n "$ns" -o json) || fail "list -o json"
grep -q '"kubectl-check"' <<<"$listed" || fail "list -o json lacks the upstream"
echo "ok - list -o json"

key=$(k get secret kubectl-check-creds -n "$ns" -o 'jsonpath={.data.aws_access_key_id}' | base64 -d)
expect "secret stringData stored as data" "$key" "AKIAKUBECTLCHECK"
expect "secret type defaults to Opaque" "$(k get secret kubectl-check-creds -n "$ns" -o 'jsonpath={.type}')" "Opaque"

# merge patches: Gloo's Upstream has no status subresource, so a status write bumps generation as a
# spec write does (as on a real API server); a metadata-only write does not
k patch upstreams.gloo.solo.io kubectl-check -n "$ns" --type=merge -p '{"status":{"statuses":{"credbroker":{"state":"Accepted","reportedBy":"credbroker"}}}}' >/dev/null || fail "status merge patch"
expect "status written by merge patch" "$(up '{.status.statuses.credbroker.state}')" "Accepted"
expect "status patch bumps generation (no status subresource)" "$(up '{.metadata.generation}')" "2"
k label upstreams.gloo.solo.io kubectl-check -n "$ns" generation-check=yes >/dev/null || fail "label"
expect "label keeps generation" "$(up '{.metadata.generation}')" "2"
k patch upstreams.gloo.solo.io kubectl-check -n "$ns" --type=merge -p '{"spec":{"aws":{"region":"eu-west-1"}}}' >/dev/null || fail "spec merge patch"
expect "spec patch bumps generation" "$(up '{.metadata.generation}')" "3"
k patch upstreams.gloo.solo.io kubectl-check -n "$ns" --type=json -p '[{"op":"test","path":"/spec/aws/region","value":"eu-west-1"},{"op":"replace","path":"/spec/aws/region","value":"eu-central-1"}]' >/dev/null || fail "json patch"
expect "json patch applied" "$(up '{.spec.aws.region}')" "eu-central-1"
if k patch upstreams.gloo.solo.io kubectl-check -n "$ns" --type=json -p '[{"op":"test","path":"/spec/aws/region","value":"nope"}]' >/dev/null 2>&1; then fail "a failing json patch test op was accepted"; fi
echo "ok - failing json patch test op is refused"

# watch: start, wait for the ADDED event, change the object, wait for MODIFIED
k get upstreams.gloo.solo.io kubectl-check -n "$ns" --watch --output-watch-events -o json --request-timeout=20s >"$work/watch.out" 2>"$work/watch.err" &
watch_pid=$!
wait_for() { # wait_for <pattern> ; polls the watch output for up to 10 s
  for _ in $(seq 1 100); do
    grep -q "$1" "$work/watch.out" && return 0
    sleep 0.1
  done
  fail "watch never showed $1 (stderr: $(cat "$work/watch.err"))"
}
wait_for '"type": *"ADDED"'
echo "ok - watch shows ADDED"
k label upstreams.gloo.solo.io kubectl-check -n "$ns" checked=yes >/dev/null || fail "label"
wait_for '"type": *"MODIFIED"'
echo "ok - watch shows MODIFIED"
k delete upstreams.gloo.solo.io kubectl-check -n "$ns" >/dev/null || fail "delete upstream"
wait_for '"type": *"DELETED"'
echo "ok - watch shows DELETED"
kill "$watch_pid" 2>/dev/null || true
watch_pid=""

if k get upstreams.gloo.solo.io kubectl-check -n "$ns" >/dev/null 2>"$work/get.err"; then fail "upstream still exists after delete"; fi
grep -q 'NotFound\|not found' "$work/get.err" || fail "get after delete: $(cat "$work/get.err")"
echo "ok - get after delete is NotFound"
k delete -f "$work/objects.yaml" --ignore-not-found >/dev/null || fail "delete -f"
if k get secret kubectl-check-creds -n "$ns" >/dev/null 2>&1; then fail "secret still exists after delete -f"; fi
echo "ok - delete -f removed the secret"
echo "check-kubectl: all checks passed"
