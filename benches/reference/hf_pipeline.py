#!/usr/bin/env python3
"""Reference: Hugging Face transformers' token-classification pipeline (torch CPU, fp32) on the
same model folder and articles as `bench_corpus`; prints the same JSON figures.

    python benches/reference/hf_pipeline.py MODEL_DIR CORPUS_DIR --limit 300 --threads 2

Windows: the tokenizer's model_max_length (the model's training window) with `stride` a quarter
of it, so that nothing is truncated; aggregation "first"; batch 8.
"""
import argparse
import json
import os
import pathlib
import resource
import statistics
import time


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model")
    ap.add_argument("corpus")
    ap.add_argument("--limit", type=int, default=0)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--entities-out", help="write the entities as JSON Lines here")
    a = ap.parse_args()

    import torch
    from transformers import AutoModelForTokenClassification, AutoTokenizer, pipeline

    torch.set_num_threads(a.threads)
    files = sorted(pathlib.Path(a.corpus).rglob("*.txt")) if os.path.isdir(a.corpus) else [pathlib.Path(a.corpus)]
    if a.limit:
        files = files[: a.limit]
    texts = [f.read_text(encoding="utf-8") for f in files]
    words = sum(len(t.split()) for t in texts)

    tok = AutoTokenizer.from_pretrained(a.model)
    model = AutoModelForTokenClassification.from_pretrained(a.model, torch_dtype=torch.float32)
    model.eval()
    max_len = min(tok.model_max_length, model.config.max_position_embeddings)
    tok.model_max_length = max_len
    ner = pipeline(
        "token-classification",
        model=model,
        tokenizer=tok,
        aggregation_strategy="first",
        stride=max_len // 4,
        device=-1,
    )
    ner(texts[:4], batch_size=a.batch)  # warm-up
    times = []
    out = None
    for _ in range(max(1, a.repeat)):
        t = time.perf_counter()
        with torch.inference_mode():
            out = ner(texts, batch_size=a.batch)
        times.append(time.perf_counter() - t)
    secs = statistics.median(times)
    if a.entities_out:
        with open(a.entities_out, "w") as f:
            for path, ents in zip(files, out):
                f.write(json.dumps({"id": path.stem, "entities": [
                    {"text": e["word"], "label": e["entity_group"], "start": e["start"], "end": e["end"], "score": float(e["score"])}
                    for e in ents]}) + "\n")
    print(json.dumps({
        "system": "hf-pipeline",
        "torch": torch.__version__,
        "threads": a.threads,
        "batch": a.batch,
        "articles": len(texts),
        "seconds": round(secs, 3),
        "articles_per_s": round(len(texts) / secs, 1),
        "words_per_s": round(words / secs),
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024,
    }))


if __name__ == "__main__":
    main()
