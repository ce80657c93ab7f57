//! Python bindings of newsgraph: the native part of the `newsgraph` package (`newsgraph._newsgraph`).
//! The Python side (`newsgraph/__init__.py`) finds the bundled models and ONNX Runtime library and
//! wraps [`NativePipeline`].

use newsgraph::{Aggregation, Article, Decoding, Engine, Pipeline, PipelineOptions};
use pyo3::create_exception;
use pyo3::exceptions::{PyException, PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyString};
use std::path::PathBuf;

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
    #[new]
    #[pyo3(signature = (
        model,
        relation_model,
        *,
        engine = "auto",
        threads = 1,
        engine_threads = 0,
        batch_size = 16,
        aggregation = "first",
        decoding = "viterbi",
        type_vote = true,
        relation_threshold = newsgraph::RELATION_THRESHOLD,
        relation_rules = true,
        clean = true,
        chunk = 256,
    ))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        model: PathBuf,
        relation_model: Option<PathBuf>,
        engine: &str,
        threads: usize,
        engine_threads: usize,
        batch_size: usize,
        aggregation: &str,
        decoding: &str,
        type_vote: bool,
        relation_threshold: f32,
        relation_rules: bool,
        clean: bool,
        chunk: usize,
    ) -> PyResult<Self> {
        let setting = |name: &str, e: String| PyValueError::new_err(format!("{name}: {e}"));
        let options = PipelineOptions::default()
            .engine(engine.parse::<Engine>().map_err(|e| setting("engine", e))?)
            .threads(threads)
            .engine_threads(engine_threads)
            .batch_size(batch_size)
            .aggregation(
                aggregation
                    .parse::<Aggregation>()
                    .map_err(|e| setting("aggregation", e))?,
            )
            .decoding(
                decoding
                    .parse::<Decoding>()
                    .map_err(|e| setting("decoding", e))?,
            )
            .type_vote(type_vote)
            .relation_threshold(relation_threshold)
            .relation_rules(relation_rules)
            .clean(clean)
            .chunk(chunk)
            .relation_model(relation_model);
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
        let raise = match errors {
            "raise" => true,
            "return" => false,
            other => {
                return Err(PyValueError::new_err(format!(
                    "errors: expected \"raise\" or \"return\", got {other:?}"
                )))
            }
        };
        let articles = articles(items)?;
        let results = py.detach(|| self.inner.process(&articles));
        let json = py.import("json")?;
        let out = PyList::empty(py);
        for (article, result) in articles.iter().zip(results) {
            match result {
                Ok(doc) => out.append(json.call_method1("loads", (doc.to_json_line(),))?)?,
                Err(e) if raise => return Err(error(e)),
                Err(e) => {
                    let d = PyDict::new(py);
                    d.set_item("id", &article.id)?;
                    d.set_item("error", e.to_string())?;
                    out.append(d)?;
                }
            }
        }
        Ok(out)
    }

    /// The engine that runs the forward pass ("onnx-int8", …).
    #[getter]
    fn engine(&self) -> String {
        self.inner.model().engine().as_str().to_string()
    }
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
