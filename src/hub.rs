//! Hugging Face hub model ids (feature `hub`): `dslim/bert-base-NER` → a local model folder.
//!
//! Files come from the Hugging Face cache (`$HF_HOME/hub`, as Python uses it) when they are there,
//! and are downloaded into it with `hf-hub` otherwise. With `HF_HUB_OFFLINE=1`, or when the hub
//! cannot be reached, a model that is not fully cached is a clear error at once.

use crate::error::{Error, LoadError, Result};
use std::path::PathBuf;

/// Files fetched for a model; the first of each group that exists is enough.
const FILES: [&[&str]; 3] = [
    &["config.json"],
    &["tokenizer.json", "vocab.txt"],
    &["model.safetensors"],
];

/// Resolves a hub model id to a local folder that [`crate::model::NerModel::load`] reads.
pub fn resolve(model_id: &str) -> Result<PathBuf> {
    let cache = hf_hub::Cache::from_env();
    let cached = cache.model(model_id.to_string());
    let from_cache: Option<Vec<PathBuf>> = FILES
        .iter()
        .map(|group| group.iter().find_map(|f| cached.get(f)))
        .collect();
    if let Some(files) = from_cache {
        return folder_of(model_id, &files);
    }
    let offline = std::env::var("HF_HUB_OFFLINE").is_ok_and(|v| v == "1" || v == "true");
    if offline {
        return Err(Error::input(
            model_id,
            "not in the Hugging Face cache and HF_HUB_OFFLINE is set",
        ));
    }
    let api = hf_hub::api::sync::ApiBuilder::from_cache(cache)
        .with_progress(false)
        .build()
        .map_err(|e| Error::input(model_id, format!("hub client: {e}")))?;
    let repo = api.model(model_id.to_string());
    let mut files = Vec::new();
    for group in FILES {
        let mut last_err = String::new();
        let found = group.iter().find_map(|f| match repo.get(f) {
            Ok(p) => Some(p),
            Err(e) => {
                last_err = format!("{f}: {e}");
                None
            }
        });
        match found {
            Some(p) => files.push(p),
            None if group[0] == "model.safetensors" => {
                return Err(Error::input(
                    model_id,
                    format!("no model.safetensors on the hub or it cannot be reached ({last_err}); pickled weights are not loaded"),
                ))
            }
            None => {
                return Err(Error::input(
                    model_id,
                    format!("cannot fetch from the Hugging Face hub: {last_err}"),
                ))
            }
        }
    }
    folder_of(model_id, &files)
}

fn folder_of(model_id: &str, files: &[PathBuf]) -> Result<PathBuf> {
    files
        .first()
        .and_then(|p| p.parent())
        .map(PathBuf::from)
        .ok_or_else(|| {
            LoadError::MissingFile {
                path: PathBuf::from(model_id),
                what: "config.json in the hub cache",
            }
            .into()
        })
}

#[cfg(test)]
mod tests {
    #[test]
    fn offline_and_not_cached_fails_fast_with_the_reason() {
        let home = std::env::temp_dir().join(format!("newsgraph-hf-{}", std::process::id()));
        std::env::set_var("HF_HOME", &home);
        std::env::set_var("HF_HUB_OFFLINE", "1");
        let err = super::resolve("dslim/bert-base-NER")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("dslim/bert-base-NER") && err.contains("HF_HUB_OFFLINE"),
            "{err}"
        );
    }
}
