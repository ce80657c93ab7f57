//! Knowledge distillation: a teacher's label distributions over the student's windows.

use super::*;

/// Knowledge distillation (Hinton et al. 2015): the loss is `(1 − weight) × the loss of the
/// right labels + weight × T² × KL(teacher ‖ student)`, both distributions softened by the
/// temperature T.
#[derive(Debug, Clone)]
pub struct Distill {
    /// The teacher: a trained model folder with the student's labels (any depth or width).
    pub model: PathBuf,
    /// The teacher term's share of the loss, 0 … 1.
    pub weight: f64,
    /// Softmax temperature of both distributions (≥ 1 softens them).
    pub temperature: f64,
}

impl Distill {
    /// An error unless the weight is in 0 … 1 and the temperature above 0.
    pub(crate) fn check(&self) -> Result<()> {
        if !(0.0..=1.0).contains(&self.weight) || self.temperature <= 0.0 {
            return Err(Error::Setting(format!(
                "distillation weight must be in 0 … 1 and temperature above 0 (got {} and {})",
                self.weight, self.temperature
            )));
        }
        Ok(())
    }
}

/// KL(teacher ‖ student) of the temperature-softened distributions, times T², averaged.
pub(crate) fn distill_loss(student: &Tensor, teacher: &Tensor, temperature: f64) -> Tensor {
    let log_s = (student / temperature).log_softmax(-1, Kind::Float);
    let log_t = (teacher / temperature).log_softmax(-1, Kind::Float);
    let kl =
        (log_t.exp() * (&log_t - log_s)).sum_dim_intlist([-1i64].as_slice(), false, Kind::Float);
    kl.mean(Kind::Float) * (temperature * temperature)
}

/// Fills each example's `soft` with the teacher's logits at its scored positions. The
/// teacher reads the student's windows, its word pieces mapped to its own ids by their text.
pub(crate) fn teach(
    distill: &Distill,
    examples: &mut [Example],
    tokenizer: &TextTokenizer,
    labels: &LabelSet,
    device: Device,
) -> Result<()> {
    let dir = &distill.model;
    let config = ModelConfig::from_dir(dir)?;
    let perm = label_order(&config.labels, labels, dir)?;
    let teacher_tok = TextTokenizer::from_dir(dir)?;
    let to_teacher = id_map(tokenizer, &teacher_tok);
    let mut teacher = TorchModel::build(config, device)?;
    teacher.load_weights(&weights_file(dir)?, Missing::Error)?;
    let pad = teacher_tok.pad_id() as i64;
    let mut order: Vec<usize> = (0..examples.len()).collect();
    order.sort_by_key(|&i| examples[i].ids.len());
    for chunk in order.chunks(32) {
        let mapped = chunk
            .iter()
            .map(|&i| teacher_ids(&examples[i].ids, &to_teacher, tokenizer, dir))
            .collect::<Result<Vec<_>>>()?;
        let rows = mapped
            .iter()
            .zip(chunk)
            .map(|(ids, &i)| (&ids[..], &examples[i].casing[..]));
        let (ids, mask, casing) = input_tensors(rows, pad, device);
        let logits = tch::no_grad(|| teacher.logits(&ids, &mask, &casing, false))?;
        let [_, seq, n] = logits.size()[..] else {
            return Err(Error::Model(
                "teacher logits are not [batch, seq, labels]".into(),
            ));
        };
        let values = Vec::<f32>::try_from(&logits.to_device(Device::Cpu).contiguous().view([-1]))?;
        let (seq, n) = (seq as usize, n as usize);
        for (r, &i) in chunk.iter().enumerate() {
            let ex = &mut examples[i];
            ex.soft = (0..ex.ids.len())
                .filter(|&p| ex.scored[p])
                .flat_map(|p| {
                    let row = &values[(r * seq + p) * n..(r * seq + p + 1) * n];
                    perm.iter().map(move |&l| row[l])
                })
                .collect();
        }
    }
    Ok(())
}

/// The share of labelled positions where the teacher's top logit is the gold label.
pub(crate) fn agreement(examples: &[Example], n: usize) -> f64 {
    let (mut right, mut all) = (0usize, 0usize);
    for ex in examples {
        let gold = ex.labels.iter().zip(&ex.scored).filter(|(_, &s)| s);
        for ((&label, _), row) in gold.zip(ex.soft.chunks_exact(n)) {
            if label < 0 {
                continue;
            }
            let top = row
                .iter()
                .enumerate()
                .max_by(|a, b| a.1.total_cmp(b.1))
                .map_or(0, |(i, _)| i);
            all += 1;
            right += usize::from(top as i64 == label);
        }
    }
    right as f64 / all.max(1) as f64
}

/// The teacher's index of each student label (the same labels, in any order).
pub(crate) fn label_order(
    teacher: &LabelSet,
    student: &LabelSet,
    dir: &Path,
) -> Result<Vec<usize>> {
    let theirs = teacher.names();
    let perm: Vec<usize> = student
        .names()
        .iter()
        .filter_map(|n| theirs.iter().position(|t| t == n))
        .collect();
    if perm.len() != student.len() || theirs.len() != student.len() {
        return Err(Error::Setting(format!(
            "teacher {}: its labels {theirs:?} are not the student's {:?}",
            dir.display(),
            student.names()
        )));
    }
    Ok(perm)
}

/// An example's ids in the teacher's vocabulary (`to_teacher` from [`id_map`]), or an error
/// naming the first word piece the teacher does not have.
pub(crate) fn teacher_ids(
    ids: &[i64],
    to_teacher: &[i64],
    tokenizer: &TextTokenizer,
    dir: &Path,
) -> Result<Vec<i64>> {
    ids.iter()
        .map(|&id| match to_teacher.get(id as usize) {
            Some(&t) if t >= 0 => Ok(t),
            _ => Err(Error::Setting(format!(
                "teacher {}: the student's word piece {:?} is not in its vocabulary \
                 (distillation needs the same word pieces)",
                dir.display(),
                tokenizer.inner().id_to_token(id as u32).unwrap_or_default()
            ))),
        })
        .collect()
}

/// The teacher's id of each student id (-1 where it has none): the special tokens by role,
/// word pieces by text.
pub(crate) fn id_map(student: &TextTokenizer, teacher: &TextTokenizer) -> Vec<i64> {
    let vocab = student.inner().get_vocab_size(true);
    let mut map = Vec::with_capacity(vocab);
    for id in 0..vocab as u32 {
        let mapped = if id == student.cls_id() {
            Some(teacher.cls_id())
        } else if id == student.sep_id() {
            Some(teacher.sep_id())
        } else if id == student.pad_id() {
            Some(teacher.pad_id())
        } else {
            student
                .inner()
                .id_to_token(id)
                .and_then(|t| teacher.inner().token_to_id(&t))
        };
        map.push(mapped.map_or(-1, i64::from));
    }
    map
}
