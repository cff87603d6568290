#!/usr/bin/env bash
# Fine-tunes the sentence encoder on the train split and re-exports the committed files
# (core/moderation/classifier/encoder/) through export-encoder.sh, in the venv of encoder-venv.sh.
# One process, one thread, lowest priority: about 45 minutes on one core of the development
# machine. The split and class weights come from TypeScript (export-training-rows.ts), so the
# Python side cannot diverge from eval/hate-corpus.ts. Fails if the result's manifest differs from
# the committed one. Then `npm run train:moderation` retrains the head over the new embeddings.
# Arguments go to finetune-encoder.py (`--epochs 2`); the recorded settings say which were used.
# Not part of CI: `train:moderation -- --check` checks the committed encoder against the hashes
# this recipe recorded.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
work="${LIVEPULSE_FINETUNE_DIR:-$HOME/.cache/livepulse/finetune}"
export OMP_NUM_THREADS=1 MKL_NUM_THREADS=1
# shellcheck source=encoder-venv.sh
. "$here/encoder-venv.sh"

mkdir -p "$work/checkpoint"
(cd "$here/.." && nice -n 19 node --import tsx training/export-training-rows.ts "$work/rows.jsonl")
nice -n 19 "$venv/bin/python" "$here/finetune-encoder.py" --rows "$work/rows.jsonl" --out "$work/checkpoint" "$@"
"$here/export-encoder.sh" --weights "$work/checkpoint" --finetune-record "$work/checkpoint/finetune.json"
