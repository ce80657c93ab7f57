//! The `newsgraph` block of a model's `config.json`: what newsgraph adds to a Hugging Face
//! configuration. One definition, read by every loader and written by every trainer.

use crate::error::{LoadError, Result};
use serde_json::Value;
use std::path::Path;

/// The `newsgraph` block. Every field is optional in the file; a folder without the block is
/// a plain Hugging Face model.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Block {
    /// `"relation"` for a relation classifier; otherwise a token classifier.
    pub(crate) task: Option<String>,
    /// The model has a casing embedding.
    pub(crate) casing: bool,
    /// NER: the window length the model was trained with, special tokens included.
    pub(crate) window: Option<usize>,
    /// Relations: the input length in tokens.
    pub(crate) max_len: Option<usize>,
    /// Relations: tokens of context kept on each side of a pair in training (`None`: the
    /// whole sentence).
    pub(crate) train_context: Option<usize>,
    /// Relations: the class names, `no_relation` first.
    pub(crate) classes: Option<Vec<String>>,
    /// Relations: the four marker tokens.
    pub(crate) markers: Option<Vec<String>>,
    /// Relations: how the pair is represented, in words.
    pub(crate) representation: Option<String>,
}

impl Block {
    /// Reads the block of a configuration (`path` names it in errors). A field of the wrong
    /// type is an error naming it, never a silent default.
    pub(crate) fn read(raw: &Value, path: &Path) -> Result<Block> {
        let invalid = |key: &str, wanted: &str, v: &Value| -> crate::error::Error {
            LoadError::Invalid {
                path: path.to_path_buf(),
                message: format!("newsgraph.{key} must be {wanted}, not {v}"),
            }
            .into()
        };
        let Some(ng) = raw.get("newsgraph").filter(|v| !v.is_null()) else {
            return Ok(Block::default());
        };
        let field = |key: &str| ng.get(key).filter(|v| !v.is_null());
        let count = |key: &str| -> Result<Option<usize>> {
            field(key)
                .map(|v| {
                    v.as_u64()
                        .and_then(|n| usize::try_from(n).ok())
                        .ok_or_else(|| invalid(key, "a whole number", v))
                })
                .transpose()
        };
        let text = |key: &str| -> Result<Option<String>> {
            field(key)
                .map(|v| {
                    v.as_str()
                        .map(str::to_string)
                        .ok_or_else(|| invalid(key, "a string", v))
                })
                .transpose()
        };
        let texts = |key: &str| -> Result<Option<Vec<String>>> {
            field(key)
                .map(|v| {
                    v.as_array()
                        .and_then(|a| a.iter().map(|x| x.as_str().map(str::to_string)).collect())
                        .ok_or_else(|| invalid(key, "a list of strings", v))
                })
                .transpose()
        };
        let casing = field("casing")
            .map(|v| {
                v.as_bool()
                    .ok_or_else(|| invalid("casing", "true or false", v))
            })
            .transpose()?
            .unwrap_or(false);
        Ok(Block {
            task: text("task")?,
            casing,
            window: count("window")?,
            max_len: count("max_len")?,
            train_context: count("train_context")?,
            classes: texts("classes")?,
            markers: texts("markers")?,
            representation: text("representation")?,
        })
    }

    /// Whether this is a relation classifier's block.
    pub(crate) fn is_relation(&self) -> bool {
        self.task.as_deref() == Some("relation")
    }

    /// The block as JSON (fields that are not set are left out).
    #[cfg(any(test, feature = "torch"))]
    pub(crate) fn to_value(&self) -> Value {
        let mut o = serde_json::Map::new();
        let mut put = |k: &str, v: Option<Value>| {
            if let Some(v) = v {
                o.insert(k.to_string(), v);
            }
        };
        put("task", self.task.clone().map(Value::from));
        put("casing", self.casing.then_some(Value::Bool(true)));
        put("window", self.window.map(Value::from));
        put("classes", self.classes.clone().map(Value::from));
        put("markers", self.markers.clone().map(Value::from));
        put("max_len", self.max_len.map(Value::from));
        put("train_context", self.train_context.map(Value::from));
        put(
            "representation",
            self.representation.clone().map(Value::from),
        );
        Value::Object(o)
    }

    /// Puts the block into a configuration, replacing any block there (the trainers).
    #[cfg(any(test, feature = "torch"))]
    pub(crate) fn write(&self, raw: &mut Value) {
        if let Some(obj) = raw.as_object_mut() {
            obj.insert("newsgraph".into(), self.to_value());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_block_reads_back_what_it_writes_and_names_a_bad_field() {
        let block = Block {
            task: Some("relation".into()),
            max_len: Some(96),
            train_context: Some(4),
            classes: Some(vec!["no_relation".into(), "per:title(e1,e2)".into()]),
            ..Block::default()
        };
        let mut raw = serde_json::json!({"model_type": "bert"});
        block.write(&mut raw);
        let path = Path::new("config.json");
        assert_eq!(Block::read(&raw, path).unwrap(), block);
        assert!(Block::read(&raw, path).unwrap().is_relation());
        assert_eq!(
            Block::read(&serde_json::json!({}), path).unwrap(),
            Block::default()
        );
        for (key, bad) in [
            ("max_len", serde_json::json!("96")),
            ("window", serde_json::json!(-1)),
            ("casing", serde_json::json!("yes")),
            ("classes", serde_json::json!([1, 2])),
        ] {
            let mut raw = raw.clone();
            raw["newsgraph"][key] = bad;
            let err = Block::read(&raw, path).unwrap_err().to_string();
            assert!(err.contains(&format!("newsgraph.{key}")), "{key}: {err}");
        }
    }
}
