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
    let article = read_text(&path.display().to_string(), bytes)?;
    let id = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or(article.id);
    Ok(Article { id, ..article })
}

/// Makes an article of the bytes of a text named `name` (its id). Invalid UTF-8 is an error
/// naming `name` and the offset of the first bad byte.
pub fn read_text(name: &str, bytes: Vec<u8>) -> Result<Article> {
    let text = String::from_utf8(bytes).map_err(|e| {
        Error::input(
            name,
            format!(
                "not valid UTF-8 (first bad byte at offset {})",
                e.utf8_error().valid_up_to()
            ),
        )
    })?;
    Ok(Article::new(name, text))
}

/// Parses JSON Lines lazily: one article object (`{"id", "text", "title"?, "date"?}`) per line.
///
/// Blank lines are skipped; each bad line gives an error naming `source_name:line`; a read
/// error ends the iteration after its own error.
pub fn read_jsonl<R: BufRead>(reader: R, source_name: &str) -> JsonLines<R> {
    JsonLines {
        lines: reader.split(b'\n'),
        source_name: source_name.to_string(),
        line: 0,
        failed: false,
    }
}

/// The iterator of [`read_jsonl`].
pub struct JsonLines<R> {
    lines: std::io::Split<R>,
    source_name: String,
    line: usize,
    failed: bool,
}

impl<R: BufRead> Iterator for JsonLines<R> {
    type Item = Result<Article>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed {
            return None;
        }
        loop {
            let line = self.lines.next()?;
            self.line += 1;
            let where_ = format!("{}:{}", self.source_name, self.line);
            let line = match line {
                Ok(line) => line,
                Err(e) => {
                    self.failed = true;
                    return Some(Err(Error::input(where_, format!("read failed: {e}"))));
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
                .and_then(parse_article);
            return Some(parsed.map_err(|m| Error::input(where_, m)));
        }
    }
}

/// One JSON line as an article, or what is wrong with it.
fn parse_article(line: &str) -> std::result::Result<Article, String> {
    serde_json::from_str::<Article>(line).map_err(|e| {
        let what = match serde_json::from_str::<serde_json::Value>(line) {
            Err(_) => "not JSON",
            Ok(serde_json::Value::Object(_)) => "not an article object",
            Ok(_) => "a JSON value but not an object",
        };
        format!("{what} (expected {{\"id\": \"…\", \"text\": \"…\"}}): {e}")
    })
}

/// Articles read lazily from paths (see [`read_path`]): a file is read, and a JSON line parsed,
/// only when the iterator gets to it, so a corpus of any size streams through in order.
pub struct Articles {
    inner: Box<dyn Iterator<Item = Result<Article>> + Send>,
}

impl Iterator for Articles {
    type Item = Result<Article>;

    fn next(&mut self) -> Option<Self::Item> {
        self.inner.next()
    }
}

/// Reads a path lazily: a `.jsonl`/`.ndjson` file (one article a line), a directory tree (its
/// `.txt` files, in path order), or any other file as one text article. `-` reads JSON Lines
/// from stdin. One `Result` per article; an unreadable file, directory or line is its own error.
pub fn read_path(path: &Path) -> Articles {
    read_paths([path.to_path_buf()])
}

/// [`read_path`] over several paths, in order.
///
/// ```no_run
/// use std::path::PathBuf;
/// for article in newsgraph::input::read_paths([PathBuf::from("corpus/"), PathBuf::from("more.jsonl")]) {
///     match article {
///         Ok(a) => println!("{}: {} bytes", a.id, a.text.len()),
///         Err(e) => eprintln!("error: {e}"),
///     }
/// }
/// ```
pub fn read_paths(paths: impl IntoIterator<Item = PathBuf>) -> Articles {
    let paths: Vec<PathBuf> = paths.into_iter().collect();
    Articles {
        inner: Box::new(paths.into_iter().flat_map(|p| one_path(&p))),
    }
}

fn one_path(path: &Path) -> Box<dyn Iterator<Item = Result<Article>> + Send> {
    if path.as_os_str() == "-" {
        return Box::new(read_jsonl(
            std::io::BufReader::new(std::io::stdin()),
            "<stdin>",
        ));
    }
    let meta = match std::fs::metadata(path) {
        Ok(m) => m,
        Err(e) => return Box::new(std::iter::once(Err(Error::io(path, e)))),
    };
    if meta.is_dir() {
        // Links are followed (as `ls` of a folder of links would show); loops are errors.
        let files = walkdir::WalkDir::new(path)
            .follow_links(true)
            .sort_by_file_name()
            .into_iter()
            .filter_map(|entry| match entry {
                Ok(e)
                    if e.file_type().is_file()
                        && e.path().extension().is_some_and(|x| x == "txt") =>
                {
                    Some(read_text_file(e.path()))
                }
                Ok(_) => None,
                Err(e) => {
                    let at = e.path().unwrap_or(Path::new("")).to_path_buf();
                    Some(Err(Error::io(at, e.into())))
                }
            });
        return Box::new(files);
    }
    match path.extension().and_then(|e| e.to_str()) {
        Some("jsonl" | "ndjson") => match std::fs::File::open(path) {
            Ok(f) => Box::new(read_jsonl(
                std::io::BufReader::new(f),
                &path.display().to_string(),
            )),
            Err(e) => Box::new(std::iter::once(Err(Error::io(path, e)))),
        },
        _ => Box::new(std::iter::once(read_text_file(path))),
    }
}
