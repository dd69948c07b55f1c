//! `kiln lr-find` as a user runs it: a short sweep on a few real digits, its table and
//! suggestion, and nothing left behind.

mod common;

use std::path::Path;
use std::process::Command;

#[test]
fn lr_find_sweeps_suggests_and_leaves_nothing_behind() {
    let tmp = tempfile::tempdir().unwrap();
    let root = common::tiny_digits(&tmp.path().join("data"), 3, 10);
    let (work, scratch) = (tmp.path().join("work"), tmp.path().join("tmp"));
    std::fs::create_dir_all(&work).unwrap();
    std::fs::create_dir_all(&scratch).unwrap();
    let weights = Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/pretrained/resnet18-fashion.safetensors");
    let out = Command::new(env!("CARGO_BIN_EXE_kiln"))
        .arg("lr-find")
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("configs/quickstart.toml"))
        .args(["--steps", "24", "--min-lr", "1e-6", "--max-lr", "10"])
        .args(["--set", &format!("data.root=\"{}\"", root.display())])
        .args(["--set", &format!("model.weights=\"{}\"", weights.display())])
        .args(["--set", "train.batch_size=4"])
        .current_dir(&work)
        .env("TMPDIR", &scratch)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", String::from_utf8_lossy(&out.stderr));
    assert!(
        stdout.contains("lr-find: resnet18 on cpu (flex) f32, 21 training images, batches of 4"),
        "{stdout}"
    );
    // A row per step or so, learning rates rising from --min-lr.
    let lrs: Vec<f64> = stdout
        .lines()
        .skip_while(|l| !l.contains("train.lr        loss"))
        .skip(1)
        .map_while(|l| l.split_whitespace().next()?.parse().ok())
        .collect();
    assert!(lrs.len() >= 5 && lrs[0] == 1e-6 && lrs.is_sorted(), "{stdout}");
    // Up to 10, the pretrained backbone's loss blows up before the plan ends.
    assert!(
        stdout.contains("stopped at step") || stdout.contains("ran all 24 steps"),
        "{stdout}"
    );
    assert!(
        stdout.contains("suggested train.lr: ") || stdout.contains("no suggestion"),
        "{stdout}"
    );
    // The sweep trains in a scratch folder and removes it; no run directory appears.
    assert_eq!(std::fs::read_dir(&scratch).unwrap().count(), 0);
    assert_eq!(std::fs::read_dir(&work).unwrap().count(), 0);
}
