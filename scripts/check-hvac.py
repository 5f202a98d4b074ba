#!/usr/bin/env python3
"""Independent-client check of the Vault emulator: drives it with Python's hvac and exits non-zero on any mismatch.

Environment:
  VAULT_ADDR       emulator address (required)
  VAULT_TOKEN      a root token (required)
  VAULT_K8S_JWT    optional: a service-account JWT the emulator's TokenReview accepts
  VAULT_K8S_ROLE   kubernetes role for that JWT (default "credbroker")
  VAULT_K8S_MOUNT  kubernetes auth mount (default "kubernetes")
  VAULT_K8S_READ   optional: a KV v2 path under "secret" the kubernetes token may read

Secret values are never printed; failures name the check only.
"""
import os
import sys
import warnings

import hvac
import hvac.exceptions

warnings.simplefilter("ignore", DeprecationWarning)
failures = []


def check(name, condition):
    print(("ok   " if condition else "FAIL ") + name)
    if not condition:
        failures.append(name)


def expect_raises(name, exception, fn):
    try:
        fn()
    except exception:
        check(name, True)
        return
    except Exception as err:  # noqa: BLE001 - report the unexpected type, not its message
        check(f"{name} (raised {type(err).__name__})", False)
        return
    check(f"{name} (no error)", False)


def main():
    addr = os.environ["VAULT_ADDR"]
    root = hvac.Client(url=addr, token=os.environ["VAULT_TOKEN"])

    health = root.sys.read_health_status(method="GET")
    check("health: initialized and unsealed", isinstance(health, dict) and health.get("initialized") is True and health.get("sealed") is False)
    check("seal status: unsealed", root.sys.read_seal_status().get("sealed") is False)
    check("root token authenticates", root.is_authenticated())

    kv = root.secrets.kv.v2
    written = kv.create_or_update_secret(path="hvac-check/app", secret={"user": "u", "pass": "p1"}, mount_point="secret")
    check("kv v2 write returns version 1", written["data"]["version"] == 1)
    kv.create_or_update_secret(path="hvac-check/app", secret={"user": "u", "pass": "p2"}, mount_point="secret")
    latest = kv.read_secret_version(path="hvac-check/app", mount_point="secret", raise_on_deleted_version=True)
    check("kv v2 read latest", latest["data"]["data"] == {"user": "u", "pass": "p2"} and latest["data"]["metadata"]["version"] == 2)
    first = kv.read_secret_version(path="hvac-check/app", version=1, mount_point="secret", raise_on_deleted_version=True)
    check("kv v2 read version 1", first["data"]["data"]["pass"] == "p1")
    check("kv v2 list", kv.list_secrets(path="hvac-check", mount_point="secret")["data"]["keys"] == ["app"])

    kv.delete_latest_version_of_secret(path="hvac-check/app", mount_point="secret")
    deleted = kv.read_secret_version(path="hvac-check/app", mount_point="secret", raise_on_deleted_version=False)
    check("kv v2 deleted version reports deletion_time", deleted["data"]["data"] is None and deleted["data"]["metadata"]["deletion_time"] != "")
    expect_raises("kv v2 deleted version raises InvalidPath", hvac.exceptions.InvalidPath, lambda: kv.read_secret_version(path="hvac-check/app", mount_point="secret", raise_on_deleted_version=True))
    expect_raises("kv v2 missing secret raises InvalidPath", hvac.exceptions.InvalidPath, lambda: kv.read_secret_version(path="hvac-check/none", mount_point="secret", raise_on_deleted_version=True))

    limited = hvac.Client(url=addr, token=root.auth.token.create(policies=["default"], ttl="10m")["auth"]["client_token"])
    check("default-policy token looks itself up", limited.auth.token.lookup_self()["data"]["policies"] == ["default"])
    check("default-policy token renews itself", limited.auth.token.renew_self(increment="5m")["auth"]["lease_duration"] == 300)
    expect_raises("denied read raises Forbidden", hvac.exceptions.Forbidden, lambda: limited.secrets.kv.v2.read_secret_version(path="hvac-check/app", mount_point="secret", raise_on_deleted_version=True))
    limited.auth.token.revoke_self()
    expect_raises("revoked token raises Forbidden", hvac.exceptions.Forbidden, limited.auth.token.lookup_self)

    jwt = os.environ.get("VAULT_K8S_JWT")
    if jwt:
        k8s = hvac.Client(url=addr)
        login = k8s.auth.kubernetes.login(role=os.environ.get("VAULT_K8S_ROLE", "credbroker"), jwt=jwt, mount_point=os.environ.get("VAULT_K8S_MOUNT", "kubernetes"))
        check("kubernetes login issues a token", login["auth"]["client_token"].startswith("hvs.") and "default" in login["auth"]["policies"])
        check("kubernetes token authenticates", k8s.is_authenticated())
        allowed = os.environ.get("VAULT_K8S_READ")
        if allowed:
            got = k8s.secrets.kv.v2.read_secret_version(path=allowed, mount_point="secret", raise_on_deleted_version=True)
            check("kubernetes token reads its secret", isinstance(got["data"]["data"], dict))
        expect_raises("kubernetes token denied elsewhere raises Forbidden", hvac.exceptions.Forbidden, lambda: k8s.secrets.kv.v2.read_secret_version(path="hvac-check/app", mount_point="secret", raise_on_deleted_version=True))
        expect_raises("unknown role raises InvalidRequest", hvac.exceptions.InvalidRequest, lambda: hvac.Client(url=addr).auth.kubernetes.login(role="no-such-role", jwt=jwt))

    if failures:
        print(f"{len(failures)} check(s) failed", file=sys.stderr)
        return 1
    print("all hvac checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
