# credbroker's Vault policy: exactly what the broker does, nothing more, and all of it: the role
# deploy/vault/setup.sh writes sets token_no_default_policy, so the broker's token carries this
# policy alone and none of Vault's built-in "default" (cubbyhole, sys/tools, sys/leases, ...).
# test/conformance/vault/least-privilege.conf.test.ts removes each rule in turn on a real Vault and
# shows what breaks without it.
#
# With another mount or root key (settings vault.kvMount / vault.rootKey), change the first path
# segments; with KV v1 there is no "data/" segment; with vault.pathTemplate, grant read on the
# template's paths.

# One Gloo secret at a time from the KV v2 mount "secret": a read of data/ carries the version and
# deletion_time the broker needs, so metadata/ is never read, and it never lists.
path "secret/data/gloo/gloo.solo.io/v1/Secret/*" {
  capabilities = ["read"]
}

# After a refused read: is the token dead (log in again) or is the path denied (BrokerNotAuthorized)?
path "auth/token/lookup-self" {
  capabilities = ["read"]
}

# Extends the token at ~2/3 of its TTL instead of a new login (and a TokenReview) each time.
path "auth/token/renew-self" {
  capabilities = ["update"]
}

# On shutdown, and for a token a new login replaced, so no live token outlasts its broker.
path "auth/token/revoke-self" {
  capabilities = ["update"]
}
