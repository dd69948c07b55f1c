//! What a split's class counts say before training starts: classes far rarer than others, and
//! classes that validation or test never sees (their recall and F1 then count as 0, and the
//! macro F1 is pulled down by a class nobody measured). Said, not refused: small and skewed
//! folders are what people fine-tune on.

/// Largest over smallest training class at which the imbalance is worth saying.
const IMBALANCE_RATIO: usize = 5;

/// Images per class in each part of a split, classes in the split's order.
pub struct ClassCounts<'a> {
    pub classes: &'a [String],
    pub train: &'a [usize],
    pub val: &'a [usize],
    pub test: &'a [usize],
}

/// One line per problem found; `weighted` says the loss already weighs rare classes up
/// (`train.class_weights` set, or focal loss), so the advice to do so is left out.
pub fn class_warnings(counts: &ClassCounts, weighted: bool) -> Vec<String> {
    let mut warnings = Vec::new();
    // "class 'a' has" or "classes 'a', 'b' have".
    let have = |which: Vec<usize>| -> String {
        let names: Vec<String> = which.iter().map(|&c| format!("'{}'", counts.classes[c])).collect();
        match names.len() {
            1 => format!("class {} has", names[0]),
            _ => format!("classes {} have", names.join(", ")),
        }
    };
    let missing = |part: &[usize]| -> Vec<usize> { (0..part.len()).filter(|&c| part[c] == 0).collect() };

    let untrained = missing(counts.train);
    if !untrained.is_empty() {
        warnings.push(format!(
            "{} no training images and cannot be learnt; add images to the training folders",
            have(untrained)
        ));
    }
    let largest = (0..counts.train.len()).max_by_key(|&c| counts.train[c]);
    let smallest = (0..counts.train.len())
        .filter(|&c| counts.train[c] > 0)
        .min_by_key(|&c| counts.train[c]);
    if let (Some(l), Some(s)) = (largest, smallest) {
        let (many, few) = (counts.train[l], counts.train[s]);
        if many >= IMBALANCE_RATIO * few {
            let advice = if weighted {
                String::new()
            } else {
                "; train.class_weights = \"auto\" or train.loss = \"focal\" weighs the rare classes up".into()
            };
            warnings.push(format!(
                "the classes are imbalanced: '{}' has {many} training images, '{}' {few} ({:.0}x fewer){advice}",
                counts.classes[l],
                counts.classes[s],
                many as f64 / few as f64
            ));
        }
    }
    for (part, name) in [(counts.val, "validation"), (counts.test, "test")] {
        let unseen = missing(part);
        // An empty part (a split without it) is the config's choice, not a gap.
        if part.iter().sum::<usize>() > 0 && !unseen.is_empty() {
            warnings.push(format!(
                "{} no {name} images, so {name} recall and F1 count as 0 there; add images, or raise the \
                 {name} share of data.split",
                have(unseen)
            ));
        }
    }
    warnings
}

#[cfg(test)]
mod tests {
    use super::*;

    fn classes(n: usize) -> Vec<String> {
        (0..n).map(|c| format!("c{c}")).collect()
    }

    fn warnings(train: &[usize], val: &[usize], test: &[usize], weighted: bool) -> Vec<String> {
        let classes = classes(train.len());
        class_warnings(
            &ClassCounts {
                classes: &classes,
                train,
                val,
                test,
            },
            weighted,
        )
    }

    #[test]
    fn a_balanced_split_says_nothing() {
        assert!(warnings(&[70, 60, 30], &[10, 9, 5], &[20, 18, 9], false).is_empty());
    }

    #[test]
    fn a_class_five_times_rarer_is_named_with_the_advice_unless_weighted() {
        let w = warnings(&[70, 14, 30], &[10, 2, 5], &[20, 4, 9], false);
        assert_eq!(w.len(), 1, "{w:?}");
        assert!(
            w[0].contains("'c0' has 70 training images, 'c1' 14 (5x fewer)"),
            "{w:?}"
        );
        assert!(w[0].contains("train.class_weights"), "{w:?}");
        let w = warnings(&[70, 14, 30], &[10, 2, 5], &[20, 4, 9], true);
        assert!(!w[0].contains("train.class_weights"), "{w:?}");
        assert!(warnings(&[70, 15, 30], &[10, 2, 5], &[20, 4, 9], false).is_empty());
    }

    #[test]
    fn classes_missing_from_validation_or_test_are_named_together() {
        let w = warnings(&[40, 40, 40], &[5, 0, 0], &[0, 10, 10], false);
        assert_eq!(w.len(), 2, "{w:?}");
        assert!(
            w[0].starts_with("classes 'c1', 'c2' have no validation images"),
            "{w:?}"
        );
        assert!(w[1].starts_with("class 'c0' has no test images"), "{w:?}");
    }

    #[test]
    fn an_empty_part_is_not_a_missing_class_but_an_empty_training_class_is() {
        let w = warnings(&[40, 0], &[0, 0], &[0, 0], false);
        assert_eq!(w.len(), 1, "{w:?}");
        assert!(w[0].contains("'c1' has no training images"), "{w:?}");
    }
}
