//! Python bindings of newsgraph: the native part of the `newsgraph` package (`newsgraph._newsgraph`).
//! The Python side (`newsgraph/__init__.py`) finds the bundled models and ONNX Runtime library and
//! wraps [`NativePipeline`].

use arrow_array::{Array, RecordBatch, StringArray};
use arrow_pyarrow::{FromPyArrow, ToPyArrow};
use arrow_schema::{DataType, Field, Fields, Schema};
use newsgraph::{Aggregation, Article, Decoding, Document, Engine, Pipeline, PipelineOptions};
use pyo3::create_exception;
use pyo3::exceptions::{PyException, PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyString};
use std::path::PathBuf;
use std::sync::Arc;

create_exception!(
    _newsgraph,
    Error,
    PyException,
    "An error of newsgraph: a model that cannot be loaded, a bad setting or an article that could not be processed."
);

fn error(e: impl std::fmt::Display) -> PyErr {
    Error::new_err(e.to_string())
}

/// A loaded pipeline: the NER model, the relation model and the rule stages.
#[pyclass(frozen, module = "newsgraph._newsgraph")]
struct NativePipeline {
    inner: Pipeline,
}

#[pymethods]
impl NativePipeline {
    /// Options left out (None) keep `PipelineOptions::default()`: the library holds every
    /// default, once.
    #[new]
    #[pyo3(signature = (
        model,
        relation_model,
        *,
        engine = None,
        threads = None,
        engine_threads = None,
        batch_size = None,
        aggregation = None,
        decoding = None,
        type_vote = None,
        relation_threshold = None,
        relation_rules = None,
        clean = None,
        chunk = None,
    ))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        model: PathBuf,
        relation_model: Option<PathBuf>,
        engine: Option<&str>,
        threads: Option<usize>,
        engine_threads: Option<usize>,
        batch_size: Option<usize>,
        aggregation: Option<&str>,
        decoding: Option<&str>,
        type_vote: Option<bool>,
        relation_threshold: Option<f32>,
        relation_rules: Option<bool>,
        clean: Option<bool>,
        chunk: Option<usize>,
    ) -> PyResult<Self> {
        let setting = |name: &str, e: String| PyValueError::new_err(format!("{name}: {e}"));
        let mut o = PipelineOptions::default().relation_model(relation_model);
        if let Some(v) = engine {
            o = o.engine(v.parse::<Engine>().map_err(|e| setting("engine", e))?);
        }
        if let Some(v) = aggregation {
            o = o.aggregation(
                v.parse::<Aggregation>()
                    .map_err(|e| setting("aggregation", e))?,
            );
        }
        if let Some(v) = decoding {
            o = o.decoding(v.parse::<Decoding>().map_err(|e| setting("decoding", e))?);
        }
        let options = o
            .clone()
            .threads(threads.unwrap_or(o.threads))
            .engine_threads(engine_threads.unwrap_or(o.engine_threads))
            .batch_size(batch_size.unwrap_or(o.batch_size))
            .type_vote(type_vote.unwrap_or(o.type_vote))
            .relation_threshold(relation_threshold.unwrap_or(o.relation_threshold))
            .relation_rules(relation_rules.unwrap_or(o.relation_rules))
            .clean(clean.unwrap_or(o.clean))
            .chunk(chunk.unwrap_or(o.chunk));
        let inner = py
            .detach(|| Pipeline::load(&model, options))
            .map_err(error)?;
        Ok(NativePipeline { inner })
    }

    /// Processes articles (each a str, or a dict with "text" and optionally "id", "title",
    /// "date") and returns one dict per article in input order, with the schema of `extract`'s
    /// JSON lines. The GIL is released while the articles are processed. With
    /// errors="raise" the first failed article raises newsgraph.Error after all are processed;
    /// with errors="return" it becomes {"id": ..., "error": message} in its place.
    #[pyo3(signature = (items, errors = "raise"))]
    fn process<'py>(
        &self,
        py: Python<'py>,
        items: &Bound<'py, PyAny>,
        errors: &str,
    ) -> PyResult<Bound<'py, PyList>> {
        let raise = raise_errors(errors)?;
        let articles = articles(items)?.into_iter().map(Ok).collect();
        let outcomes = py.detach(|| self.outcomes(articles, raise))?;
        let json = py.import("json")?;
        let out = PyList::empty(py);
        for outcome in outcomes {
            match outcome {
                Outcome::Done(doc) => {
                    out.append(json.call_method1("loads", (doc.to_json_line(),))?)?
                }
                Outcome::Failed { id, error } => {
                    let d = PyDict::new(py);
                    d.set_item("id", id)?;
                    d.set_item("error", error)?;
                    out.append(d)?;
                }
            }
        }
        Ok(out)
    }

    /// Processes a pyarrow RecordBatch of articles (a "text" column; optional "id", "title",
    /// "date" columns; any type Arrow casts to strings) into a RecordBatch with one row per
    /// article (see `document_schema`). The GIL is released while the articles are processed.
    /// A row whose article failed has null documents fields and the message in "error"; with
    /// errors="raise" the first failure raises newsgraph.Error instead.
    #[pyo3(signature = (batch, errors = "raise"))]
    fn process_arrow<'py>(
        &self,
        py: Python<'py>,
        batch: &Bound<'py, PyAny>,
        errors: &str,
    ) -> PyResult<Bound<'py, PyAny>> {
        let raise = raise_errors(errors)?;
        let batch = RecordBatch::from_pyarrow_bound(batch)?;
        let inputs = arrow_articles(&batch)?;
        let outcomes = py.detach(|| self.outcomes(inputs, raise))?;
        let schema = Arc::new(document_schema());
        let mut decoder = arrow_json::ReaderBuilder::new(schema.clone())
            .with_coerce_primitive(true)
            .with_batch_size(outcomes.len().max(1))
            .build_decoder()
            .map_err(error)?;
        decoder.serialize(&outcomes).map_err(error)?;
        let out = decoder
            .flush()
            .map_err(error)?
            .unwrap_or_else(|| RecordBatch::new_empty(schema));
        out.to_pyarrow(py)
    }

    /// The Arrow schema of `process_arrow`'s output.
    #[staticmethod]
    fn arrow_schema(py: Python<'_>) -> PyResult<Bound<'_, PyAny>> {
        document_schema().to_pyarrow(py)
    }

    /// The engine that runs the forward pass ("onnx-int8", …).
    #[getter]
    fn engine(&self) -> String {
        self.inner.model().engine().as_str().to_string()
    }
}

impl NativePipeline {
    /// Processes the articles (an input that is already an error stays one, in its place) and
    /// applies the error policy: with `raise`, the first failure is the error.
    fn outcomes(
        &self,
        inputs: Vec<Result<Article, Failure>>,
        raise: bool,
    ) -> PyResult<Vec<Outcome>> {
        // The articles move to the pipeline; each slot keeps the id (or the input's failure).
        let mut articles = Vec::with_capacity(inputs.len());
        let slots: Vec<Result<String, Failure>> = inputs
            .into_iter()
            .map(|input| {
                input.map(|a| {
                    let id = a.id.clone();
                    articles.push(a);
                    id
                })
            })
            .collect();
        let mut docs = self.inner.process(&articles).into_iter();
        let mut out = Vec::with_capacity(slots.len());
        for slot in slots {
            let outcome = match slot {
                Ok(id) => match docs.next() {
                    Some(Ok(doc)) => Outcome::Done(doc),
                    Some(Err(e)) => Outcome::Failed {
                        id,
                        error: e.to_string(),
                    },
                    None => return Err(error("internal error: fewer documents than articles")),
                },
                Err(Failure { id, error }) => Outcome::Failed { id, error },
            };
            if let (true, Outcome::Failed { error: e, .. }) = (raise, &outcome) {
                return Err(error(e));
            }
            out.push(outcome);
        }
        Ok(out)
    }
}

/// An input row that is not an article (no text): its id and why.
struct Failure {
    id: String,
    error: String,
}

/// What became of one article: its document, or its id and error message. Serialized as the
/// JSON lines' record (`{"id", "error"}` for a failure), which is what the Arrow output decodes.
#[derive(serde::Serialize)]
#[serde(untagged)]
enum Outcome {
    Done(Document),
    Failed { id: String, error: String },
}

fn raise_errors(errors: &str) -> PyResult<bool> {
    match errors {
        "raise" => Ok(true),
        "return" => Ok(false),
        other => Err(PyValueError::new_err(format!(
            "errors: expected \"raise\" or \"return\", got {other:?}"
        ))),
    }
}

/// One string per row of `name` (cast to UTF-8), or `None` when the batch has no such column.
fn string_column(batch: &RecordBatch, name: &str) -> PyResult<Option<StringArray>> {
    let Some(col) = batch.column_by_name(name) else {
        return Ok(None);
    };
    let cast = arrow_cast::cast(col, &DataType::Utf8)
        .map_err(|e| PyValueError::new_err(format!("column {name:?}: {e}")))?;
    let strings = cast
        .as_any()
        .downcast_ref::<StringArray>()
        .ok_or_else(|| PyValueError::new_err(format!("column {name:?}: not castable to strings")))?
        .clone();
    Ok(Some(strings))
}

/// The articles of an Arrow batch; a row without text is that row's error.
fn arrow_articles(batch: &RecordBatch) -> PyResult<Vec<Result<Article, Failure>>> {
    let text = string_column(batch, "text")?.ok_or_else(|| {
        PyValueError::new_err(format!(
            "the batch has no \"text\" column (columns: {:?})",
            batch
                .schema()
                .fields()
                .iter()
                .map(|f| f.name().as_str())
                .collect::<Vec<_>>()
        ))
    })?;
    let [id, title, date] = ["id", "title", "date"].map(|c| string_column(batch, c));
    let (id, title, date) = (id?, title?, date?);
    let value = |col: &Option<StringArray>, i: usize| {
        col.as_ref()
            .filter(|c| c.is_valid(i))
            .map(|c| c.value(i).to_string())
    };
    Ok((0..batch.num_rows())
        .map(|i| {
            let id = value(&id, i).unwrap_or_else(|| i.to_string());
            if !text.is_valid(i) {
                let error = format!("{id}: the text is null");
                return Err(Failure { id, error });
            }
            let mut a = Article::new(id, text.value(i));
            if let Some(t) = value(&title, i) {
                a = a.with_title(t);
            }
            if let Some(d) = value(&date, i) {
                a = a.with_date(d);
            }
            Ok(a)
        })
        .collect())
}

/// The Arrow schema of a document: one row per article, the JSON lines' fields as columns,
/// nested lists of structs for entities, clusters, relations, quotes, temporal expressions,
/// skipped furniture and limits (work a stage bounded), and "error" (null unless the article
/// failed). Every span has byte offsets
/// (`start`, `end`) and character offsets (`char_start`, `char_end`), as in the JSON; a
/// temporal `value` is a string (numbers as JSON writes them, "80000.0").
fn document_schema() -> Schema {
    Schema::new(vec![
        text("id"),
        text_opt("error"),
        int_opt("text_len"),
        text_opt("title"),
        text_opt("date"),
        list("entities", entity_fields()),
        list("clusters", cluster_fields()),
        list("relations", relation_fields()),
        list(
            "quotes",
            vec![
                text("text"),
                int("start"),
                int("end"),
                int("char_start"),
                int("char_end"),
                int_opt("speaker"),
                text_opt("speaker_text"),
                Field::new("speaker_span", span(), true),
            ],
        ),
        list(
            "temporal",
            vec![
                text("text"),
                text("label"),
                text_opt("value"),
                text_opt("unit"),
                int("start"),
                int("end"),
                int("char_start"),
                int("char_end"),
            ],
        ),
        list(
            "skipped",
            vec![
                int("start"),
                int("end"),
                int("char_start"),
                int("char_end"),
                text("reason"),
            ],
        ),
        list(
            "limits",
            vec![
                text("stage"),
                Field::new("span", span(), false),
                int("left_out"),
                text("bound"),
            ],
        ),
    ])
}

fn entity_fields() -> Vec<Field> {
    vec![
        text("text"),
        text("label"),
        text("kind"),
        int("start"),
        int("end"),
        int("char_start"),
        int("char_end"),
        float("score"),
        int_opt("cluster"),
    ]
}

fn cluster_fields() -> Vec<Field> {
    let mentions = DataType::List(Arc::new(Field::new("item", DataType::Int64, false)));
    vec![
        int("id"),
        text("name"),
        text("kind"),
        Field::new("mentions", mentions, false),
        float("salience"),
    ]
}

fn relation_fields() -> Vec<Field> {
    vec![
        text("relation"),
        int("head"),
        int_opt("tail"),
        text("head_text"),
        text("tail_text"),
        float("score"),
        Field::new("evidence", span(), false),
    ]
}

/// A span of the text: bytes and characters.
fn span() -> DataType {
    DataType::Struct(Fields::from(vec![
        int("start"),
        int("end"),
        int("char_start"),
        int("char_end"),
    ]))
}

// Signed integers: Spark and pandas have no unsigned 64-bit type.
fn int(name: &str) -> Field {
    Field::new(name, DataType::Int64, false)
}

fn int_opt(name: &str) -> Field {
    Field::new(name, DataType::Int64, true)
}

fn text(name: &str) -> Field {
    Field::new(name, DataType::Utf8, false)
}

fn text_opt(name: &str) -> Field {
    Field::new(name, DataType::Utf8, true)
}

fn float(name: &str) -> Field {
    Field::new(name, DataType::Float32, false)
}

/// A nullable list of non-null structs with `fields`.
fn list(name: &str, fields: Vec<Field>) -> Field {
    let item = Field::new("item", DataType::Struct(Fields::from(fields)), false);
    Field::new(name, DataType::List(Arc::new(item)), true)
}

/// Articles from a str, or an iterable of str / dict items (ids default to the position).
fn articles(items: &Bound<'_, PyAny>) -> PyResult<Vec<Article>> {
    if let Ok(s) = items.cast::<PyString>() {
        return Ok(vec![Article::new("0", s.to_cow()?.into_owned())]);
    }
    let mut out = Vec::new();
    for (i, item) in items
        .try_iter()
        .map_err(|_| {
            PyTypeError::new_err(
                "expected a str or an iterable of str or dict items (\"text\", optional \"id\", \"title\", \"date\")",
            )
        })?
        .enumerate()
    {
        let item = item?;
        out.push(article(i, &item)?);
    }
    Ok(out)
}

fn article(i: usize, item: &Bound<'_, PyAny>) -> PyResult<Article> {
    if let Ok(s) = item.cast::<PyString>() {
        return Ok(Article::new(i.to_string(), s.to_cow()?.into_owned()));
    }
    let Ok(d) = item.cast::<PyDict>() else {
        return Err(PyTypeError::new_err(format!(
            "item {i}: expected a str or a dict, got {}",
            item.get_type().name()?
        )));
    };
    let field = |name: &str| -> PyResult<Option<String>> {
        match d.get_item(name)? {
            None => Ok(None),
            Some(v) if v.is_none() => Ok(None),
            Some(v) => v.extract::<String>().map(Some).map_err(|_| {
                PyTypeError::new_err(format!(
                    "item {i}: \"{name}\" must be a str, got {}",
                    v.get_type()
                        .name()
                        .map(|n| n.to_string())
                        .unwrap_or_default()
                ))
            }),
        }
    };
    let text = field("text")?
        .ok_or_else(|| PyValueError::new_err(format!("item {i}: a dict needs a \"text\"")))?;
    let mut a = Article::new(field("id")?.unwrap_or_else(|| i.to_string()), text);
    if let Some(t) = field("title")? {
        a = a.with_title(t);
    }
    if let Some(d) = field("date")? {
        a = a.with_date(d);
    }
    Ok(a)
}

/// The newsgraph release these bindings are built from.
#[pyfunction]
fn version() -> &'static str {
    env!("CARGO_PKG_VERSION")
}

#[pymodule]
fn _newsgraph(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<NativePipeline>()?;
    m.add("Error", m.py().get_type::<Error>())?;
    m.add_function(wrap_pyfunction!(version, m)?)?;
    Ok(())
}
