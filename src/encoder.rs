//! The engine boundary: a batch of windows in, label probabilities out, as plain data. The
//! pipeline, decoding and the rules never see an engine's tensor type; every engine (ONNX
//! Runtime graphs, rust-bert with the `torch` feature) implements [`Encoder`].

/// What an engine computes for each token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Output {
    /// Scores before the softmax.
    Logits,
    /// Label probabilities.
    Probs,
    /// The encoder's last hidden states (graphs built without a head).
    Hidden,
}

/// Turns scores into probabilities in place (max-shifted, so large scores do not overflow).
pub(crate) fn softmax(v: &mut [f32]) {
    let max = v.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let mut sum = 0.0;
    for x in v.iter_mut() {
        *x = (*x - max).exp();
        sum += *x;
    }
    for x in v.iter_mut() {
        *x /= sum;
    }
}

/// An inference engine: a batch in, `[rows, len, labels]` values out (row-major).
pub(crate) trait Encoder: Send + Sync {
    /// Runs one batch (already checked: shapes, ids in the vocabulary, length within the
    /// model's positions).
    fn run(&self, input: &EncoderInput, output: Output) -> crate::Result<Vec<f32>>;
    /// Which engine this is.
    fn engine(&self) -> crate::Engine;
}

/// A batch of `rows` windows of `len` tokens each (special tokens and padding included),
/// row-major: token ids, attention mask (1 for a token, 0 for padding, which comes at the end
/// of a row) and casing classes (0 no letters, 1 lower case, 2 initial capital, 3 all capitals,
/// 4 mixed).
///
/// ```
/// let input = newsgraph::model::EncoderInput::new(2, 3);
/// assert_eq!((input.ids.len(), input.mask.len(), input.casing.len()), (6, 6, 6));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct EncoderInput {
    /// Token ids, `rows × len`.
    pub ids: Vec<i32>,
    /// Attention mask, `rows × len`.
    pub mask: Vec<i32>,
    /// Casing classes, `rows × len`.
    pub casing: Vec<i32>,
    /// Windows in the batch.
    pub rows: usize,
    /// Tokens per window.
    pub len: usize,
}

impl EncoderInput {
    /// A batch of zeros (padding everywhere) to fill in.
    pub fn new(rows: usize, len: usize) -> Self {
        EncoderInput {
            ids: vec![0; rows * len],
            mask: vec![0; rows * len],
            casing: vec![0; rows * len],
            rows,
            len,
        }
    }

    /// Checks that the three arrays hold `rows × len` values each.
    pub(crate) fn check(&self) -> crate::Result<()> {
        let n = self.rows * self.len;
        if self.ids.len() != n || self.mask.len() != n || self.casing.len() != n {
            return Err(crate::Error::Setting(format!(
                "encoder input of {}×{} tokens holds {} ids, {} mask and {} casing values",
                self.rows,
                self.len,
                self.ids.len(),
                self.mask.len(),
                self.casing.len()
            )));
        }
        let classes = crate::tokenize::Casing::COUNT as i32;
        if let Some(c) = self.casing.iter().find(|&&c| !(0..classes).contains(&c)) {
            return Err(crate::Error::Setting(format!(
                "casing class {c} is outside 0..{classes}"
            )));
        }
        if let Some(m) = self.mask.iter().find(|&&m| m != 0 && m != 1) {
            return Err(crate::Error::Setting(format!(
                "attention mask value {m} is neither 0 nor 1"
            )));
        }
        Ok(())
    }
}
