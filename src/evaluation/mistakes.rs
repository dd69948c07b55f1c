//! The images a model got most confidently wrong: where mislabelled files and hard cases are
//! ("1,000 good labels beat 10,000 bad ones"). Arithmetic over logits, tested on its own.

use crate::predict::{Prediction, softmax};
use crate::train::metrics::argmax;

/// One image the model got wrong.
#[derive(Debug, Clone, PartialEq)]
pub struct Mistake {
    /// The image's index among the evaluated samples.
    pub image: usize,
    /// How sure the model was of its wrong answer, 0 to 1: the wrong class's probability
    /// (multi-label: the largest distance of a wrong label's probability from its truth).
    pub confidence: f32,
    pub wrong: Wrong,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Wrong {
    /// Single-label: the class predicted instead of the label.
    Class {
        label: usize,
        predicted: usize,
        /// The label's own probability.
        label_probability: f32,
    },
    /// Multi-label: each label predicted wrong, with its probability and whether the image
    /// carries it (present but below 50 %, or absent but above it), worst first.
    Labels(Vec<(usize, f32, bool)>),
}

/// The mistakes met so far, kept until the end to be ranked.
#[derive(Debug, Default)]
pub struct Mistakes {
    found: Vec<Mistake>,
}

impl Mistakes {
    /// A single-label image's logits: a mistake when its top class is not `label`.
    pub fn single(&mut self, image: usize, label: usize, logits: &[f32]) {
        let predicted = argmax(logits);
        if predicted == label || label >= logits.len() {
            return;
        }
        let p = softmax(logits);
        self.found.push(Mistake {
            image,
            confidence: p[predicted],
            wrong: Wrong::Class {
                label,
                predicted,
                label_probability: p[label],
            },
        });
    }

    /// A multi-label image's logits and its multi-hot `truth`: a mistake when any label is
    /// predicted wrong (a logit above 0, a sigmoid above 50 %, means present, as the metrics
    /// count it; the logit decides, so a sigmoid rounded to 0.5 cannot disagree with them).
    pub fn multi(&mut self, image: usize, truth: &[f32], logits: &[f32]) {
        let p = Prediction::from_multi_label_logits(logits.to_vec()).probabilities;
        let mut wrong: Vec<(usize, f32, bool)> = logits
            .iter()
            .zip(truth)
            .enumerate()
            .filter(|(_, (l, t))| (**l > 0.0) != (**t > 0.5))
            .map(|(c, (_, &t))| (c, p[c], t > 0.5))
            .collect();
        let distance = |&(_, p, present): &(usize, f32, bool)| if present { 1.0 - p } else { p };
        wrong.sort_by(|a, b| distance(b).total_cmp(&distance(a)));
        let Some(worst) = wrong.first() else { return };
        self.found.push(Mistake {
            image,
            confidence: distance(worst),
            wrong: Wrong::Labels(wrong),
        });
    }

    /// How many images were wrong.
    pub fn count(&self) -> usize {
        self.found.len()
    }

    /// The `n` most confident mistakes, surest first (ties in image order).
    pub fn worst(mut self, n: usize) -> Vec<Mistake> {
        self.found
            .sort_by(|a, b| b.confidence.total_cmp(&a.confidence).then(a.image.cmp(&b.image)));
        self.found.truncate(n);
        self.found
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn single_label_mistakes_rank_by_the_wrong_class_probability() {
        let mut m = Mistakes::default();
        m.single(0, 0, &[3.0, 0.0, 0.0]); // right
        m.single(1, 0, &[0.0, 1.0, 0.0]); // wrong, unsure
        m.single(2, 2, &[0.0, 6.0, 1.0]); // wrong, sure
        m.single(3, 1, &[0.0, 1.0, 0.0]); // right
        assert_eq!(m.count(), 2);
        let worst = m.worst(5);
        assert_eq!(worst.iter().map(|w| w.image).collect::<Vec<_>>(), [2, 1]);
        // softmax([0, 6, 1]): 6 takes 99.09 %, the label (logit 1) takes 0.67 %.
        assert!((worst[0].confidence - 0.990_867).abs() < 1e-5, "{worst:?}");
        let Wrong::Class {
            label,
            predicted,
            label_probability,
        } = worst[0].wrong
        else {
            panic!("{worst:?}")
        };
        assert_eq!((label, predicted), (2, 1));
        assert!((label_probability - 0.006_676_6).abs() < 1e-5);
    }

    #[test]
    fn multi_label_mistakes_list_each_wrong_label_worst_first() {
        let mut m = Mistakes::default();
        // Labels 0 and 2 present. Label 0 is missed at sigmoid(-1) = 26.9 %, label 1 is a
        // false alarm at sigmoid(3) = 95.3 %; label 2 is right.
        m.multi(7, &[1.0, 0.0, 1.0], &[-1.0, 3.0, 2.0]);
        m.multi(8, &[0.0, 1.0, 0.0], &[-2.0, 0.5, -4.0]); // all right
        let worst = m.worst(1);
        assert_eq!(worst.len(), 1);
        assert_eq!(worst[0].image, 7);
        assert!((worst[0].confidence - 0.952_574).abs() < 1e-5);
        let Wrong::Labels(labels) = &worst[0].wrong else {
            panic!("{worst:?}")
        };
        assert_eq!(
            labels.iter().map(|l| (l.0, l.2)).collect::<Vec<_>>(),
            [(1, false), (0, true)]
        );
    }

    #[test]
    fn the_worst_keeps_n_and_breaks_ties_by_image_order() {
        let mut m = Mistakes::default();
        for image in [4, 1, 3] {
            m.single(image, 0, &[0.0, 2.0]);
        }
        assert_eq!(m.worst(2).iter().map(|w| w.image).collect::<Vec<_>>(), [1, 3]);
    }
}
