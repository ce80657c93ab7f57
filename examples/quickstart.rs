//! The smallest use of newsgraph as a library.
use newsgraph::{Article, Pipeline, PipelineOptions};

fn main() -> newsgraph::Result<()> {
    let pipeline = Pipeline::load(&newsgraph::default_model_dir(), PipelineOptions::default())?;
    let articles = [Article::new(
        "example",
        "UK Defence Secretary Ben Wallace told the BBC that Russian forces had left Kherson.",
    )];
    for result in pipeline.process(&articles) {
        let doc = result?;
        for e in &doc.entities {
            println!(
                "{:<14} {:<25} {:>4}..{:<4} {:.3}",
                e.kind, e.text, e.start, e.end, e.score
            );
        }
    }
    Ok(())
}
