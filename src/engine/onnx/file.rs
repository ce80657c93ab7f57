//! A folder's own `model.onnx` (e.g. exported by Hugging Face Optimum), run as it is.

use super::*;

/// What an exported graph's input is fed with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Feed {
    Ids,
    Mask,
    /// Token types: zeros, or the casing classes for a model with a casing embedding (a graph
    /// newsgraph exported carries them there).
    TokenTypes,
}

/// A token classifier exported to `model.onnx` (Hugging Face Optimum's
/// `ORTModelForTokenClassification`, or [`crate::NerModel::export_onnx`]): inputs
/// `input_ids`, `attention_mask` and optionally `token_type_ids` (int64 or int32), output
/// `logits` `[batch, seq, labels]`.
pub(crate) struct OnnxFile {
    session: Mutex<Session>,
    inputs: Vec<(String, Feed, TensorElementType)>,
    output: String,
    labels: usize,
    casing: bool,
}

impl OnnxFile {
    pub(crate) fn load(path: &Path, config: &ModelConfig, threads: usize) -> Result<Self> {
        let env = environment()?;
        let invalid = |message: String| crate::error::LoadError::Invalid {
            path: path.to_path_buf(),
            message,
        };
        let mut builder = SessionBuilder::new(env).map_err(ort_err)?;
        if threads > 0 {
            builder = builder
                .with_intra_threads(threads)
                .map_err(|e| ort_err(e.into()))?;
        }
        let session = builder
            .commit_from_file(path)
            .map_err(|e| invalid(format!("ONNX Runtime cannot load it: {e}")))?;
        let mut inputs = Vec::new();
        for outlet in session.inputs() {
            let name = outlet.name();
            let feed = match name {
                "input_ids" => Feed::Ids,
                "attention_mask" => Feed::Mask,
                "token_type_ids" => Feed::TokenTypes,
                other => {
                    return Err(invalid(format!(
                        "input {other:?} is not one newsgraph feeds (input_ids, attention_mask, \
                         token_type_ids)"
                    ))
                    .into())
                }
            };
            let ty = match outlet.dtype() {
                ValueType::Tensor { ty, .. }
                    if matches!(ty, TensorElementType::Int64 | TensorElementType::Int32) =>
                {
                    *ty
                }
                other => {
                    return Err(invalid(format!(
                        "input {name:?} is {other:?}, not an int64 or int32 tensor"
                    ))
                    .into())
                }
            };
            inputs.push((name.to_string(), feed, ty));
        }
        if !inputs.iter().any(|i| i.1 == Feed::Ids) {
            return Err(invalid("the graph has no input_ids input".into()).into());
        }
        let output = session
            .outputs()
            .iter()
            .find(|o| o.name() == "logits")
            .or_else(|| session.outputs().first())
            .map(|o| o.name().to_string())
            .ok_or_else(|| invalid("the graph has no output".into()))?;
        Ok(OnnxFile {
            session: Mutex::new(session),
            inputs,
            output,
            labels: config.labels.len(),
            casing: config.casing,
        })
    }
}

impl Encoder for OnnxFile {
    fn run(&self, input: &EncoderInput, output: Output) -> Result<Vec<f32>> {
        let shape = [input.rows as i64, input.len as i64];
        let zeros = vec![0; input.ids.len()];
        let mut feeds: Vec<(String, ort::value::DynValue)> = Vec::new();
        for (name, feed, ty) in &self.inputs {
            let values = match feed {
                Feed::Ids => &input.ids,
                Feed::Mask => &input.mask,
                Feed::TokenTypes if self.casing => &input.casing,
                Feed::TokenTypes => &zeros,
            };
            let value = if *ty == TensorElementType::Int64 {
                let v: Vec<i64> = values.iter().map(|&x| x as i64).collect();
                Tensor::from_array((shape, v)).map_err(ort_err)?.into_dyn()
            } else {
                Tensor::from_array((shape, values.clone()))
                    .map_err(ort_err)?
                    .into_dyn()
            };
            feeds.push((name.clone(), value));
        }
        let mut session = self
            .session
            .lock()
            .map_err(|_| Error::Model("the ONNX Runtime session was poisoned by a panic".into()))?;
        let outputs = session.run(feeds).map_err(ort_err)?;
        let (_, data) = outputs[self.output.as_str()]
            .try_extract_tensor::<f32>()
            .map_err(ort_err)?;
        let mut logits = data.to_vec();
        // NerModel checks the length (config.json's labels) for every engine.
        if output == Output::Probs {
            logits
                .chunks_mut(self.labels)
                .for_each(crate::encoder::softmax);
        }
        Ok(logits)
    }

    fn engine(&self) -> Engine {
        Engine::OnnxFile
    }
}
