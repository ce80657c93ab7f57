//! Input: articles and the readers that turn files, directory trees and JSON Lines into them.
//!
//! Every reader returns one `Result` per article, so that one unreadable file or bad line costs
//! only itself.

use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use std::io::BufRead;
use std::path::{Path, PathBuf};

/// One article to process.
///
/// ```
/// use newsgraph::Article;
/// let a = Article::new("a1", "Ben Wallace visited Kyiv.").with_date("2022-11-12");
/// assert_eq!(a.date.as_deref(), Some("2022-11-12"));
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Article {
    /// Identifier echoed in the output (the file stem for files).
    pub id: String,
    /// The article text; all offsets in the output refer to it.
    pub text: String,
    /// Optional headline.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// Optional publication date, ISO-8601 (`2022-11-12`) preferred.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date: Option<String>,
}

impl Article {
    /// An article with an id and a text.
    pub fn new(id: impl Into<String>, text: impl Into<String>) -> Self {
        Article {
            id: id.into(),
            text: text.into(),
            title: None,
            date: None,
        }
    }

    /// Sets the headline.
    pub fn with_title(mut self, title: impl Into<String>) -> Self {
        self.title = Some(title.into());
        self
    }

    /// Sets the publication date.
    pub fn with_date(mut self, date: impl Into<String>) -> Self {
        self.date = Some(date.into());
        self
    }
}

/// Reads one text file as an article whose id is the file stem.
///
/// Invalid UTF-8 is an error naming the file and the byte offset; it is never replaced silently.
pub fn read_text_file(path: &Path) -> Result<Article> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    let text = String::from_utf8(bytes).map_err(|e| {
        Error::input(
            path.display().to_string(),
            format!(
                "not valid UTF-8 (first bad byte at offset {})",
                e.utf8_error().valid_up_to()
            ),
        )
    })?;
    let id = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string());
    Ok(Article::new(id, text))
}

/// Parses JSON Lines: one article object (`{"id", "text", "title"?, "date"?}`) per line.
///
/// Blank lines are skipped; each bad line gives an error naming `source_name:line`.
pub fn read_jsonl<R: BufRead>(reader: R, source_name: &str) -> Vec<Result<Article>> {
    let mut out = Vec::new();
    for (i, line) in reader.split(b'\n').enumerate() {
        let where_ = format!("{source_name}:{}", i + 1);
        let line = match line {
            Ok(line) => line,
            Err(e) => {
                out.push(Err(Error::input(where_, format!("read failed: {e}"))));
                break;
            }
        };
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let parsed = std::str::from_utf8(&line)
            .map_err(|e| {
                format!(
                    "not valid UTF-8 (first bad byte at offset {})",
                    e.valid_up_to()
                )
            })
            .and_then(|s| {
                serde_json::from_str::<Article>(s)
                    .map_err(|e| format!("not an article object: {e}"))
            });
        out.push(parsed.map_err(|m| Error::input(where_, m)));
    }
    out
}

/// Reads a path: a `.jsonl`/`.ndjson` file (one article a line), a directory tree (its `.txt`
/// files, sorted by path), or any other file as one text article. `-` reads JSON Lines from stdin.
pub fn read_path(path: &Path) -> Vec<Result<Article>> {
    if path.as_os_str() == "-" {
        return read_jsonl(std::io::stdin().lock(), "<stdin>");
    }
    let meta = match std::fs::metadata(path) {
        Ok(m) => m,
        Err(e) => return vec![Err(Error::io(path, e))],
    };
    if meta.is_dir() {
        let mut files = Vec::new();
        let mut errors = Vec::new();
        collect_txt(path, &mut files, &mut errors);
        files.sort();
        let mut out: Vec<Result<Article>> = errors.into_iter().map(Err).collect();
        out.extend(files.iter().map(|f| read_text_file(f)));
        return out;
    }
    match path.extension().and_then(|e| e.to_str()) {
        Some("jsonl" | "ndjson") => match std::fs::File::open(path) {
            Ok(f) => read_jsonl(std::io::BufReader::new(f), &path.display().to_string()),
            Err(e) => vec![Err(Error::io(path, e))],
        },
        _ => vec![read_text_file(path)],
    }
}

fn collect_txt(dir: &Path, files: &mut Vec<PathBuf>, errors: &mut Vec<Error>) {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) => {
            errors.push(Error::io(dir, e));
            return;
        }
    };
    for entry in entries {
        match entry {
            Ok(entry) => {
                let p = entry.path();
                if p.is_dir() {
                    collect_txt(&p, files, errors);
                } else if p.extension().is_some_and(|e| e == "txt") {
                    files.push(p);
                }
            }
            Err(e) => errors.push(Error::io(dir, e)),
        }
    }
}
