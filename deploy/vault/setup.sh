#!/usr/bin/env bash
# Configures a Vault for credbroker: KV v2 for Gloo's secrets, Kubernetes auth, the broker's policy and role.
# Idempotent: run it again to change a setting (a TTL, the audience, the Kubernetes CA); nothing it has
# made is deleted, and an existing mount of another kind is reported, never replaced.
#
# Talks to Vault through the `vault` CLI, which reads VAULT_ADDR and VAULT_TOKEN (and VAULT_CACERT,
# VAULT_NAMESPACE, ...) from the environment. The token needs to manage mounts, auth methods, policies
# and roles (root, or an operator policy with sys/mounts, sys/auth, sys/policies/acl and auth/<mount>/*).
#
# Settings: environment variables, or the same as --flags (`--token-ttl 5m` sets TOKEN_TTL).
#   VAULT_ADDR, VAULT_TOKEN       required: where Vault is, and an operator token
#   VAULT_BIN                     the vault CLI (default: `vault` on PATH)
#   KUBERNETES_HOST               required: the Kubernetes API as Vault reaches it, e.g. https://kubernetes.default.svc
#   KUBERNETES_CA_CERT            PEM file of the CA that signs the API server's certificate (default: none;
#                                 a Vault running in a pod then uses its own service-account CA)
#   TOKEN_REVIEWER_JWT_FILE       file holding a JWT Vault sends as the TokenReview caller (its service account
#                                 needs the system:auth-delegator ClusterRole); default none: a Vault in a pod
#                                 uses its own token, else Vault reviews each login JWT with the JWT itself
#   DISABLE_LOCAL_CA_JWT          true when Vault does not run in a pod of this cluster (default false)
#   AUTH_MOUNT                    path of the Kubernetes auth method (default kubernetes; broker setting vault.authMount)
#   KV_MOUNT                      KV v2 mount holding Gloo's secrets (default secret; broker setting vault.kvMount)
#   POLICY_NAME                   name of the broker's policy (default credbroker)
#   POLICY_FILE                   the policy (default: policies/credbroker.hcl of this repository)
#   ROLE_NAME                     the Kubernetes auth role (default credbroker; broker setting vault.role)
#   SERVICE_ACCOUNT               the broker's service account name (default credbroker)
#   SERVICE_ACCOUNT_NAMESPACE     and its namespace (default gloo-system)
#   AUDIENCE                      audience the broker's projected token must carry (default: none, any
#                                 audience the API server accepts; recommended: vault)
#   TOKEN_TTL                     TTL of the broker's Vault token (default 1h); the broker renews at ~2/3 of it
#   TOKEN_MAX_TTL                 its max TTL (default 24h); the broker logs in again before it
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"

usage() {
  sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'
  exit "${1:-0}"
}

while [ $# -gt 0 ]; do
  case "$1" in
    -h | --help) usage 0 ;;
    --*=*) name="${1%%=*}"; value="${1#*=}"; shift ;;
    --*)
      [ $# -ge 2 ] || { echo "setup.sh: $1 needs a value" >&2; exit 2; }
      name="$1"; value="$2"; shift 2 ;;
    *) echo "setup.sh: unexpected argument $1 (see --help)" >&2; exit 2 ;;
  esac
  var="$(echo "${name#--}" | tr 'a-z-' 'A-Z_')"
  case "$var" in
    VAULT_BIN | KUBERNETES_HOST | KUBERNETES_CA_CERT | TOKEN_REVIEWER_JWT_FILE | DISABLE_LOCAL_CA_JWT | AUTH_MOUNT | KV_MOUNT | \
      POLICY_NAME | POLICY_FILE | ROLE_NAME | SERVICE_ACCOUNT | SERVICE_ACCOUNT_NAMESPACE | AUDIENCE | TOKEN_TTL | TOKEN_MAX_TTL)
      printf -v "$var" '%s' "$value"; export "${var?}" ;;
    *) echo "setup.sh: unknown option $name (see --help)" >&2; exit 2 ;;
  esac
done

VAULT_BIN="${VAULT_BIN:-vault}"
AUTH_MOUNT="${AUTH_MOUNT:-kubernetes}"
KV_MOUNT="${KV_MOUNT:-secret}"
POLICY_NAME="${POLICY_NAME:-credbroker}"
POLICY_FILE="${POLICY_FILE:-$(cd "$here/../.." && pwd)/policies/credbroker.hcl}"
ROLE_NAME="${ROLE_NAME:-credbroker}"
SERVICE_ACCOUNT="${SERVICE_ACCOUNT:-credbroker}"
SERVICE_ACCOUNT_NAMESPACE="${SERVICE_ACCOUNT_NAMESPACE:-gloo-system}"
AUDIENCE="${AUDIENCE:-}"
TOKEN_TTL="${TOKEN_TTL:-1h}"
TOKEN_MAX_TTL="${TOKEN_MAX_TTL:-24h}"
DISABLE_LOCAL_CA_JWT="${DISABLE_LOCAL_CA_JWT:-false}"
KUBERNETES_CA_CERT="${KUBERNETES_CA_CERT:-}"
TOKEN_REVIEWER_JWT_FILE="${TOKEN_REVIEWER_JWT_FILE:-}"

fail() {
  echo "setup.sh: $*" >&2
  exit 1
}

[ -n "${VAULT_ADDR:-}" ] || fail "VAULT_ADDR is not set"
[ -n "${VAULT_TOKEN:-}" ] || fail "VAULT_TOKEN is not set"
[ -n "${KUBERNETES_HOST:-}" ] || fail "KUBERNETES_HOST is not set (the Kubernetes API as Vault reaches it)"
command -v "$VAULT_BIN" >/dev/null || fail "the vault CLI ($VAULT_BIN) is not on PATH (set VAULT_BIN)"
[ -r "$POLICY_FILE" ] || fail "cannot read the policy file $POLICY_FILE"
[ -z "$KUBERNETES_CA_CERT" ] || [ -r "$KUBERNETES_CA_CERT" ] || fail "cannot read KUBERNETES_CA_CERT $KUBERNETES_CA_CERT"
[ -z "$TOKEN_REVIEWER_JWT_FILE" ] || [ -r "$TOKEN_REVIEWER_JWT_FILE" ] || fail "cannot read TOKEN_REVIEWER_JWT_FILE $TOKEN_REVIEWER_JWT_FILE"
case "$DISABLE_LOCAL_CA_JWT" in true | false) ;; *) fail "DISABLE_LOCAL_CA_JWT must be true or false" ;; esac

v() { "$VAULT_BIN" "$@"; }
say() { echo "setup.sh: $*"; }

# 1. KV v2 at KV_MOUNT: enabled when absent; an existing KV v2 mount is kept; anything else is an error
#    (upgrading a KV v1 mount rewrites its data layout: an operator's decision, not this script's).
if mount="$(v read -format=json "sys/mounts/$KV_MOUNT" 2>/dev/null)"; then
  echo "$mount" | grep -q '"type": *"kv"' || fail "$KV_MOUNT/ is mounted, but not as a KV secrets engine"
  echo "$mount" | grep -q '"version": *"2"' || fail "$KV_MOUNT/ is KV version 1; credbroker's default layout needs KV v2 (or set the broker's vault.kvVersion: 1)"
  say "KV v2 already at $KV_MOUNT/"
else
  v secrets enable -path="$KV_MOUNT" -version=2 kv >/dev/null
  say "enabled KV v2 at $KV_MOUNT/"
fi

# 2. Kubernetes auth at AUTH_MOUNT.
if auth="$(v read -format=json "sys/auth/$AUTH_MOUNT" 2>/dev/null)"; then
  echo "$auth" | grep -q '"type": *"kubernetes"' || fail "auth/$AUTH_MOUNT/ is enabled, but not as a kubernetes auth method"
  say "kubernetes auth already at auth/$AUTH_MOUNT/"
else
  v auth enable -path="$AUTH_MOUNT" kubernetes >/dev/null
  say "enabled kubernetes auth at auth/$AUTH_MOUNT/"
fi

# 3. How Vault reaches the Kubernetes API for TokenReview (written whole every time).
config=("kubernetes_host=$KUBERNETES_HOST" "disable_local_ca_jwt=$DISABLE_LOCAL_CA_JWT")
[ -z "$KUBERNETES_CA_CERT" ] || config+=("kubernetes_ca_cert=@$KUBERNETES_CA_CERT")
[ -z "$TOKEN_REVIEWER_JWT_FILE" ] || config+=("token_reviewer_jwt=@$TOKEN_REVIEWER_JWT_FILE")
v write "auth/$AUTH_MOUNT/config" "${config[@]}" >/dev/null
say "wrote auth/$AUTH_MOUNT/config (kubernetes_host=$KUBERNETES_HOST)"

# 4. The broker's policy.
v policy write "$POLICY_NAME" "$POLICY_FILE" >/dev/null
say "wrote policy $POLICY_NAME from $POLICY_FILE"

# 5. The role, bound to the broker's service account (and audience), granting only that policy: not
#    even Vault's "default" policy, whose grants the broker does not use (the three it does are in
#    the broker's policy).
role=(
  "bound_service_account_names=$SERVICE_ACCOUNT"
  "bound_service_account_namespaces=$SERVICE_ACCOUNT_NAMESPACE"
  "token_policies=$POLICY_NAME"
  "token_no_default_policy=true"
  "token_ttl=$TOKEN_TTL"
  "token_max_ttl=$TOKEN_MAX_TTL"
  # Always written: on an existing role an omitted field keeps its old value, so an empty one clears it.
  "audience=$AUDIENCE"
)
v write "auth/$AUTH_MOUNT/role/$ROLE_NAME" "${role[@]}" >/dev/null
say "wrote role auth/$AUTH_MOUNT/role/$ROLE_NAME for $SERVICE_ACCOUNT_NAMESPACE/$SERVICE_ACCOUNT (policy $POLICY_NAME only, token_ttl=$TOKEN_TTL, token_max_ttl=$TOKEN_MAX_TTL${AUDIENCE:+, audience=$AUDIENCE})"
