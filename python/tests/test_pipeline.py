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
