#!/usr/bin/env bash
# Independent-client check of the AWS emulator: the aws CLI signs with botocore's own SigV4, so
# it proves the emulator's verifier against an implementation that is not the one in our tests.
#
# Usage: AWS_ACCESS_KEY_ID=... AWS_SECRET_ACCESS_KEY=... \
#   scripts/check-aws-cli.sh --endpoint-url http://127.0.0.1:PORT --account 123456789012 \
#     [--region us-east-1] [--functions name1,name2,...]
#
# Checks, in order (each failure is one line on stderr; exit status is the number of failures):
#   1. `aws sts get-caller-identity` with the given keys succeeds and reports --account;
#   2. the same with a wrong secret fails with SignatureDoesNotMatch;
#   3. `aws lambda list-functions --region R` (the CLI follows NextMarker itself) lists exactly --functions.
# Credentials come from the environment, never from arguments, so they do not show in `ps`.
set -uo pipefail

endpoint="${AWS_ENDPOINT_URL:-}"
account=""
region="us-east-1"
functions=""
check_functions=0

while [ $# -gt 0 ]; do
  case "$1" in
    --endpoint-url) endpoint="${2:-}"; shift 2 ;;
    --account) account="${2:-}"; shift 2 ;;
    --region) region="${2:-}"; shift 2 ;;
    --functions) functions="${2:-}"; check_functions=1; shift 2 ;;
    -h|--help) sed -n '2,14p' "$0"; exit 0 ;;
    *) echo "check-aws-cli: unknown argument: $1" >&2; exit 64 ;;
  esac
done

if [ -z "$endpoint" ] || [ -z "$account" ]; then
  echo "check-aws-cli: --endpoint-url and --account are required" >&2
  exit 64
fi
if [ -z "${AWS_ACCESS_KEY_ID:-}" ] || [ -z "${AWS_SECRET_ACCESS_KEY:-}" ]; then
  echo "check-aws-cli: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY must be set" >&2
  exit 64
fi
if ! command -v aws >/dev/null 2>&1; then
  echo "check-aws-cli: the aws CLI is not on PATH" >&2
  exit 69
fi

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

# Isolate the CLI from whatever profile, config or endpoint override the machine has.
export AWS_CONFIG_FILE="$tmp/config" AWS_SHARED_CREDENTIALS_FILE="$tmp/credentials"
export AWS_EC2_METADATA_DISABLED=true AWS_PAGER="" AWS_RETRY_MODE=standard AWS_MAX_ATTEMPTS=3
unset AWS_PROFILE AWS_DEFAULT_PROFILE AWS_SESSION_TOKEN AWS_SECURITY_TOKEN AWS_ENDPOINT_URL AWS_ENDPOINT_URL_STS AWS_ENDPOINT_URL_LAMBDA AWS_CA_BUNDLE
key="$AWS_ACCESS_KEY_ID"
secret="$AWS_SECRET_ACCESS_KEY"
failures=0
fail() {
  echo "check-aws-cli: FAIL: $*" >&2
  failures=$((failures + 1))
}

# 1. The right secret authenticates and names the expected account.
if got="$(AWS_ACCESS_KEY_ID="$key" AWS_SECRET_ACCESS_KEY="$secret" aws --endpoint-url "$endpoint" --region "$region" \
  sts get-caller-identity --query Account --output text 2>"$tmp/err")"; then
  if [ "$got" != "$account" ]; then fail "sts get-caller-identity reported account '$got', expected '$account'"; fi
else
  fail "sts get-caller-identity with the right secret failed: $(tail -n 2 "$tmp/err" | tr '\n' ' ')"
fi

# 2. A wrong secret is refused with SignatureDoesNotMatch (not with some other error).
if AWS_ACCESS_KEY_ID="$key" AWS_SECRET_ACCESS_KEY="not-the-secret-${RANDOM}" aws --endpoint-url "$endpoint" --region "$region" \
  sts get-caller-identity --output text >/dev/null 2>"$tmp/err"; then
  fail "sts get-caller-identity with a wrong secret succeeded"
elif ! grep -q "SignatureDoesNotMatch" "$tmp/err"; then
  fail "sts get-caller-identity with a wrong secret failed without SignatureDoesNotMatch: $(tail -n 2 "$tmp/err" | tr '\n' ' ')"
fi

# 3. Lambda lists exactly the expected functions (order-insensitive).
if [ "$check_functions" -eq 1 ]; then
  if AWS_ACCESS_KEY_ID="$key" AWS_SECRET_ACCESS_KEY="$secret" aws --endpoint-url "$endpoint" --region "$region" \
    lambda list-functions --query 'Functions[].FunctionName' --output text >"$tmp/listed" 2>"$tmp/err"; then
    tr -s '\t ' '\n\n' <"$tmp/listed" | sed '/^$/d; /^None$/d' | sort >"$tmp/got"
    printf '%s' "$functions" | tr ',' '\n' | sed '/^$/d' | sort >"$tmp/want"
    if ! diff -q "$tmp/want" "$tmp/got" >/dev/null; then
      fail "lambda list-functions in $region listed $(wc -l <"$tmp/got") functions, expected $(wc -l <"$tmp/want"); first differences: $(diff "$tmp/want" "$tmp/got" | grep '^[<>]' | head -n 3 | tr '\n' ' ')"
    fi
  else
    fail "lambda list-functions in $region failed: $(tail -n 2 "$tmp/err" | tr '\n' ' ')"
  fi
fi

if [ "$failures" -eq 0 ]; then
  checked="sts get-caller-identity, wrong secret refused"
  if [ "$check_functions" -eq 1 ]; then checked="$checked, lambda list-functions"; fi
  echo "check-aws-cli: ok ($checked)"
fi
exit "$failures"
