"""newsgraph: news articles to entities, clusters, relations, quotes and dates.

>>> import newsgraph
>>> nlp = newsgraph.Pipeline()
>>> [e["text"] for e in nlp.process("Tim Cook runs Apple.")[0]["entities"]]
['Tim Cook', 'Apple']
"""

import os
from pathlib import Path

_BUNDLE = Path(__file__).with_name("_bundle")

# The ONNX Runtime library the wheel carries (the native module loads it on first use).
if not os.environ.get("ORT_DYLIB_PATH"):
    _libs = sorted(_BUNDLE.glob("libonnxruntime.so*"))
    if _libs:
        os.environ["ORT_DYLIB_PATH"] = str(_libs[0])

from ._newsgraph import Error, NativePipeline, version  # noqa: E402

__all__ = ["Pipeline", "Error", "version"]

_DEFAULT = object()


def _bundled(name):
    path = _BUNDLE / "models" / name
    if not path.is_dir():
        raise Error(
            f"no model given and this build of newsgraph carries no {name} "
            f"(looked in {path}); pass model=PATH to a model folder"
        )
    return str(path)


class Pipeline:
    """A loaded newsgraph pipeline.

    model: a model folder (Hugging Face layout); None: the bundled newsgraph NER model.
    relation_model: a relation model folder; the default: the bundled one; None: relations
    from the rules only (faster).
    Other keyword options follow newsgraph's PipelineOptions: engine ("auto", "onnx-int8",
    "onnx-int8-rows", "onnx", "onnx-file"), threads, engine_threads, batch_size, aggregation ("first",
    "average", "max"), decoding ("viterbi", "greedy"), type_vote, relation_threshold,
    relation_rules, clean, chunk.
    """

    def __init__(self, model=None, relation_model=_DEFAULT, **options):
        model = _bundled("newsgraph-ner-minilm") if model is None else os.fspath(model)
        if relation_model is _DEFAULT:
            relation_model = _bundled("newsgraph-rel-minilm")
        elif relation_model is not None:
            relation_model = os.fspath(relation_model)
        self._native = NativePipeline(model, relation_model, **options)

    @property
    def engine(self):
        """The engine that runs the forward pass ("onnx-int8", ...)."""
        return self._native.engine

    def process(self, texts, errors="raise"):
        """One dict per article (the schema of extract's JSON lines), in input order.

        texts: a str, or an iterable of str or dict items ("text"; optional "id", "title",
        "date"; ids default to the position). The GIL is released while newsgraph works.
        errors="raise" raises newsgraph.Error for the first article that failed (after all
        were processed); errors="return" puts {"id": ..., "error": message} in its place.
        """
        return self._native.process(texts, errors)

    def process_arrow(self, batch, errors="raise"):
        """A pyarrow.RecordBatch of articles in, a RecordBatch of documents out.

        batch: a "text" column and optional "id", "title", "date" columns (anything Arrow
        casts to strings; ids default to the row number). The result has one row per article,
        in input order, with the schema Pipeline.arrow_schema() gives: the JSON lines' fields
        as columns, entities / clusters / relations / quotes / temporal / skipped as lists of
        structs, and "error" (null unless the article failed). errors="raise" raises
        newsgraph.Error for the first failed article instead. The GIL is released while
        newsgraph works.
        """
        return self._native.process_arrow(batch, errors)

    @staticmethod
    def arrow_schema():
        """The pyarrow.Schema of process_arrow's output."""
        return NativePipeline.arrow_schema()
