//! A crate that depends on newsgraph, as a new user writes it (the README's library example):
//! built and run by scripts/test-dependent.sh with no environment but HOME and PATH.
use newsgraph::{Article, Engine, Pipeline, PipelineOptions};

fn main() -> newsgraph::Result<()> {
    let pipeline = Pipeline::load(&newsgraph::default_model_dir(), PipelineOptions::default())?;
    let text = "UK Defence Secretary Ben Wallace said Russia had lost 80,000 troops in Ukraine.";
    let doc = pipeline.process(&[Article::new("a1", text)]).remove(0)?;
    for e in &doc.entities {
        println!("{}\t{}\t{:.3}", e.label, e.text, e.score);
    }
    println!("engine {}", pipeline.engine());
    assert_eq!(pipeline.engine(), Engine::OnnxInt8, "not the default engine");
    assert!(doc.entities.iter().any(|e| e.text == "Ben Wallace" && e.label == "PER"));
    Ok(())
}
