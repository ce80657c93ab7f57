"""newsgraph on Apache Spark: articles in, Parquet of documents, entities and relations out.

    spark-submit python/examples/spark_extract.py INPUT OUT_DIR [--partitions N] [--no-relation-model]

INPUT: a directory of .txt files (id = file stem), a JSON Lines file or directory ("id", "text",
optional "title", "date"), or Parquet with those columns (chosen by --format, default: by the
path). By default one task per executor: its Python worker loads the pipeline once (engine
threads = the executor's cores, spark.executor.cores, or the local master's) and runs it over the
partition's Arrow batches (256 articles) with mapInArrow. Writes OUT_DIR/documents, OUT_DIR/entities and OUT_DIR/relations (Parquet) and
prints one JSON line: articles, seconds, articles/s.
"""

import argparse
import json
import os
import time

_PIPELINE = None


def pipeline(engine_threads, relation_model, engine):
    """One pipeline per executor process (Python workers are reused: spark.python.worker.reuse)."""
    global _PIPELINE
    if _PIPELINE is None:
        import newsgraph

        options = {"engine_threads": engine_threads, "engine": engine}
        if not relation_model:
            options["relation_model"] = None
        _PIPELINE = newsgraph.Pipeline(**options)
    return _PIPELINE


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
    ap.add_argument("--engine", default="auto", help="auto, onnx-int8, onnx, onnx-file")
    ap.add_argument("--master", help="Spark master (default: spark-submit's, e.g. local[2])")
    ap.add_argument(
        "--batch-rows", type=int, default=256, help="articles per Arrow batch (newsgraph's chunk)"
    )
    args = ap.parse_args()

    from pyspark.sql import SparkSession
    from pyspark.sql import functions as F
    from pyspark.sql.pandas.types import from_arrow_schema

    import newsgraph

    builder = SparkSession.builder
    if args.master:
        builder = builder.master(args.master)
    spark = (
        builder.appName("newsgraph-extract")
        .config("spark.sql.execution.arrow.maxRecordsPerBatch", str(args.batch_rows))
        .getOrCreate()
    )
    sc = spark.sparkContext
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

    def run(batches):
        nlp = pipeline(engine_threads, relation_model, engine)
        for batch in batches:
            yield nlp.process_arrow(batch, errors="return")

    started = time.time()
    articles = read_articles(spark, args.input, args.format).repartition(partitions)
    docs = articles.mapInArrow(run, schema).cache()
    n = docs.count()
    docs.drop("entities", "clusters", "relations", "quotes", "temporal", "skipped").write.mode(
        "overwrite"
    ).parquet(os.path.join(args.out, "documents"))
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
    ).write.mode("overwrite").parquet(os.path.join(args.out, "relations"))
    failed = docs.filter(F.col("error").isNotNull()).count()
    seconds = time.time() - started
    spark.stop()
    print(
        json.dumps(
            {
                "articles": n,
                "failed": failed,
                "partitions": partitions,
                "engine_threads": engine_threads,
                "seconds": round(seconds, 2),
                "articles_per_s": round(n / seconds, 2),
            }
        )
    )


if __name__ == "__main__":
    main()
