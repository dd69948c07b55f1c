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
        .args(["--set", "train.batch_size=4", "--set", "train.group_lr.layer4=2e-3"])
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
    // The groups with rates of their own keep their ratio to train.lr (1e-3), and say so.
    assert!(
        stdout.contains("(train.head_lr 3.000x, train.group_lr.layer4 2.000x)"),
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
    if let Some(line) = stdout.lines().find(|l| l.trim_start().starts_with("kiln train")) {
        assert!(
            line.contains("--set train.group_lr.layer4=") && line.contains("--set train.head_lr="),
            "{line}"
        );
    }
    // The sweep trains in a scratch folder and removes it; no run directory appears.
    assert_eq!(std::fs::read_dir(&scratch).unwrap().count(), 0);
    assert_eq!(std::fs::read_dir(&work).unwrap().count(), 0);
}

#[test]
fn ctrl_c_ends_the_sweep_with_its_table_and_unreadable_images_are_said_once() {
    use std::io::{BufRead, BufReader};
    use std::process::Stdio;

    let tmp = tempfile::tempdir().unwrap();
    let root = common::tiny_digits(&tmp.path().join("data"), 3, 10);
    std::fs::write(root.join("1/broken.png"), b"not a png").unwrap();
    let scratch = tmp.path().join("tmp");
    std::fs::create_dir_all(&scratch).unwrap();
    let weights = Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/pretrained/resnet18-fashion.safetensors");
    // Every image trains, and the rates stay too low to blow up: only Ctrl-C ends it.
    let mut child = Command::new(env!("CARGO_BIN_EXE_kiln"))
        .arg("lr-find")
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("configs/quickstart.toml"))
        .args(["--steps", "100000", "--min-lr", "1e-7", "--max-lr", "1e-6"])
        .args(["--set", &format!("data.root=\"{}\"", root.display())])
        .args(["--set", &format!("model.weights=\"{}\"", weights.display())])
        .args(["--set", "train.batch_size=4", "--set", "data.split=[1, 0, 0]"])
        .env("TMPDIR", &scratch)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut first = String::new();
    stdout.read_line(&mut first).unwrap();
    assert!(first.starts_with("lr-find: "), "{first}");
    // A few epochs of 8 steps, each meeting the broken file.
    std::thread::sleep(std::time::Duration::from_secs(4));
    let status = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut stdout, &mut rest).unwrap();
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{rest}{stderr}");
    assert!(rest.contains("train.lr        loss"), "{rest}");
    let steps: usize = rest
        .lines()
        .find_map(|l| {
            l.strip_prefix("stopped at step ")?
                .strip_suffix(" by Ctrl-C")?
                .parse()
                .ok()
        })
        .unwrap_or_else(|| panic!("{rest}"));
    // More than an epoch of 8 batches went by, so the broken file was met more than once.
    assert!(steps > 8, "{rest}");
    // Too little of the range was swept to read a rate from it.
    assert!(
        rest.contains("no suggestion: the sweep was stopped at train.lr "),
        "{rest}"
    );
    assert!(
        stderr.contains("stopping the sweep after this step; Ctrl-C again to quit"),
        "{stderr}"
    );
    assert_eq!(stderr.matches("broken.png").count(), 1, "{stderr}");
    assert!(stderr.contains("skipped unreadable training image"), "{stderr}");
    assert_eq!(
        std::fs::read_dir(&scratch).unwrap().count(),
        0,
        "the scratch folder is removed"
    );
}
