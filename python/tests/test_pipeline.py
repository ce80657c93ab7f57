"""The installed wheel: entities, relations and errors from Python (run by scripts/test-python.sh)."""

import json
import threading

import pytest

import newsgraph

TEXT = "Tim Cook, the chief executive of Apple, spoke in Cupertino on Monday."


@pytest.fixture(scope="module")
def nlp():
    return newsgraph.Pipeline()


def test_three_lines_give_entities():
    import newsgraph

    nlp = newsgraph.Pipeline(relation_model=None)
    doc = nlp.process("Angela Merkel met Emmanuel Macron in Paris.")[0]
    assert [(e["text"], e["kind"]) for e in doc["entities"]] == [
        ("Angela Merkel", "person"),
        ("Emmanuel Macron", "person"),
        ("Paris", "location"),
    ]


def test_the_wheel_carries_its_runtime_and_models(nlp):
    # Nothing on the machine but the wheel: the engine is the int8 ONNX Runtime one.
    assert nlp.engine == "onnx-int8"
    assert "_bundle" in newsgraph.__file__ or (newsgraph._BUNDLE / "models").is_dir()


def test_documents_follow_the_json_lines_schema(nlp):
    docs = nlp.process([TEXT, {"id": "b", "text": "Kyiv is the capital of Ukraine.", "title": "T"}])
    assert [d["id"] for d in docs] == ["0", "b"]
    a = docs[0]
    assert {"id", "text_len", "entities", "clusters", "relations", "quotes", "temporal"} <= set(a)
    for e in a["entities"]:
        assert TEXT[e["start"] : e["end"]] == e["text"]
        assert 0.0 < e["score"] <= 1.0
    names = {(e["text"], e["kind"]) for e in a["entities"]}
    assert {("Tim Cook", "person"), ("Apple", "organization"), ("Cupertino", "location")} <= names
    pairs = {frozenset((r["head_text"], r["tail_text"])) for r in a["relations"]}
    assert frozenset(("Tim Cook", "Apple")) in pairs, a["relations"]
    assert docs[1]["title"] == "T"
    # The same document as the extract binary writes: a JSON round trip changes nothing.
    assert json.loads(json.dumps(a)) == a


def test_every_span_has_python_character_offsets(nlp):
    # Multi-byte characters before every span: byte and character offsets differ.
    text = "Zürich, 3 May 2023 — “We will win,” Olaf Scholz said of Müller’s plan, costing €5m."
    doc = nlp.process(text)[0]
    quotes, temporal = doc["quotes"], doc["temporal"]
    assert quotes and temporal, doc
    spans = [*doc["entities"], *quotes, *temporal, *doc["skipped"]]
    spans += [r["evidence"] for r in doc["relations"]]
    spans += [q["speaker_span"] for q in quotes if q.get("speaker_span")]
    raw = text.encode()
    for s in spans:
        assert text[s["char_start"] : s["char_end"]] == raw[s["start"] : s["end"]].decode(), s
    assert quotes[0]["text"] == text[quotes[0]["char_start"] : quotes[0]["char_end"]]


def test_bad_items_are_named(nlp):
    with pytest.raises(TypeError, match="item 1: expected a str or a dict, got int"):
        nlp.process(["fine", 3])
    with pytest.raises(ValueError, match='item 0: a dict needs a "text"'):
        nlp.process([{"id": "x"}])
    with pytest.raises(TypeError, match='item 0: "id" must be a str'):
        nlp.process([{"id": 7, "text": "x"}])
    with pytest.raises(ValueError, match="errors:"):
        nlp.process("x", errors="ignore")


def test_a_bad_article_costs_only_itself(nlp):
    bad = {"id": "bad", "text": "\x00" * 100}
    with pytest.raises(newsgraph.Error, match="bad"):
        nlp.process([TEXT, bad])
    docs = nlp.process([TEXT, bad, "Paris"], errors="return")
    assert [d["id"] for d in docs] == ["0", "bad", "2"]
    assert "entities" in docs[0] and "error" in docs[1] and docs[2]["entities"][0]["text"] == "Paris"


def test_settings_and_models_are_checked():
    with pytest.raises(ValueError, match="decoding"):
        newsgraph.Pipeline(relation_model=None, decoding="beam")
    with pytest.raises(newsgraph.Error, match="no such model folder"):
        newsgraph.Pipeline(model="/nonexistent/model", relation_model=None)


def test_the_gil_is_released_while_newsgraph_works(nlp):
    # newsgraph works in another thread; this one counts while it does. With the GIL held
    # through the native call this loop would stand still until the call returned.
    texts = [TEXT * 20] * 100
    finished = threading.Event()
    worker = threading.Thread(target=lambda: (nlp.process(texts), finished.set()))
    worker.start()
    counted = 0
    while not finished.is_set():
        counted += 1
    worker.join()
    assert counted > 10_000, counted


def test_arrow_batches_give_the_same_documents(nlp):
    pa = pytest.importorskip("pyarrow")
    texts = [TEXT, "Kyiv is the capital of Ukraine, said Volodymyr Zelensky on 24 August 2022.", ""]
    texts[0] += " It sold 80,000 phones."
    batch = pa.RecordBatch.from_pydict(
        {"id": ["a", "b", None], "text": texts, "title": [None, "T", None]}
    )
    out = nlp.process_arrow(batch)
    assert out.schema == newsgraph.Pipeline.arrow_schema()
    assert out.num_rows == 3
    rows = out.to_pylist()
    docs = nlp.process([{"id": "a", "text": texts[0]}, {"id": "b", "text": texts[1], "title": "T"}, texts[2]])
    assert [r["id"] for r in rows] == ["a", "b", "2"]
    for row, doc in zip(rows, docs):
        assert row["error"] is None
        assert row["title"] == doc.get("title")
        for key in ["entities", "relations", "quotes"]:
            got = [{k: v for k, v in x.items()} for x in row[key]]
            want = doc[key]
            assert len(got) == len(want), key
            for g, w in zip(got, want):
                for k, v in w.items():
                    if isinstance(v, float):
                        assert g[k] == pytest.approx(v, abs=1e-6), (key, k)
                    else:
                        assert g[k] == v, (key, k)
        as_string = lambda v: v if v is None or isinstance(v, str) else json.dumps(v)
        assert [(t["text"], t["label"], t["value"]) for t in row["temporal"]] == [
            (t["text"], t["label"], as_string(t["value"])) for t in doc["temporal"]
        ]
    assert [t["value"] for t in rows[1]["temporal"]] == ["2022-08-24"]
    assert rows[2]["entities"] == []


def test_arrow_errors_are_rows_or_exceptions(nlp):
    pa = pytest.importorskip("pyarrow")
    batch = pa.RecordBatch.from_pydict({"text": [TEXT, None, "\x00" * 50]})
    rows = nlp.process_arrow(batch, errors="return").to_pylist()
    assert rows[0]["error"] is None and rows[0]["entities"]
    assert rows[1]["error"] == "1: the text is null" and rows[1]["entities"] is None
    assert rows[2]["error"] and rows[2]["error"].startswith("2")
    with pytest.raises(newsgraph.Error, match="1: the text is null"):
        nlp.process_arrow(batch)
    with pytest.raises(ValueError, match='no "text" column'):
        nlp.process_arrow(pa.RecordBatch.from_pydict({"body": ["x"]}))
