# credbroker's Vault policy: exactly what the broker does, nothing more. It reads one Gloo secret at
# a time from the KV v2 mount "secret" (secret/data/gloo/gloo.solo.io/v1/Secret/<namespace>/<name>):
# a read of data/ carries the version and deletion_time it needs, so metadata/ is never read, and it
# never lists. Looking up, renewing and revoking its own token come from Vault's built-in "default"
# policy, which every token carries.
#
# With another mount or root key (settings vault.kvMount / vault.rootKey), change the first path
# segments; with KV v1 there is no "data/" segment; with vault.pathTemplate, grant read on the
# template's paths.

path "secret/data/gloo/gloo.solo.io/v1/Secret/*" {
  capabilities = ["read"]
}
