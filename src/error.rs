//! Errors. Every failure names what was wrong: the file, the article or the setting.

use std::path::PathBuf;

/// Why a model folder could not be loaded.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LoadError {
    /// A file the model needs is not there.
    #[error("{path}: missing ({what})")]
    MissingFile {
        /// The file that was looked for.
        path: PathBuf,
        /// What the file was needed for.
        what: &'static str,
    },
    /// A file exists but could not be read or parsed.
    #[error("{path}: {message}")]
    Invalid {
        /// The offending file.
        path: PathBuf,
        /// What is wrong with it.
        message: String,
    },
    /// `config.json` names an architecture newsgraph cannot run.
    #[error("{path}: unsupported model_type {model_type:?} (supported: bert, distilbert, roberta, xlm-roberta, deberta, deberta-v2, electra)")]
    UnknownModelType {
        /// The config file.
        path: PathBuf,
        /// The `model_type` it declares.
        model_type: String,
    },
    /// Only pickled PyTorch weights were found; they are never unpickled.
    #[error("{path}: pickled PyTorch weights are not loaded (unpickling can run arbitrary code); convert them to model.safetensors, e.g. with `safetensors.torch.save_file(torch.load(p), 'model.safetensors')`")]
    PickleRefused {
        /// The `pytorch_model.bin` file.
        path: PathBuf,
    },
    /// `id2label` is not a BIO, IOB1 or BIOES label set.
    #[error("{path}: id2label: {reason}")]
    InvalidLabels {
        /// The config file.
        path: PathBuf,
        /// What is wrong with the labels.
        reason: String,
    },
    /// A weight tensor has another shape than the configuration implies.
    #[error("{path}: weight {name} has shape {found:?}, the config implies {expected:?}")]
    ShapeMismatch {
        /// The weights file.
        path: PathBuf,
        /// The weight's name in the model.
        name: String,
        /// The shape the config implies.
        expected: Vec<i64>,
        /// The shape in the file.
        found: Vec<i64>,
    },
    /// A weight the model needs is absent from the weights file.
    #[error("{path}: weight {name} is missing (is this a token-classification checkpoint?)")]
    MissingWeight {
        /// The weights file.
        path: PathBuf,
        /// The weight's name in the model.
        name: String,
    },
}

/// The error type of this crate.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A model folder could not be loaded.
    #[error(transparent)]
    Load(#[from] LoadError),
    /// A file or directory could not be read.
    #[error("{path}: {source}")]
    Io {
        /// The path that failed.
        path: PathBuf,
        /// The underlying I/O error.
        source: std::io::Error,
    },
    /// An input could not be turned into an article, or an article cannot be processed.
    #[error("{source_name}: {message}")]
    Input {
        /// The article id, file name or `file:line` that was bad.
        source_name: String,
        /// What was wrong with it.
        message: String,
    },
    /// A setting is out of range.
    #[error("invalid setting: {0}")]
    Setting(String),
    /// The tokenizer failed.
    #[error("tokenizer: {0}")]
    Tokenizer(String),
    /// libtorch reported an error during the forward pass or training.
    #[error("libtorch: {0}")]
    Torch(String),
    /// rust-bert reported an error.
    #[error("model: {0}")]
    Model(String),
    /// A stage failed on one article in a way it never should (a bug in newsgraph: please
    /// report it with the article). Only that article is lost.
    #[error("{article}: internal error while {stage} (a newsgraph bug; please report it with this article): {message}")]
    Internal {
        /// The article id.
        article: String,
        /// The stage that failed.
        stage: &'static str,
        /// What went wrong.
        message: String,
    },
}

impl Error {
    pub(crate) fn input(source_name: impl Into<String>, message: impl Into<String>) -> Self {
        Error::Input {
            source_name: source_name.into(),
            message: message.into(),
        }
    }
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }
}

#[cfg(feature = "torch")]
impl From<rust_bert::RustBertError> for Error {
    fn from(e: rust_bert::RustBertError) -> Self {
        Error::Model(e.to_string())
    }
}

#[cfg(feature = "torch")]
impl From<tch::TchError> for Error {
    fn from(e: tch::TchError) -> Self {
        Error::Torch(e.to_string())
    }
}

/// Result with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
