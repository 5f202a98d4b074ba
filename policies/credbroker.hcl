# credbroker's Vault policy: read-only access to Gloo's secret layout in the KV v2 mount "secret",
# and nothing else. Token lookup, renewal and revocation of its own token come from Vault's
# built-in "default" policy, which every token carries.
#
# If the broker is configured with another mount or root key (settings vault.kvMount / vault.rootKey),
# change the first two path segments accordingly.

# The secrets themselves: secret/data/gloo/gloo.solo.io/v1/Secret/<namespace>/<name>
path "secret/data/gloo/gloo.solo.io/v1/Secret/*" {
  capabilities = ["read", "list"]
}

# Their metadata (versions, deletion_time), and listing for diagnostics.
path "secret/metadata/gloo/gloo.solo.io/v1/Secret/*" {
  capabilities = ["read", "list"]
}
