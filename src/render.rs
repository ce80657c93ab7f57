//! Output as a page to look at: one self-contained HTML file (inline CSS and a little script,
//! nothing fetched) with the article text marked up: entities coloured by kind (label, score and
//! cluster on hover), the mentions of one cluster underlined in one colour and lit together on
//! hover, dates and quantities with their normalized value, quotes with their speaker, skipped
//! web-page furniture greyed out, and relations listed as head —relation→ tail, whose evidence
//! is lit in the text on click.
//!
//! [`Document::to_html`] renders one article as a page; [`HtmlWriter`] streams many into one
//! file with an index (a run of 1,000 articles stays one file; sections off screen are not laid
//! out by the browser until scrolled to).

use crate::entity::{Entity, EntityKind};
use crate::error::{Error, Result};
use crate::output::Document;
use crate::quote::Quote;
use crate::temporal::Temporal;
use std::fmt::Write as _;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

impl Document {
    /// The document as a self-contained HTML page; `text` is the article text the document was
    /// made from (offsets point into it).
    ///
    /// Fails when `text` is not that text (another length) or an offset is out of it.
    ///
    /// ```
    /// # fn main() -> newsgraph::Result<()> {
    /// use newsgraph::{Article, Pipeline, PipelineOptions};
    /// let pipeline = Pipeline::load(&newsgraph::default_model_dir(), PipelineOptions::default())?;
    /// let text = "Angela Merkel met <b>Emmanuel Macron</b> in Paris.";
    /// let doc = pipeline.process(&[Article::new("a1", text)]).remove(0)?;
    /// let html = doc.to_html(text)?;
    /// assert!(html.contains(">Angela Merkel</mark>"));
    /// assert!(html.contains("&lt;b&gt;")); // the text is text, never markup
    /// # Ok(()) }
    /// ```
    pub fn to_html(&self, text: &str) -> Result<String> {
        let section = article(0, text, self)?;
        let mut page = String::with_capacity(section.len() + STYLE.len() + SCRIPT.len() + 512);
        page.push_str(&head(self.title.as_deref().unwrap_or(&self.id)));
        page.push_str(&section);
        page.push_str(&tail(""));
        Ok(page)
    }
}

/// Writes many documents into one HTML file with an index, as they come.
///
/// ```no_run
/// # fn main() -> newsgraph::Result<()> {
/// use newsgraph::{Article, HtmlWriter, Pipeline, PipelineOptions};
/// let pipeline = Pipeline::load(&newsgraph::default_model_dir(), PipelineOptions::default())?;
/// let mut html = HtmlWriter::create("out.html")?;
/// let article = Article::new("a1", "Angela Merkel visited Paris.");
/// let doc = pipeline.process(&[article.clone()]).remove(0)?;
/// html.add(&article.text, &doc)?;
/// html.finish()?;
/// # Ok(()) }
/// ```
pub struct HtmlWriter {
    out: BufWriter<File>,
    path: PathBuf,
    index: String,
    sections: usize,
}

impl HtmlWriter {
    /// Creates (or truncates) the file and writes the page's head.
    pub fn create(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref().to_path_buf();
        let file = File::create(&path).map_err(|source| Error::Io {
            path: path.clone(),
            source,
        })?;
        let mut w = HtmlWriter {
            out: BufWriter::new(file),
            path,
            index: String::new(),
            sections: 0,
        };
        w.write(&head("newsgraph"))?;
        Ok(w)
    }

    /// Adds one article's section; `text` is the text the document was made from. A document
    /// that does not fit its text is an error and adds nothing.
    pub fn add(&mut self, text: &str, doc: &Document) -> Result<()> {
        let section = article(self.sections, text, doc)?;
        let _ = write!(
            self.index,
            "<li><a href=\"#a{}\">{}</a> <small>{}</small></li>",
            self.sections,
            escape(doc.title.as_deref().unwrap_or(&doc.id)),
            doc.entities.len()
        );
        self.sections += 1;
        self.write(&section)
    }

    /// Adds a section for an article that failed: its id and the error message.
    pub fn add_error(&mut self, id: &str, message: &str) -> Result<()> {
        let n = self.sections;
        let _ = write!(
            self.index,
            "<li class=\"failed\"><a href=\"#a{n}\">{}</a> <small>failed</small></li>",
            escape(id)
        );
        self.sections += 1;
        self.write(&format!(
            "<section class=\"article failed\" id=\"a{n}\"><header><h2>{}</h2></header><p class=\"error\">{}</p></section>\n",
            escape(id),
            escape(message)
        ))
    }

    /// Writes the index and the page's end; returns the file's path.
    pub fn finish(mut self) -> Result<PathBuf> {
        let end = tail(&self.index);
        self.write(&end)?;
        self.out.flush().map_err(|source| Error::Io {
            path: self.path.clone(),
            source,
        })?;
        Ok(self.path)
    }

    fn write(&mut self, s: &str) -> Result<()> {
        self.out
            .write_all(s.as_bytes())
            .map_err(|source| Error::Io {
                path: self.path.clone(),
                source,
            })
    }
}

/// What a marked span is; the order is the nesting order (outermost first).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Layer {
    Skipped,
    Evidence,
    Quote,
    Temporal,
    Entity,
}

/// A span to mark: `[start, end)` in bytes and its opening tag (closed by `</{tag}>`).
#[derive(Debug, Clone)]
struct Mark {
    start: usize,
    end: usize,
    layer: Layer,
    open: String,
}

impl Mark {
    fn close(&self) -> &'static str {
        match self.layer {
            Layer::Entity => "</mark>",
            _ => "</span>",
        }
    }
}

/// One article's `<section>`: header, marked text, relations, clusters and quotes.
fn article(n: usize, text: &str, doc: &Document) -> Result<String> {
    if text.len() != doc.text_len {
        return Err(Error::input(
            &doc.id,
            format!(
                "cannot render: the text has {} bytes, the document was made from {}",
                text.len(),
                doc.text_len
            ),
        ));
    }
    let marks = marks(n, text, doc)?;
    let mut s = String::with_capacity(text.len() * 4 + 1024);
    let _ = write!(
        s,
        "<section class=\"article\" id=\"a{n}\" data-id=\"{}\"><header><h2>{}</h2><p class=\"meta\">{}",
        escape(&doc.id),
        escape(doc.title.as_deref().unwrap_or(&doc.id)),
        escape(&doc.id)
    );
    if let Some(date) = &doc.date {
        let _ = write!(s, " · {}", escape(date));
    }
    let _ = write!(
        s,
        " · {} entities · {} clusters · {} relations · {} quotes</p></header>\n<div class=\"text\">",
        doc.entities.len(),
        doc.clusters.len(),
        doc.relations.len(),
        doc.quotes.len()
    );
    marked_text(&mut s, text, marks);
    s.push_str("</div>\n<aside>");
    relations(&mut s, n, doc);
    clusters(&mut s, doc);
    s.push_str("</aside></section>\n");
    Ok(s)
}

fn relations(s: &mut String, n: usize, doc: &Document) {
    let _ = write!(
        s,
        "<h3>Relations</h3><ol class=\"relations\">{}",
        if doc.relations.is_empty() {
            "<li class=\"none\">none found</li>"
        } else {
            ""
        }
    );
    for r in &doc.relations {
        let tail_c = r
            .tail
            .map(|t| format!(" data-c=\"{t}\""))
            .unwrap_or_default();
        let _ = write!(
            s,
            "<li data-ev=\"{}\" title=\"click: show the evidence\"><span class=\"end\" data-c=\"{}\">{}</span> <span class=\"rel\">—{}→</span> <span class=\"end\"{tail_c}>{}</span> <small>{:.2}</small></li>",
            evidence_id(n, r.evidence.start, r.evidence.end),
            r.head,
            escape(&r.head_text),
            escape(r.relation.as_str()),
            escape(&r.tail_text),
            r.score
        );
    }
    s.push_str("</ol>");
}

fn clusters(s: &mut String, doc: &Document) {
    let many: Vec<_> = doc
        .clusters
        .iter()
        .filter(|c| c.mentions.len() > 1)
        .collect();
    if many.is_empty() {
        return;
    }
    s.push_str("<h3>Clusters</h3><ol class=\"clusters\">");
    for c in many {
        let _ = write!(
            s,
            "<li data-c=\"{}\" style=\"--c:{}\"><span class=\"swatch\"></span>{} <small>{} · {} mentions</small></li>",
            c.id,
            cluster_colour(c.id),
            escape(&c.name),
            escape(c.kind.as_str()),
            c.mentions.len()
        );
    }
    s.push_str("</ol>");
}

/// Every span to mark, checked against the text.
fn marks(n: usize, text: &str, doc: &Document) -> Result<Vec<Mark>> {
    let check = |what: &str, i: usize, start: usize, end: usize| -> Result<()> {
        if start <= end
            && end <= text.len()
            && text.is_char_boundary(start)
            && text.is_char_boundary(end)
        {
            return Ok(());
        }
        Err(Error::input(
            &doc.id,
            format!(
                "cannot render: {what} {i} spans bytes {start}..{end}, not a slice of the {}-byte text",
                text.len()
            ),
        ))
    };
    let mut out = Vec::new();
    for (i, e) in doc.entities.iter().enumerate() {
        check("entity", i, e.start, e.end)?;
        out.push(entity_mark(doc, i, e));
    }
    for (i, t) in doc.temporal.iter().enumerate() {
        check("temporal expression", i, t.start, t.end)?;
        out.push(temporal_mark(t));
    }
    for (i, q) in doc.quotes.iter().enumerate() {
        check("quote", i, q.start, q.end)?;
        out.push(quote_mark(i, q));
    }
    let mut evidence: Vec<(usize, usize)> = Vec::new();
    for (i, r) in doc.relations.iter().enumerate() {
        let (start, end) = (r.evidence.start, r.evidence.end);
        check("the evidence of relation", i, start, end)?;
        if !evidence.contains(&(start, end)) {
            evidence.push((start, end));
        }
    }
    out.extend(evidence.into_iter().map(|(start, end)| Mark {
        start,
        end,
        layer: Layer::Evidence,
        open: format!(
            "<span class=\"ev\" data-ev=\"{}\">",
            evidence_id(n, start, end)
        ),
    }));
    for (i, k) in doc.skipped.iter().enumerate() {
        check("skipped span", i, k.start, k.end)?;
        out.push(Mark {
            start: k.start,
            end: k.end,
            layer: Layer::Skipped,
            open: format!(
                "<span class=\"skip\" title=\"skipped: {}\">",
                escape(&serde_name(&k.reason))
            ),
        });
    }
    out.retain(|m| m.start < m.end);
    Ok(split_at_entities(out))
}

/// Entity `i`: its kind's colour class, label, score and cluster in the title.
fn entity_mark(doc: &Document, i: usize, e: &Entity) -> Mark {
    let mut title = format!("{} ({}) · {:.2}", e.label, e.kind.as_str(), e.score);
    let mut cluster = String::new();
    if let Some(c) = e.cluster {
        let _ = write!(
            cluster,
            " data-c=\"{c}\" style=\"--c:{}\"",
            cluster_colour(c)
        );
        if let Some(found) = doc.clusters.iter().find(|k| k.id == c) {
            let _ = write!(title, " · cluster {c}: {}", found.name);
        }
    }
    Mark {
        start: e.start,
        end: e.end,
        layer: Layer::Entity,
        open: format!(
            "<mark class=\"ent k-{}\" data-i=\"{i}\"{cluster} title=\"{}\">",
            kind_class(&e.kind),
            escape(&title)
        ),
    }
}

/// A temporal expression or quantity with its resolved value (number and unit, or text).
fn temporal_mark(t: &Temporal) -> Mark {
    let label = serde_name(&t.label);
    let value = t.value.as_ref().map(|v| match v {
        crate::temporal::Value::Number(x) => {
            let unit = t
                .unit
                .as_deref()
                .map(|u| format!(" {u}"))
                .unwrap_or_default();
            format!("{}{unit}", number(*x))
        }
        crate::temporal::Value::Text(s) => s.clone(),
    });
    let data_v = value
        .as_deref()
        .map(|v| format!(" data-v=\"{}\"", escape(v)))
        .unwrap_or_default();
    let title = format!("{label}: {}", value.as_deref().unwrap_or("not resolved"));
    Mark {
        start: t.start,
        end: t.end,
        layer: Layer::Temporal,
        open: format!("<span class=\"tm\"{data_v} title=\"{}\">", escape(&title)),
    }
}

/// Quote `i` with its speaker (and the speaker's cluster).
fn quote_mark(i: usize, q: &Quote) -> Mark {
    let speaker = q.speaker_text.as_deref().unwrap_or("speaker unknown");
    let c = q
        .speaker
        .map(|c| format!(" data-c=\"{c}\""))
        .unwrap_or_default();
    Mark {
        start: q.start,
        end: q.end,
        layer: Layer::Quote,
        open: format!(
            "<span class=\"quote\" data-q=\"{i}\" data-speaker=\"{}\"{c} title=\"quote — {}\">",
            escape(speaker),
            escape(speaker)
        ),
    }
}

/// Cuts every other span where an entity crosses its edge, so that the pieces nest with the
/// entities and an entity stays one element.
fn split_at_entities(marks: Vec<Mark>) -> Vec<Mark> {
    let entities: Vec<(usize, usize)> = marks
        .iter()
        .filter(|m| m.layer == Layer::Entity)
        .map(|m| (m.start, m.end))
        .collect();
    let mut out = Vec::with_capacity(marks.len());
    for m in marks {
        if m.layer == Layer::Entity {
            out.push(m);
            continue;
        }
        let mut cuts: Vec<usize> = entities
            .iter()
            .filter_map(|&(s, e)| {
                if m.start < s && s < m.end && e > m.end {
                    Some(s)
                } else if m.start < e && e < m.end && s < m.start {
                    Some(e)
                } else {
                    None
                }
            })
            .collect();
        cuts.sort_unstable();
        cuts.dedup();
        let mut from = m.start;
        for cut in cuts.into_iter().chain([m.end]) {
            out.push(Mark {
                start: from,
                end: cut,
                ..m.clone()
            });
            from = cut;
        }
    }
    out
}

/// The text, escaped, with the marks as properly nested elements: a span that crosses another
/// is closed and opened again around it.
fn marked_text(s: &mut String, text: &str, mut marks: Vec<Mark>) {
    // Outer before inner: earlier start, then later end, then layer.
    marks.sort_by(|a, b| {
        (a.start, std::cmp::Reverse(a.end), a.layer).cmp(&(
            b.start,
            std::cmp::Reverse(b.end),
            b.layer,
        ))
    });
    let mut cuts: Vec<usize> = marks.iter().flat_map(|m| [m.start, m.end]).collect();
    cuts.push(text.len());
    cuts.sort_unstable();
    cuts.dedup();
    let mut stack: Vec<usize> = Vec::new();
    let mut next = 0;
    let mut pos = 0;
    for cut in cuts {
        s.push_str(&escape(&text[pos..cut]));
        pos = cut;
        // Close what ends here, and everything opened inside it.
        let mut reopen = Vec::new();
        if let Some(lowest) = stack.iter().position(|&i| marks[i].end == pos) {
            while stack.len() > lowest {
                if let Some(i) = stack.pop() {
                    s.push_str(marks[i].close());
                    if marks[i].end > pos {
                        reopen.push(i);
                    }
                }
            }
        }
        while next < marks.len() && marks[next].start == pos {
            reopen.push(next);
            next += 1;
        }
        reopen.sort_by(|&a, &b| {
            (std::cmp::Reverse(marks[a].end), marks[a].layer)
                .cmp(&(std::cmp::Reverse(marks[b].end), marks[b].layer))
        });
        for i in reopen {
            s.push_str(&marks[i].open);
            stack.push(i);
        }
    }
    while let Some(i) = stack.pop() {
        s.push_str(marks[i].close());
    }
}

/// A number as a reader writes it: digits grouped by thousands when it is a large whole number.
fn number(x: f64) -> String {
    if x.fract() != 0.0 || x.abs() < 10_000.0 || x.abs() > 1e15 {
        return format!("{x}");
    }
    let digits = format!("{}", x.abs() as u64);
    let mut out = String::with_capacity(digits.len() + digits.len() / 3 + 1);
    if x < 0.0 {
        out.push('-');
    }
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn evidence_id(n: usize, start: usize, end: usize) -> String {
    format!("a{n}-{start}-{end}")
}

/// A distinct colour per cluster id (golden-angle hues).
fn cluster_colour(id: usize) -> String {
    format!("hsl({:.0} 70% 38%)", (id as f64 * 137.508) % 360.0)
}

fn kind_class(kind: &EntityKind) -> &'static str {
    match kind {
        EntityKind::Person => "person",
        EntityKind::Organization => "organization",
        k if k.is_place() => "location",
        EntityKind::Misc | EntityKind::Norp | EntityKind::Event | EntityKind::Product => "misc",
        _ => "other",
    }
}

/// A unit enum's serde name (`DATE`, `furniture`).
fn serde_name<T: serde::Serialize>(t: &T) -> String {
    match serde_json::to_value(t) {
        Ok(serde_json::Value::String(s)) => s,
        _ => String::new(),
    }
}

/// Text as HTML text or attribute value.
fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + s.len() / 8);
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn head(title: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width\"><title>{}</title><style>{STYLE}</style></head><body><main>\n",
        escape(title)
    )
}

/// The end of the page: the index (placed beside the articles by the style sheet), the legend,
/// the script.
fn tail(index: &str) -> String {
    let nav = if index.is_empty() {
        String::new()
    } else {
        format!("<nav id=\"index\"><h1>newsgraph</h1>{LEGEND}<ol>{index}</ol></nav>")
    };
    let legend = if index.is_empty() { LEGEND } else { "" };
    format!("</main>{nav}<footer>{legend}</footer><script>{SCRIPT}</script></body></html>\n")
}

const LEGEND: &str = "<p class=\"legend\"><mark class=\"ent k-person\">person</mark> <mark class=\"ent k-organization\">organization</mark> <mark class=\"ent k-location\">location</mark> <mark class=\"ent k-misc\">misc</mark> <mark class=\"ent k-other\">other</mark> <span class=\"tm\" data-v=\"value\">date, quantity</span> <span class=\"quote\" data-speaker=\"speaker\">quote</span> <span class=\"skip\">skipped</span></p>";

const STYLE: &str = r#"
body{margin:0;font:16px/1.55 system-ui,-apple-system,"Segoe UI",sans-serif;color:#1d1d1f;background:#fafafa}
main{max-width:72rem;padding:1rem 2rem}
nav#index~footer{display:none}
body:has(nav#index) main{margin-left:17rem}
nav#index{position:fixed;top:0;left:0;bottom:0;width:15rem;overflow:auto;padding:.5rem 1rem;background:#f0f0f3;border-right:1px solid #ddd;font-size:.85rem}
nav#index h1{font-size:1.1rem;margin:.3rem 0}
nav#index ol{padding-left:1.5rem}
nav#index li.failed a{color:#b00}
.article{content-visibility:auto;contain-intrinsic-size:auto 60rem;display:grid;grid-template-columns:minmax(0,1fr) 20rem;gap:0 2rem;background:#fff;border:1px solid #e3e3e8;border-radius:8px;padding:0 1.5rem 1rem;margin:0 0 1.5rem}
.article header{grid-column:1/3}
.article h2{margin:.8rem 0 0;font-size:1.3rem}
.meta{color:#666;font-size:.85rem;margin:.2rem 0 .6rem}
.text{white-space:pre-wrap;overflow-wrap:anywhere}
aside{font-size:.88rem}
aside h3{font-size:.95rem;margin:.6rem 0 .3rem}
aside ol{padding-left:1.3rem;margin:0}
.relations li{cursor:pointer;margin:.15rem 0}
.relations li:hover,.relations li.on{background:#fff3b0}
.relations .rel{color:#555;font-family:ui-monospace,monospace;font-size:.8rem}
.relations .none{color:#888;cursor:default}
.clusters li{cursor:default}
.swatch{display:inline-block;width:.7rem;height:.7rem;border-radius:2px;background:var(--c);margin-right:.3rem}
mark.ent{border-radius:3px;padding:0 1px;color:inherit;border-bottom:3px solid var(--c,transparent)}
.k-person{background:#ffd9b3}.k-organization{background:#c6e2ff}.k-location{background:#c8f0c0}.k-misc{background:#e6d4fa}.k-other{background:#e6e6e6}
.hl{outline:2px solid var(--c,#333);outline-offset:1px}
.tm{border-bottom:1px dashed #777}
.tm[data-v]::after{content:attr(data-v);font-size:.68em;vertical-align:super;color:#36c;margin-left:1px;white-space:nowrap}
.quote{background:#f4f8ec;box-shadow:inset 0 -1px #9bb86b}
.quote::after{content:" — " attr(data-speaker);font-size:.75em;color:#5a7a2a;font-style:italic}
.skip{color:#aaa;text-decoration:line-through #ddd}
.skip mark.ent{background:#f2f2f2}
.ev.on{background:#fff3b0;box-shadow:0 0 0 2px #f5d000}
.failed .error{color:#b00;font-family:ui-monospace,monospace}
.legend mark,.legend span{margin-right:.2rem}
footer{padding:0 2rem 2rem}
"#;

/// Hovering a mention (or a cluster, a quote, a relation's end) lights every mention of its
/// cluster in its article; clicking a relation lights its evidence and scrolls to it (so does
/// opening the page at `#<evidence id>`).
const SCRIPT: &str = r#"
(function(){
  var lit=[];
  function clear(){lit.forEach(function(e){e.classList.remove('hl')});lit=[];}
  document.addEventListener('mouseover',function(ev){
    var m=ev.target.closest('[data-c]');clear();if(!m)return;
    var s=m.closest('section');if(!s)return;
    s.querySelectorAll('mark[data-c="'+m.dataset.c+'"]').forEach(function(e){e.classList.add('hl');lit.push(e);});
  });
  function show(li){
    var s=li.closest('section');
    s.querySelectorAll('.on').forEach(function(e){e.classList.remove('on')});
    li.classList.add('on');
    var spans=s.querySelectorAll('.ev[data-ev="'+li.dataset.ev+'"]');
    spans.forEach(function(e){e.classList.add('on')});
    if(spans.length)spans[0].scrollIntoView({block:'center',behavior:'smooth'});
  }
  document.addEventListener('click',function(ev){
    var li=ev.target.closest('li[data-ev]');if(li)show(li);
  });
  // An address ending in #<evidence id> opens with that relation's evidence lit.
  var h=decodeURIComponent(location.hash.slice(1));
  var li=h&&document.querySelector('li[data-ev="'+h.replace(/"/g,'')+'"]');
  if(li)show(li);
})();
"#;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::Cluster;
    use crate::entity::Entity;
    use crate::quote::Quote;
    use crate::relation::{Relation, RelationKind};
    use crate::span::{CharIndex, Span};
    use crate::temporal::{Temporal, TemporalLabel, Value};

    fn entity(text: &str, whole: &str, label: &str, cluster: Option<usize>) -> Entity {
        let start = whole.find(text).unwrap();
        Entity {
            text: text.into(),
            label: label.into(),
            kind: EntityKind::from_label(label),
            start,
            end: start + text.len(),
            char_start: whole[..start].chars().count(),
            char_end: whole[..start].chars().count() + text.chars().count(),
            score: 0.9,
            cluster,
        }
    }

    fn doc(text: &str, entities: Vec<Entity>) -> Document {
        Document {
            id: "t<1>".into(),
            text_len: text.len(),
            title: Some("<b>Title</b> & co".into()),
            date: None,
            entities,
            clusters: vec![],
            relations: vec![],
            quotes: vec![],
            temporal: vec![],
            skipped: vec![],
            limits: vec![],
        }
    }

    /// The marked-up text of the (first) article.
    fn text_div(html: &str) -> &str {
        let body = &html[html.find("<div class=\"text\">").unwrap() + 18..];
        &body[..body.find("</div>").unwrap()]
    }

    /// The entities' marks in the text, in text order: (data-i, the text inside with tags
    /// removed, unescaped).
    fn marked(html: &str) -> Vec<(usize, String)> {
        let mut out = Vec::new();
        let mut rest = text_div(html);
        while let Some(at) = rest.find("<mark class=\"ent k-") {
            rest = &rest[at..];
            let i: usize = rest
                .split("data-i=\"")
                .nth(1)
                .and_then(|r| r.split('"').next())
                .and_then(|n| n.parse().ok())
                .unwrap();
            let open_end = rest.find('>').unwrap() + 1;
            let close = rest.find("</mark>").unwrap();
            out.push((i, unescape(&strip_tags(&rest[open_end..close]))));
            rest = &rest[close..];
        }
        out
    }

    fn strip_tags(s: &str) -> String {
        let mut out = String::new();
        let mut inside = false;
        for c in s.chars() {
            match c {
                '<' => inside = true,
                '>' => inside = false,
                c if !inside => out.push(c),
                _ => {}
            }
        }
        out
    }

    fn unescape(s: &str) -> String {
        s.replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&quot;", "\"")
            .replace("&#39;", "'")
            .replace("&amp;", "&")
    }

    #[test]
    fn text_is_escaped_never_markup() {
        let text = "Officials said <script>alert('x')</script> & \"more\" in Paris.";
        let d = doc(text, vec![entity("Paris", text, "LOC", None)]);
        let html = d.to_html(text).unwrap();
        assert!(!html.contains("<script>alert"), "{html}");
        assert!(
            html.contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;more&quot;")
        );
        assert!(!html.contains("<b>Title</b>"));
        assert!(html.contains("&lt;b&gt;Title&lt;/b&gt; &amp; co"));
        assert!(html.contains("data-id=\"t&lt;1&gt;\""));
        // The only script is the page's own.
        assert_eq!(html.matches("<script>").count(), 1);
        assert_eq!(marked(&html), [(0, "Paris".to_string())]);
        // The text survives: tags out, entities unescaped, it is the article again.
        assert_eq!(unescape(&strip_tags(text_div(&html))), text);
    }

    #[test]
    fn crossing_spans_nest_and_entities_stay_whole() {
        // A quote that starts inside an entity's sentence and a date that crosses an entity.
        let text = "He said “Joe Biden will visit in May 2024 World Cup” on Monday.";
        let mut d = doc(
            text,
            vec![
                entity("Joe Biden", text, "PER", Some(0)),
                entity("2024 World Cup", text, "MISC", None),
            ],
        );
        d.clusters = vec![Cluster {
            id: 0,
            name: "Joe Biden".into(),
            kind: EntityKind::Person,
            mentions: vec![0],
            salience: 1.0,
        }];
        let chars = CharIndex::new(text);
        let date_start = text.find("May 2024").unwrap();
        d.temporal = vec![Temporal {
            text: "May 2024".into(),
            label: TemporalLabel::Date,
            value: Some(Value::Text("2024-05".into())),
            unit: None,
            start: date_start,
            end: date_start + "May 2024".len(),
            char_start: chars.at(date_start),
            char_end: chars.at(date_start + "May 2024".len()),
        }];
        let q = text.find("Joe").unwrap();
        let q_end = text.find("Cup").unwrap() + 3;
        d.quotes = vec![Quote {
            text: text[q..q_end].into(),
            start: q,
            end: q_end,
            char_start: chars.at(q),
            char_end: chars.at(q_end),
            speaker: None,
            speaker_text: Some("He".into()),
            speaker_span: None,
        }];
        let ev_end = text.find(" on").unwrap();
        d.relations = vec![Relation {
            relation: RelationKind::PerTitle,
            head: 0,
            tail: None,
            head_text: "Joe Biden".into(),
            tail_text: "x".into(),
            score: 0.5,
            evidence: chars.span(Span::bytes(0, ev_end)),
        }];
        let html = d.to_html(text).unwrap();
        assert_eq!(
            marked(&html),
            [
                (0, "Joe Biden".to_string()),
                (1, "2024 World Cup".to_string())
            ]
        );
        // Well nested: every element closes in the order opened.
        let body = text_div(&html);
        let mut stack = Vec::new();
        for part in body.split('<').skip(1) {
            let name: String = part
                .trim_start_matches('/')
                .chars()
                .take_while(|c| c.is_alphanumeric())
                .collect();
            if part.starts_with('/') {
                assert_eq!(stack.pop(), Some(name), "{body}");
            } else {
                stack.push(name);
            }
        }
        assert!(stack.is_empty());
        assert_eq!(unescape(&strip_tags(body)), text);
        // The date is cut where the entity begins: both pieces carry its value.
        assert_eq!(html.matches("data-v=\"2024-05\"").count(), 2);
        assert!(html.contains("data-ev=\"a0-0-"));
        assert!(html.contains("—per:title→"));
    }

    #[test]
    fn a_document_that_does_not_fit_its_text_is_an_error() {
        let text = "Merkel in Paris.";
        let d = doc(text, vec![entity("Paris", text, "LOC", None)]);
        let err = d.to_html("Merkel in Pari").unwrap_err().to_string();
        assert!(err.contains("14 bytes") && err.contains("16"), "{err}");
        let mut bad = d.clone();
        bad.entities[0].end = 99;
        let err = bad.to_html(text).unwrap_err().to_string();
        assert!(err.contains("entity 0 spans bytes 10..99"), "{err}");
        let text = "Zürich.";
        let mut d = doc(text, vec![entity("Zürich", text, "LOC", None)]);
        d.entities[0].end = 2; // inside "ü"
        assert!(d.to_html(text).is_err());
    }

    #[test]
    fn large_numbers_are_grouped() {
        assert_eq!(number(1_130_000_000.0), "1,130,000,000");
        assert_eq!(number(-464_000.0), "-464,000");
        assert_eq!(number(2003.0), "2003");
        assert_eq!(number(0.75), "0.75");
        assert_eq!(number(12_345.5), "12345.5");
    }

    #[test]
    fn the_writer_indexes_every_article() {
        let dir = std::env::temp_dir().join(format!("newsgraph-render-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("out.html");
        let mut w = HtmlWriter::create(&path).unwrap();
        let text = "Merkel in Paris.";
        let d = doc(text, vec![entity("Paris", text, "LOC", None)]);
        w.add(text, &d).unwrap();
        assert!(w.add("other text", &d).is_err());
        w.add_error("broken<1>", "the text is empty").unwrap();
        w.add(text, &d).unwrap();
        let html = std::fs::read_to_string(w.finish().unwrap()).unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
        for n in 0..3 {
            assert!(html.contains(&format!("id=\"a{n}\"")));
            assert!(html.contains(&format!("href=\"#a{n}\"")));
        }
        assert!(!html.contains("id=\"a3\""));
        assert!(html.contains("broken&lt;1&gt;"));
        assert!(html.trim_end().ends_with("</html>"));
    }
}
