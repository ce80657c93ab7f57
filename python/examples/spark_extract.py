"""newsgraph on Apache Spark: articles in, Parquet of documents, entities and relations out.

    spark-submit python/examples/spark_extract.py INPUT OUT_DIR [--partitions N] [--no-relation-model]

INPUT: a directory of .txt files (id = file stem), a JSON Lines file or directory ("id", "text",
optional "title", "date"), or Parquet with those columns (chosen by --format, default: by the
path). By default one task per executor: its Python worker loads the pipeline once (engine
threads = the executor's cores, spark.executor.cores, or the local master's) and runs it over the
partition's Arrow batches (256 articles) with mapInArrow. Writes OUT_DIR/documents (one row per article: the full record, nested lists of
entities, clusters, relations, quotes, temporal expressions, skipped spans, and the error of an
article that failed), OUT_DIR/entities and OUT_DIR/relations (flat, keyed by id) as Parquet, and
prints one JSON line: articles, seconds, articles/s, and where the time went.
"""

import argparse
import json
import os
import sys
import time

_PIPELINE = None


def pipeline(engine_threads, relation_model, engine, load_s):
    """One pipeline per executor process (Python workers are reused: spark.python.worker.reuse)."""
    global _PIPELINE
    if _PIPELINE is None:
        started = time.time()
        import newsgraph

        options = {"engine_threads": engine_threads, "engine": engine}
        if not relation_model:
            options["relation_model"] = None
        _PIPELINE = newsgraph.Pipeline(**options)
        load_s.add(time.time() - started)
    return _PIPELINE


def wait_for_executors(sc, timeout=120):
    """On a cluster, executors register after the session starts; the job's parallelism (and its
    clock) wait for them: spark.cores.max / spark.executor.cores of them when both are set, else one."""
    if sc.master.startswith("local"):
        return
    conf = sc.getConf()
    per, most = int(conf.get("spark.executor.cores", "0")), int(conf.get("spark.cores.max", "0"))
    expected = most // per if per and most else 1
    deadline = time.time() + timeout
    # The driver's block manager is in the status too.
    while sc._jsc.sc().getExecutorMemoryStatus().size() - 1 < expected:
        if time.time() > deadline:
            print(f"warning: fewer than {expected} executors after {timeout} s", file=sys.stderr)
            return
        time.sleep(0.1)


def read_articles(spark, path, fmt):
    from pyspark.sql import functions as F

    if fmt == "auto":
        if path.endswith(".parquet") or (
            os.path.isdir(path) and any(f.endswith(".parquet") for f in os.listdir(path))
        ):
            fmt = "parquet"
        elif path.endswith(".jsonl") or path.endswith(".json") or (
            os.path.isdir(path) and any(f.endswith(".jsonl") for f in os.listdir(path))
        ):
            fmt = "jsonl"
        else:
            fmt = "text"
    if fmt == "parquet":
        df = spark.read.parquet(path)
    elif fmt == "jsonl":
        df = spark.read.json(path)
    else:
        # One row per file; the id is the file stem, as `extract` names it.
        df = (
            spark.read.option("pathGlobFilter", "*.txt")
            .option("recursiveFileLookup", True)
            .text(path, wholetext=True)
            .withColumnRenamed("value", "text")
            .withColumn("id", F.regexp_extract(F.input_file_name(), r"([^/]+)\.txt$", 1))
        )
    keep = [c for c in ["id", "text", "title", "date"] if c in df.columns]
    return df.select(*keep)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("input")
    ap.add_argument("out")
    ap.add_argument("--format", choices=["auto", "text", "jsonl", "parquet"], default="auto")
    ap.add_argument(
        "--partitions", type=int, default=0, help="0: one per executor (each task uses all its cores)"
    )
    ap.add_argument("--no-relation-model", action="store_true")
    ap.add_argument("--engine", default="auto", help="auto, onnx-int8, onnx-int8-rows, onnx, onnx-file")
    ap.add_argument("--master", help="Spark master (default: spark-submit's, e.g. local[2])")
    ap.add_argument(
        "--batch-rows", type=int, default=256, help="articles per Arrow batch (newsgraph's chunk)"
    )
    args = ap.parse_args()

    from pyspark.sql import SparkSession
    from pyspark.sql import functions as F
    from pyspark.sql.pandas.types import from_arrow_schema

    import newsgraph

    session_started = time.time()
    builder = SparkSession.builder
    if args.master:
        builder = builder.master(args.master)
    spark = (
        builder.appName("newsgraph-extract")
        .config("spark.sql.execution.arrow.maxRecordsPerBatch", str(args.batch_rows))
        .getOrCreate()
    )
    sc = spark.sparkContext
    wait_for_executors(sc)
    session_s = time.time() - session_started
    total = sc.defaultParallelism
    cores = min(int(sc.getConf().get("spark.executor.cores", "0")) or total, total)
    executors = max(1, total // cores)
    # One task per executor by default: one pipeline per executor whose forward passes use all
    # its cores (more, smaller tasks pay the model loading and Spark's per-task costs again).
    partitions = args.partitions or executors
    # Cores per Python worker: the executor's cores shared by its concurrent tasks.
    concurrent = max(1, -(-min(partitions, total) // executors))
    engine_threads = max(1, cores // concurrent)
    relation_model = not args.no_relation_model
    engine = args.engine
    schema = from_arrow_schema(newsgraph.Pipeline.arrow_schema())

    # Where the time goes, summed over the executors' Python workers, and the articles counted
    # as they pass (exact: the write job is one result stage, and Spark merges a result task's
    # accumulator updates once, from its successful attempt; a count job over the written
    # Parquet cost about 0.9 s).
    load_s = sc.accumulator(0.0)
    process_s = sc.accumulator(0.0)
    articles_n = sc.accumulator(0)
    failed_n = sc.accumulator(0)

    def run(batches):
        nlp = pipeline(engine_threads, relation_model, engine, load_s)
        for batch in batches:
            started = time.time()
            out = nlp.process_arrow(batch, errors="return")
            process_s.add(time.time() - started)
            articles_n.add(out.num_rows)
            failed_n.add(out.num_rows - out.column("error").null_count)
            yield out

    started = time.time()
    # File sources split into at least as many partitions as tasks wanted (a small JSON Lines
    # file too: no per-file open cost keeps it whole; Parquet splits at row groups only),
    # which coalesce then narrows to the tasks without a shuffle. Asking a DataFrame for its partition count would plan the
    # query once more (about a second on a fresh JVM).
    spark.conf.set("spark.sql.files.minPartitionNum", str(partitions))
    spark.conf.set("spark.sql.files.openCostInBytes", "0")
    articles = read_articles(spark, args.input, args.format).coalesce(partitions)
    # One pass over the articles: each document's full record (entities, clusters, relations,
    # quotes, temporal, skipped, error) as one row; the flat tables are read back from it.
    documents = os.path.join(args.out, "documents")
    articles.mapInArrow(run, schema).write.mode("overwrite").parquet(documents)
    processed = time.time()
    docs = spark.read.parquet(documents)
    docs.select("id", F.posexplode("entities").alias("index", "e")).select(
        "id", "index", "e.*"
    ).write.mode("overwrite").parquet(os.path.join(args.out, "entities"))
    docs.select("id", F.explode("relations").alias("r")).select(
        "id",
        "r.relation",
        "r.head",
        "r.tail",
        "r.head_text",
        "r.tail_text",
        "r.score",
        F.col("r.evidence.start").alias("evidence_start"),
        F.col("r.evidence.end").alias("evidence_end"),
        F.col("r.evidence.char_start").alias("evidence_char_start"),
        F.col("r.evidence.char_end").alias("evidence_char_end"),
    ).write.mode("overwrite").parquet(os.path.join(args.out, "relations"))
    n, failed = articles_n.value, failed_n.value
    seconds = time.time() - started
    spark.stop()
    print(
        json.dumps(
            {
                "articles": n,
                "failed": failed,
                "partitions": partitions,
                "engine_threads": engine_threads,
                "session_s": round(session_s, 2),
                "seconds": round(seconds, 2),
                "documents_written_s": round(processed - started, 2),
                "pipeline_load_s": round(load_s.value, 2),
                "process_arrow_s": round(process_s.value, 2),
                "articles_per_s": round(n / seconds, 2),
            }
        )
    )


if __name__ == "__main__":
    main()
