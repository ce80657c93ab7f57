//! Output: one [`Document`] per article, serialized as one JSON line.

use crate::entity::Entity;
use serde::{Deserialize, Serialize};

/// What newsgraph found in one article. Later stages add their fields to this object.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Document {
    /// The article's id.
    pub id: String,
    /// Length of the article text in bytes (entity offsets are into this text).
    pub text_len: usize,
    /// The headline, when the article had one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// The publication date, when the article had one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date: Option<String>,
    /// Entity mentions in text order.
    pub entities: Vec<Entity>,
}

impl Document {
    /// The document as one line of JSON (no trailing newline).
    pub fn to_json_line(&self) -> String {
        // Serializing these plain types cannot fail.
        serde_json::to_string(self).unwrap_or_else(|e| unreachable!("{e}"))
    }
}
