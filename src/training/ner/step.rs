//! One optimizer step and one epoch: the losses (cross-entropy, distillation, R-Drop) and
//! the learning-rate schedule.

use super::*;

/// The symmetric KL divergence of two passes' label distributions, `(KL(a ‖ b) + KL(b ‖ a)) /
/// 2`, averaged over positions (R-Drop's regulariser).
pub(crate) fn r_drop_loss(a: &Tensor, b: &Tensor) -> Tensor {
    (distill_loss(a, b, 1.0) + distill_loss(b, a, 1.0)) * 0.5
}

/// The learning rate at `step` (from 1): linear warm-up to `peak` over `warmup` steps, then
/// linear decay to zero at `total`.
pub(crate) fn learning_rate(peak: f64, step: usize, warmup: f64, total: usize) -> f64 {
    let (s, t) = (step as f64, total as f64);
    if s < warmup {
        peak * s / warmup
    } else {
        peak * ((t - s) / (t - warmup)).max(0.0)
    }
}

/// Where training stands: optimizer steps done of `total` (the learning-rate schedule's clock,
/// warm-up over `warmup` steps) and the padding id.
pub(crate) struct Step {
    pub(crate) done: usize,
    pub(crate) total: usize,
    pub(crate) warmup: f64,
    pub(crate) pad: i64,
}

impl Step {
    /// The clock of `epochs` passes over `examples` in batches of `batch` (at most `max_steps`
    /// per pass), warm-up over the first `warmup` share of the steps, `done_epochs` passes
    /// already made (a resumed run); and the steps per pass.
    pub(crate) fn schedule(
        examples: usize,
        batch: usize,
        max_steps: Option<usize>,
        epochs: usize,
        warmup: f64,
        done_epochs: usize,
        pad: i64,
    ) -> (Self, usize) {
        let per_epoch = examples
            .div_ceil(batch)
            .min(max_steps.unwrap_or(usize::MAX));
        let total = per_epoch * epochs;
        let step = Step {
            done: per_epoch * done_epochs,
            total,
            warmup: (total as f64 * warmup).max(1.0),
            pad,
        };
        (step, per_epoch)
    }

    /// One optimizer step on `loss` at the scheduled learning rate (peak `peak`), gradients
    /// clipped at 1.0; returns the loss.
    pub(crate) fn take(&mut self, opt: &mut nn::Optimizer, peak: f64, loss: &Tensor) -> f64 {
        self.done += 1;
        opt.set_lr(learning_rate(peak, self.done, self.warmup, self.total));
        opt.backward_step_clip_norm(loss, 1.0);
        loss.to_kind(Kind::Double).double_value(&[])
    }
}

/// One pass over `batches`: cross-entropy on the labelled sub-tokens, AdamW with the scheduled
/// learning rate and gradients clipped at 1.0; its last progress report.
pub(crate) fn train_epoch(
    config: &TrainConfig,
    model: &mut TorchModel,
    opt: &mut nn::Optimizer,
    batches: &[Vec<&Example>],
    epoch: usize,
    step: &mut Step,
    progress: &mut impl FnMut(Progress),
) -> Result<Progress> {
    let (epoch_start, mut tokens, mut loss_sum) = (Instant::now(), 0usize, 0.0);
    let mut last = Progress {
        epoch,
        step: 0,
        steps: batches.len(),
        loss: f64::NAN,
        tokens_per_s: 0.0,
        scored: None,
    };
    for (i, batch) in batches.iter().enumerate() {
        let b = batch_tensors(batch, step.pad, config.device);
        let flat = flat_logits(model, &b)?;
        let loss = if config.r_drop > 0.0 {
            let again = flat_logits(model, &b)?;
            r_drop_batch_loss(config, &b, &flat, &again)
        } else {
            batch_loss(config, &b, &flat)
        };
        let Some(loss) = loss else {
            continue;
        };
        loss_sum += step.take(opt, config.lr, &loss);
        tokens += batch.iter().map(|e| e.ids.len()).sum::<usize>();
        last = Progress {
            step: i + 1,
            loss: loss_sum / (i + 1) as f64,
            tokens_per_s: tokens as f64 / epoch_start.elapsed().as_secs_f64(),
            ..last
        };
        progress(last);
    }
    Ok(last)
}

/// The training-mode logits of a batch as `[batch × seq, labels]`.
pub(crate) fn flat_logits(model: &TorchModel, b: &Batch) -> Result<Tensor> {
    let logits = model.logits(&b.ids, &b.mask, &b.casing, true)?;
    let n_labels = logits.size()[2];
    Ok(logits.view([-1, n_labels]))
}

/// A batch's loss from its logits: the cross-entropy on the gold labels and, when distilling,
/// the teacher term, mixed by the distillation weight; `None` when there is neither (a batch
/// of unlabelled windows without a teacher).
pub(crate) fn batch_loss(config: &TrainConfig, b: &Batch, flat: &Tensor) -> Option<Tensor> {
    // Unlabelled transfer windows have no gold labels: no cross-entropy term for a batch of
    // only those (its mean would be NaN).
    let gold_loss = (b.labelled > 0).then(|| {
        flat.cross_entropy_loss::<Tensor>(
            &b.gold.view([-1]),
            None,
            tch::Reduction::Mean,
            -100,
            config.label_smoothing,
        )
    });
    let teacher_loss = match (&config.teacher, &b.soft) {
        (Some(d), Some(soft)) => Some((
            distill_loss(&flat.index_select(0, &b.scored), soft, d.temperature),
            d.weight,
        )),
        _ => None,
    };
    match (gold_loss, teacher_loss) {
        (Some(g), Some((t, w))) => Some(g * (1.0 - w) + t * w),
        (Some(g), None) => Some(g),
        (None, Some((t, w))) => Some(t * w),
        (None, None) => None,
    }
}

/// R-Drop's loss of a batch from two passes' logits: the mean of their [`batch_loss`]es plus
/// `r_drop` times the symmetric KL divergence of the passes at the scored positions.
pub(crate) fn r_drop_batch_loss(
    config: &TrainConfig,
    b: &Batch,
    first: &Tensor,
    second: &Tensor,
) -> Option<Tensor> {
    let (one, two) = (
        batch_loss(config, b, first)?,
        batch_loss(config, b, second)?,
    );
    let agree = r_drop_loss(
        &first.index_select(0, &b.scored),
        &second.index_select(0, &b.scored),
    );
    Some((one + two) * 0.5 + agree * config.r_drop)
}
