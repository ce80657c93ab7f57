//! Training examples: CoNLL documents and unlabelled articles cut into labelled windows, and
//! their batches as tensors.

use super::*;

/// One training window: ids with special tokens, casing classes, labels (-100 = no loss), the
/// positions the loss is on (first sub-tokens of the words the window owns; unlabelled
/// transfer text has them too) and, when distilling, the teacher's logits at those positions.
pub(crate) struct Example {
    pub(crate) ids: Vec<i64>,
    pub(crate) casing: Vec<i64>,
    pub(crate) labels: Vec<i64>,
    pub(crate) scored: Vec<bool>,
    pub(crate) soft: Vec<f32>,
}

/// Entity types in order of first appearance (CoNLL order PER, ORG, LOC, MISC varies).
pub(crate) fn entity_types(docs: &[ConllDocument]) -> Vec<String> {
    let mut types: Vec<String> = Vec::new();
    for s in docs.iter().flat_map(|d| &d.sentences) {
        for c in chunks(&s.tags) {
            if !types.contains(&c.typ) {
                types.push(c.typ);
            }
        }
    }
    types
}

pub(crate) fn examples(
    docs: &[ConllDocument],
    tok: &TextTokenizer,
    labels: &LabelSet,
    window: usize,
) -> Result<Vec<Example>> {
    let mut out = Vec::new();
    for doc in docs {
        let (text, spans) = doc.text();
        let tokens = tok.tokenize(&text)?;
        if tokens.is_empty() {
            continue;
        }
        let word_label = word_labels(doc, &spans, &tokens, labels);
        windowed(&text, &tokens, &word_label, tok, window, &mut out);
    }
    Ok(out)
}

/// Windows of texts without labels (for distillation: the teacher labels them).
pub(crate) fn transfer_examples(
    texts: &[String],
    tok: &TextTokenizer,
    window: usize,
) -> Result<Vec<Example>> {
    let mut out = Vec::new();
    for text in texts {
        let tokens = tok.tokenize(text)?;
        if tokens.is_empty() {
            continue;
        }
        let unlabelled = vec![-100; tokens.words.len()];
        windowed(text, &tokens, &unlabelled, tok, window, &mut out);
    }
    Ok(out)
}

/// The label of each tokenizer word of a CoNLL document laid out as text (`spans`: each
/// sentence's CoNLL tokens in it).
pub(crate) fn word_labels(
    doc: &ConllDocument,
    spans: &[Vec<(usize, usize)>],
    tokens: &Tokens,
    labels: &LabelSet,
) -> Vec<i64> {
    // Per CoNLL token (flattened): Some((chunk id, type)) when inside an entity.
    let mut token_spans = Vec::new();
    let mut token_chunk: Vec<Option<(usize, String)>> = Vec::new();
    let mut next_chunk = 0;
    for (s, sp) in doc.sentences.iter().zip(spans) {
        let mut inside = vec![None; sp.len()];
        for c in chunks(&s.tags) {
            for slot in &mut inside[c.start..c.end] {
                *slot = Some((next_chunk, c.typ.clone()));
            }
            next_chunk += 1;
        }
        token_spans.extend_from_slice(sp);
        token_chunk.extend(inside);
    }
    let mut last_chunk = None;
    tokens
        .words
        .iter()
        .map(|&(ws, _)| {
            let i = token_spans.partition_point(|&(_, e)| e <= ws);
            match token_chunk.get(i).cloned().flatten() {
                Some((id, typ)) => {
                    let prefix = if last_chunk == Some(id) { "I" } else { "B" };
                    last_chunk = Some(id);
                    labels.id(&format!("{prefix}-{typ}")).unwrap_or(0) as i64
                }
                None => {
                    last_chunk = None;
                    0
                }
            }
        })
        .collect()
}

/// Cuts a tokenized text into training windows (the pipeline's cutter, the training overlap),
/// labelled from `word_label`.
pub(crate) fn windowed(
    text: &str,
    tokens: &Tokens,
    word_label: &[i64],
    tok: &TextTokenizer,
    window: usize,
    out: &mut Vec<Example>,
) {
    let cuts = cut_quality(&tokens.offsets, &tokens.word_of, &sentence_starts(text));
    let max_len = window - 2;
    for w in windows(&cuts, max_len, training_overlap(max_len)) {
        let mut ex = Example {
            ids: vec![tok.cls_id() as i64],
            casing: vec![0],
            labels: vec![-100],
            scored: vec![false],
            soft: Vec::new(),
        };
        for i in w.start..w.end {
            let word = tokens.word_of[i] as usize;
            let first_of_word = i == 0 || tokens.word_of[i - 1] as usize != word;
            ex.ids.push(tokens.ids[i] as i64);
            ex.casing.push(tokens.casing[word] as i64);
            let scored = i >= w.own_start && i < w.own_end && first_of_word;
            ex.labels.push(if scored { word_label[word] } else { -100 });
            ex.scored.push(scored);
        }
        ex.ids.push(tok.sep_id() as i64);
        ex.casing.push(0);
        ex.labels.push(-100);
        ex.scored.push(false);
        out.push(ex);
    }
}

/// A batch as tensors: `[batch, seq]` ids, mask, casing and gold labels; the flat indices
/// (into `batch × seq`) of the scored positions, with the teacher's logits there
/// (`[scored, labels]`, when distilling); the number of labelled positions.
pub(crate) struct Batch {
    pub(crate) ids: Tensor,
    pub(crate) mask: Tensor,
    pub(crate) casing: Tensor,
    pub(crate) gold: Tensor,
    pub(crate) scored: Tensor,
    pub(crate) soft: Option<Tensor>,
    pub(crate) labelled: usize,
}

/// `batch` as tensors, each row padded to the longest.
pub(crate) fn batch_tensors(batch: &[&Example], pad: i64, device: Device) -> Batch {
    let (ids, mask, casing) = input_tensors(
        batch.iter().map(|e| (&e.ids[..], &e.casing[..])),
        pad,
        device,
    );
    let shape = ids.size();
    let t = shape[1] as usize;
    let labels = padded(batch.iter().map(|e| &e.labels[..]), t, -100);
    let (mut scored, mut soft) = (Vec::new(), Vec::new());
    for (r, e) in batch.iter().enumerate() {
        scored.extend(
            e.scored
                .iter()
                .enumerate()
                .filter(|(_, &s)| s)
                .map(|(i, _)| (r * t + i) as i64),
        );
        soft.extend_from_slice(&e.soft);
    }
    let labelled = labels.iter().filter(|&&l| l != -100).count();
    let soft = (!soft.is_empty() && !scored.is_empty()).then(|| {
        Tensor::from_slice(&soft)
            .view([scored.len() as i64, -1])
            .to_device(device)
    });
    Batch {
        ids,
        mask,
        casing,
        gold: Tensor::from_slice(&labels)
            .view(shape.as_slice())
            .to_device(device),
        scored: Tensor::from_slice(&scored).to_device(device),
        soft,
        labelled,
    }
}

/// `[rows, longest]` ids (padded with `pad`), attention mask and casing of `(ids, casing)` rows.
pub(crate) fn input_tensors<'a>(
    rows: impl Iterator<Item = (&'a [i64], &'a [i64])> + Clone,
    pad: i64,
    device: Device,
) -> (Tensor, Tensor, Tensor) {
    let t = rows.clone().map(|(ids, _)| ids.len()).max().unwrap_or(0);
    let b = rows.clone().count() as i64;
    let mk = |v: Vec<i64>| Tensor::from_slice(&v).view([b, t as i64]).to_device(device);
    let ones = vec![1; t];
    (
        mk(padded(rows.clone().map(|(ids, _)| ids), t, pad)),
        mk(padded(
            rows.clone().map(|(ids, _)| &ones[..ids.len()]),
            t,
            0,
        )),
        mk(padded(rows.map(|(_, casing)| casing), t, 0)),
    )
}

/// The rows one after another, each filled with `fill` to length `t`.
pub(crate) fn padded<'a>(rows: impl Iterator<Item = &'a [i64]>, t: usize, fill: i64) -> Vec<i64> {
    let mut out = Vec::new();
    for row in rows {
        out.extend_from_slice(row);
        out.resize(out.len() + t - row.len(), fill);
    }
    out
}

/// Length-bucketed batches of at most `steps` × `batch` items: shuffled, sorted by length
/// within groups of 50 batches (little padding), and the batches shuffled again.
pub(crate) fn bucketed_batches<'a, T>(
    items: &'a [T],
    batch: usize,
    steps: usize,
    rng: &mut rand::rngs::StdRng,
    len: impl Fn(&T) -> usize,
) -> Vec<Vec<&'a T>> {
    let mut order: Vec<&T> = items.iter().collect();
    order.shuffle(rng);
    let mut batches: Vec<Vec<&T>> = Vec::new();
    for group in order.chunks(batch * 50) {
        let mut g = group.to_vec();
        g.sort_by_key(|e| len(e));
        batches.extend(g.chunks(batch).map(<[&T]>::to_vec));
    }
    batches.shuffle(rng);
    batches.truncate(steps);
    batches
}

/// The windows of an epoch's training documents with their mentions swapped (`mentions`,
/// [`TrainConfig::mention_swap`]); the draw depends on the seed and the epoch alone, so a
/// resumed run sees what the whole run would have.
pub(crate) fn swapped_examples(
    config: &TrainConfig,
    mentions: &augment::Mentions,
    epoch: usize,
    tokenizer: &TextTokenizer,
    labels: &LabelSet,
) -> Result<Vec<Example>> {
    let mut rng = rand::rngs::StdRng::seed_from_u64(config.seed + epoch as u64);
    let docs = mentions.swap(&config.train, config.mention_swap, &mut rng);
    examples(&docs, tokenizer, labels, config.window)
}

/// The training windows: the labelled documents', then the transfer texts'; with a teacher, its
/// logits on each of them and its agreement with the gold labels.
pub(crate) fn training_examples(
    config: &TrainConfig,
    tokenizer: &TextTokenizer,
    labels: &LabelSet,
) -> Result<(Vec<Example>, Option<f64>)> {
    let mut examples = examples(&config.train, tokenizer, labels, config.window)?;
    let Some(distill) = &config.teacher else {
        if !config.transfer.is_empty() {
            return Err(Error::Setting(
                "transfer texts are labelled by a teacher: give a teacher model too".into(),
            ));
        }
        return Ok((examples, None));
    };
    distill.check()?;
    examples.extend(transfer_examples(
        &config.transfer,
        tokenizer,
        config.window,
    )?);
    teach(distill, &mut examples, tokenizer, labels, config.device)?;
    let agreement = agreement(&examples, labels.len());
    Ok((examples, Some(agreement)))
}
