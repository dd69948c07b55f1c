//! The recipe's advice, said by a real run whose losses call for it: a loss that swings up
//! early (lr too high) and a loss that hardly falls in two epochs (lr too low, or the
//! normalisation).

mod common;

use std::process::Stdio;

/// The quickstart on 30 real digits (3 classes) with `sets`; the run's warnings.
fn warnings_of_run(sets: &[&str]) -> Vec<String> {
    let tmp = tempfile::tempdir().unwrap();
    let root = common::tiny_digits(&tmp.path().join("data"), 3, 10);
    let runs = tmp.path().join("runs");
    let out = common::train_command("quickstart.toml", &root, &runs, sets)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    common::warnings(&common::run_dir(&runs))
}

#[test]
fn a_loss_that_swings_up_early_gets_the_recipes_advice_once() {
    // lr 0.1 on the pretrained backbone: the loss goes from 1.6 to over 40 (measured).
    let sets = [
        "train.epochs=2",
        "train.batch_size=4",
        "train.lr=0.1",
        "train.head_lr=0.1",
    ];
    let warnings = warnings_of_run(&sets);
    let said: Vec<&String> = warnings
        .iter()
        .filter(|w| w.starts_with("the loss swings up early"))
        .collect();
    assert_eq!(said.len(), 1, "{said:#?}");
    assert!(said[0].contains("learning rate is likely too high"), "{}", said[0]);
    // Whatever the loss does next, the opposite advice does not follow.
    assert!(
        !warnings.iter().any(|w| w.starts_with("slow convergence")),
        "{warnings:#?}"
    );
}

#[test]
fn a_loss_that_hardly_falls_in_two_epochs_is_said_with_the_runs_own_normalisation() {
    // lr 1e-6 learns nothing in two epochs; the normalisation is not ImageNet's.
    let sets = [
        "train.epochs=3",
        "train.lr=1e-6",
        "train.head_lr=1e-6",
        "train.schedule=\"constant\"",
        "data.mean=[0.5, 0.5, 0.5]",
        "data.std=[0.5, 0.5, 0.5]",
    ];
    let warnings = warnings_of_run(&sets);
    let said: Vec<&String> = warnings.iter().filter(|w| w.starts_with("slow convergence")).collect();
    assert_eq!(said.len(), 1, "{warnings:#?}");
    assert!(
        said[0].contains("over epochs 1-2, against 1.099 for a guess"),
        "{}",
        said[0]
    );
    assert!(said[0].contains("this run uses mean [0.5, 0.5, 0.5]"), "{}", said[0]);
    // Validation drifting while nothing is learnt is no over-fitting.
    assert!(!warnings.iter().any(|w| w.starts_with("over-fitting")), "{warnings:#?}");
}
