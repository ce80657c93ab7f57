"""The Spark job (python/examples/spark_extract.py) in local[2] mode: the Parquet it writes holds
the same entities and relations as Pipeline.process gives for the same articles (the
onnx-int8-rows engine: its results do not depend on how articles are batched)."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import newsgraph

HERE = Path(__file__).resolve().parent
JOB = HERE.parent / "examples" / "spark_extract.py"
ARTICLES = {
    "a": "Tim Cook, the chief executive of Apple, spoke in Cupertino on Monday.",
    "b": "Kyiv is the capital of Ukraine. Volodymyr Zelensky met Joe Biden in Washington.",
    "c": "Angela Merkel led Germany for 16 years, said the BBC in Berlin.",
}


def run_job(inp, out, *args):
    """The job in local[2] mode; its summary line."""
    env = dict(os.environ, PYSPARK_PYTHON=sys.executable, SPARK_LOCAL_IP="127.0.0.1")
    run = subprocess.run(
        [sys.executable, str(JOB), str(inp), str(out), "--master", "local[2]", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    return json.loads(run.stdout.strip().splitlines()[-1])


def test_spark_local_job_writes_what_the_pipeline_gives(tmp_path):
    pq = pytest.importorskip("pyarrow.parquet")
    import pyspark  # noqa: F401  (installed by scripts/test-python.sh: a missing one fails here)

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for k, v in ARTICLES.items():
        (corpus / f"{k}.txt").write_text(v)
    out = tmp_path / "out"
    summary = run_job(corpus, out, "--engine", "onnx-int8-rows")
    assert summary["articles"] == 3 and summary["failed"] == 0

    nlp = newsgraph.Pipeline(engine="onnx-int8-rows")
    want = {d["id"]: d for d in nlp.process([{"id": k, "text": v} for k, v in ARTICLES.items()])}
    entities = {}
    for r in pq.read_table(out / "entities").to_pylist():
        entities.setdefault(r["id"], []).append((r["index"], r["text"], r["label"], r["start"], r["end"]))
    for k, d in want.items():
        assert sorted(entities.get(k, [])) == [
            (i, e["text"], e["label"], e["start"], e["end"]) for i, e in enumerate(d["entities"])
        ], k
    relations = sorted(
        (r["id"], r["relation"], r["head_text"], r["tail_text"])
        for r in pq.read_table(out / "relations").to_pylist()
    )
    assert relations == sorted(
        (k, r["relation"], r["head_text"], r["tail_text"]) for k, d in want.items() for r in d["relations"]
    )
    assert any(r[0] == "a" and {r[2], r[3]} == {"Tim Cook", "Apple"} for r in relations), relations
    docs = pq.read_table(out / "documents").to_pylist()
    assert sorted(d["id"] for d in docs) == ["a", "b", "c"]
    assert all(d["error"] is None for d in docs)


def test_an_article_that_fails_is_a_row_with_its_error_and_is_counted(tmp_path):
    pq = pytest.importorskip("pyarrow.parquet")
    articles = tmp_path / "articles.jsonl"
    articles.write_text(
        json.dumps({"id": "good", "text": ARTICLES["b"]}) + "\n" + json.dumps({"id": "bad", "text": None}) + "\n"
    )
    summary = run_job(articles, tmp_path / "out", "--no-relation-model")
    assert summary["articles"] == 2 and summary["failed"] == 1
    docs = {d["id"]: d for d in pq.read_table(tmp_path / "out" / "documents").to_pylist()}
    assert docs["bad"]["error"] == "bad: the text is null" and docs["bad"]["entities"] is None
    assert docs["good"]["error"] is None and "Kyiv" in [e["text"] for e in docs["good"]["entities"]]
