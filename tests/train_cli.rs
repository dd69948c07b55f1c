//! `kiln train --no-tui` as a user runs it: commands on stdin, Ctrl-C, kill -9 and resume,
//! and the files a run leaves behind.

mod common;

use std::io::Write;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use kiln::runlog::{read_events, read_summary};
use kiln::train::event::{Event, Status};

/// The quickstart, shortened to a few real digits and small batches; the shipped
/// Fashion-MNIST backbone as is.
fn quickstart(root: &Path, runs: &Path, extra: &[&str]) -> Command {
    common::train_command("quickstart.toml", root, runs, extra)
}

fn wait_for(child: &mut Child, deadline: Duration, mut ready: impl FnMut() -> bool) {
    let start = Instant::now();
    while !ready() {
        assert!(
            child.try_wait().unwrap().is_none(),
            "kiln exited before the awaited moment"
        );
        assert!(start.elapsed() < deadline, "timed out");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn headless_run_takes_stdin_commands_and_leaves_a_complete_run_directory() {
    let tmp = tempfile::tempdir().unwrap();
    let root = common::tiny_digits(&tmp.path().join("data"), 3, 10);
    let runs = tmp.path().join("runs");
    let command = quickstart(&root, &runs, &["train.epochs=2", "train.freeze=[\"stem\", \"layer1\"]"]);
    let mut sent = false;
    let (stdout, out) = common::drive(command, |line, stdin| {
        if !sent && line.contains(" step 2 ") {
            writeln!(stdin, "lr *0.5").unwrap();
            writeln!(stdin, "unfreeze layer1").unwrap();
            writeln!(stdin, "frobnicate").unwrap();
            sent = true;
        }
    });
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(
        !stdout.contains('\u{1b}') && !stdout.contains('\r'),
        "escape codes in plain output"
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown command 'frobnicate'"));
    // The backbone file has no classifier: fine-tuning's usual start, said once, not warned.
    let weights = "weights assets/pretrained/resnet18-fashion.safetensors: 100 tensors, new 3-class fc (the file has no classifier)";
    assert!(stdout.contains(weights), "no weights line in:\n{stdout}");
    assert!(!stdout.contains("warning"), "a warning in:\n{stdout}");

    let dir = common::run_dir(&runs);
    for file in [
        "config.toml",
        "classes.txt",
        "split.csv",
        "events.jsonl",
        "metrics.csv",
        "summary.json",
    ] {
        assert!(dir.join(file).is_file(), "{file} missing");
    }
    assert!(dir.join("checkpoints/last/state.json").is_file());
    assert!(dir.join("checkpoints/best/model.safetensors").is_file());
    assert_eq!(std::fs::read_to_string(dir.join("classes.txt")).unwrap(), "0\n1\n2\n");
    let config = std::fs::read_to_string(dir.join("config.toml")).unwrap();
    assert!(
        config.starts_with("# resolved by kiln ") && config.contains("(burn 0.21.0)"),
        "{config}"
    );
    assert!(
        config.contains("root = ") && config.contains("seed = 42"),
        "the resolved values are saved"
    );

    let events = read_events(&dir.join("events.jsonl")).unwrap();
    let commands: Vec<(u64, String)> = events
        .iter()
        .filter_map(|r| match &r.event {
            Event::Command { command, .. } => Some((r.step, command.to_string())),
            _ => None,
        })
        .collect();
    assert_eq!(commands.len(), 2, "{commands:?}");
    assert!(commands.iter().all(|(step, _)| *step >= 2));
    let frozen_after = events.iter().rev().find_map(|r| match &r.event {
        Event::FreezeChanged { frozen, .. } => Some(frozen.clone()),
        _ => None,
    });
    assert_eq!(frozen_after.unwrap(), ["stem"]);

    let metrics = std::fs::read_to_string(dir.join("metrics.csv")).unwrap();
    assert_eq!(metrics.lines().count(), 3, "header and one row per epoch:\n{metrics}");
    assert!(metrics.starts_with("epoch,step,train_loss"));

    let summary = read_summary(&dir.join("summary.json")).unwrap();
    assert_eq!(summary.status, Status::Completed);
    let test = summary.test.expect("test metrics");
    assert_eq!(test.confusion.len(), 3);
    assert_eq!(test.confusion.iter().flatten().sum::<u64>(), 6);
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("summary.json")).unwrap()).unwrap();
    for key in [
        "status",
        "best_epoch",
        "val",
        "test",
        "images_per_second",
        "wall_seconds",
    ] {
        assert!(json.get(key).is_some(), "summary.json lacks {key}");
    }
    for key in ["accuracy", "loss", "f1_macro", "confusion"] {
        assert!(json["val"].get(key).is_some(), "summary.json val lacks {key}");
    }

    // The recipe's lr gives no advice to change it.
    let said = common::warnings(&dir);
    assert!(
        !said
            .iter()
            .any(|w| w.starts_with("the loss swings") || w.starts_with("slow convergence")),
        "{said:#?}"
    );

    // The run predicts by its directory alone; an unreadable file is named and the rest go on.
    let broken = tmp.path().join("broken.png");
    std::fs::write(&broken, b"not a png").unwrap();
    let good = root.join("2").join("0000.png");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_kiln"))
        .args(["predict", "--top", "1", "--run"])
        .arg(&dir)
        .args([&broken, &good])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "an unreadable image went unremarked");
    assert!(
        stderr.contains(&broken.display().to_string())
            && stderr.contains("1 of 2 images could not be read (named above); the other was predicted"),
        "{stderr}"
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 2, "{stdout}");
    assert_eq!(lines[0], good.display().to_string());
    let class = lines[1].split_whitespace().last().unwrap();
    assert!(["0", "1", "2"].contains(&class), "{stdout}");

    // A folder stands for the images inside it, in name order; other files are left out.
    std::fs::write(root.join("1").join("notes.txt"), "not an image").unwrap();
    let kiln = || std::process::Command::new(env!("CARGO_BIN_EXE_kiln"));
    let out = kiln()
        .args(["predict", "--top", "1", "--run"])
        .arg(&dir)
        .arg(root.join("1"))
        .output()
        .unwrap();
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert!(out.status.success(), "{stderr}");
    let named: Vec<&str> = stdout.lines().step_by(2).collect();
    let mut want: Vec<String> = std::fs::read_dir(root.join("1"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "png"))
        .map(|p| p.display().to_string())
        .collect();
    want.sort();
    assert_eq!(named, want, "{stdout}");
    assert!(
        stderr.contains("1 file under") && stderr.contains("is not an image and was left out"),
        "{stderr}"
    );
    // A reader that leaves early (`| head`) ends the predictions quietly, not with a panic.
    let piped = format!(
        "set -o pipefail; {} predict --run '{}' '{}' | true",
        env!("CARGO_BIN_EXE_kiln"),
        dir.display(),
        root.join("1").display()
    );
    let out = Command::new("bash").args(["-c", &piped]).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success() && !stderr.contains("panicked"), "{stderr}");
    let empty = tmp.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    let out = kiln()
        .args(["predict", "--run"])
        .arg(&dir)
        .arg(&empty)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && stderr.contains("holds no images"), "{stderr}");

    // `export --run` writes the run's best weights: predicting from that file with the run's
    // transform gives what `predict --run` gives.
    let exported = tmp.path().join("exported.safetensors");
    let out = kiln()
        .args(["export", "--run"])
        .arg(&dir)
        .arg("--out")
        .arg(&exported)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && stderr.contains("resnet18, 3 classes"),
        "{stderr}"
    );
    assert!(
        stderr.contains(&dir.join("classes.txt").display().to_string()),
        "{stderr}"
    );
    let predicted = |args: &[&std::ffi::OsStr]| {
        let out = kiln().arg("predict").args(args).arg(&good).output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap()
    };
    let by_run = predicted(&["--run".as_ref(), dir.as_os_str()]);
    let classes = dir.join("classes.txt");
    let by_file = predicted(&[
        "--model".as_ref(),
        "resnet18".as_ref(),
        "--weights".as_ref(),
        exported.as_os_str(),
        "--classes".as_ref(),
        classes.as_os_str(),
        "--image-size".as_ref(),
        "32".as_ref(),
        "--resize".as_ref(),
        "32".as_ref(),
    ]);
    assert_eq!(by_file, by_run);

    // `kiln runs` lists it, given the folder as `train` takes it or as an argument.
    for args in [vec!["runs", "--runs-dir"], vec!["runs"]] {
        let out = kiln().args(args).arg(&runs).output().unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        let name = dir.file_name().unwrap().to_string_lossy();
        assert!(out.status.success() && stdout.contains(&*name), "{stdout}");
    }
}

#[test]
fn killed_run_resumes_from_its_last_checkpoint() {
    let tmp = tempfile::tempdir().unwrap();
    let root = common::tiny_digits(&tmp.path().join("data"), 3, 10);
    let runs = tmp.path().join("runs");
    let mut child = quickstart(&root, &runs, &["train.epochs=4"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let checkpointed = || {
        let Ok(dirs) = std::fs::read_dir(&runs) else {
            return false;
        };
        dirs.flatten().any(|d| {
            std::fs::read_to_string(d.path().join("events.jsonl")).is_ok_and(|t| t.contains("\"which\":\"last\""))
        })
    };
    wait_for(&mut child, Duration::from_secs(300), checkpointed);
    child.kill().unwrap(); // SIGKILL: no chance to clean up
    child.wait().unwrap();
    let dir = common::run_dir(&runs);
    let before = read_events(&dir.join("events.jsonl")).unwrap();
    assert!(!before.iter().any(|r| matches!(r.event, Event::Finished(_))));
    let checkpoint_step = before
        .iter()
        .filter(|r| matches!(&r.event, Event::CheckpointSaved { which, .. } if which == "last"))
        .map(|r| r.step)
        .next_back()
        .unwrap();

    let out = common::resume(&dir);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let events = read_events(&dir.join("events.jsonl")).unwrap();
    let resumed = events
        .iter()
        .find_map(|r| match &r.event {
            Event::Started(s) if s.resumed_from_step.is_some() => Some(s.resumed_from_step),
            _ => None,
        })
        .flatten();
    assert_eq!(resumed, Some(checkpoint_step));
    let summary = read_summary(&dir.join("summary.json")).unwrap();
    assert_eq!(summary.status, Status::Completed);
    assert_eq!(summary.epochs_run, 4);

    // Every epoch trained: a second resume is refused and leaves the summary as it was.
    let before = std::fs::read_to_string(dir.join("summary.json")).unwrap();
    let again = common::resume(&dir);
    assert!(!again.status.success());
    let stderr = String::from_utf8_lossy(&again.stderr);
    assert!(
        stderr.contains("has trained all its 4 epochs") && stderr.contains("--set train.epochs=N"),
        "{stderr}"
    );
    assert_eq!(std::fs::read_to_string(dir.join("summary.json")).unwrap(), before);
}

#[test]
fn val_auc_is_reported_watched_and_written() {
    let tmp = tempfile::tempdir().unwrap();
    let root = common::tiny_digits(&tmp.path().join("data"), 3, 10);
    let runs = tmp.path().join("runs");
    let sets = [
        "train.epochs=2",
        "train.early_stop_metric=\"val_auc\"",
        "train.early_stop_patience=5",
    ];
    let out = quickstart(&root, &runs, &sets).stdin(Stdio::null()).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let epochs: Vec<&str> = stdout.lines().filter(|l| l.contains(" done in ")).collect();
    assert_eq!(epochs.len(), 2, "{stdout}");
    assert!(
        epochs.iter().all(|l| l.contains(" auc ") && !l.contains("top5")),
        "{stdout}"
    );
    let dir = common::run_dir(&runs);
    let summary = read_summary(&dir.join("summary.json")).unwrap();
    let auc = summary.val.unwrap().auc.unwrap();
    assert!((0.0..=1.0).contains(&auc), "{auc}");
    let metrics = std::fs::read_to_string(dir.join("metrics.csv")).unwrap();
    let last: Vec<&str> = metrics.lines().map(|l| l.rsplit(',').next().unwrap()).collect();
    assert_eq!(last[0], "val_auc");
    assert!(
        last[1..]
            .iter()
            .all(|v| v.parse::<f64>().is_ok_and(|v| (0.0..=1.0).contains(&v))),
        "{metrics}"
    );
}

#[test]
fn a_split_without_validation_images_says_so_and_best_follows_the_last_epoch() {
    let tmp = tempfile::tempdir().unwrap();
    // 3 images a class at 8:1:1 leave validation none.
    let root = common::tiny_digits(&tmp.path().join("data"), 3, 3);
    let runs = tmp.path().join("runs");
    let sets = ["train.epochs=2", "data.split=[8, 1, 1]"];
    let out = quickstart(&root, &runs, &sets).stdin(Stdio::null()).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("warning: no validation images: data.split = 8:1:1 over 9 images leaves none"),
        "{stdout}"
    );
    let epochs: Vec<&str> = stdout.lines().filter(|l| l.contains(" done in ")).collect();
    assert_eq!(epochs.len(), 2, "{stdout}");
    assert!(
        epochs.iter().all(|l| l.ends_with("| no validation images (best)")),
        "{stdout}"
    );
    let summary = read_summary(&common::run_dir(&runs).join("summary.json")).unwrap();
    assert_eq!(summary.best_epoch, Some(2), "best is the last epoch, not the first");
}

#[test]
fn ctrl_c_stops_gracefully_with_a_checkpoint() {
    let tmp = tempfile::tempdir().unwrap();
    let root = common::tiny_digits(&tmp.path().join("data"), 3, 10);
    let runs = tmp.path().join("runs");
    let mut child = quickstart(&root, &runs, &["train.epochs=50"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stepped = || {
        std::fs::read_dir(&runs).is_ok_and(|mut d| {
            d.any(|e| {
                e.is_ok_and(|e| {
                    std::fs::read_to_string(e.path().join("events.jsonl"))
                        .is_ok_and(|t| t.contains("\"kind\":\"step\""))
                })
            })
        })
    };
    wait_for(&mut child, Duration::from_secs(300), stepped);
    let status = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let dir = common::run_dir(&runs);
    let summary = read_summary(&dir.join("summary.json")).unwrap();
    assert_eq!(summary.status, Status::Stopped);
    assert!(summary.steps < 50 * 3);
    assert!(dir.join("checkpoints/last/state.json").is_file());
}

#[test]
fn a_diverging_run_fails_at_its_step_and_keeps_its_last_finite_weights() {
    let tmp = tempfile::tempdir().unwrap();
    let root = common::tiny_digits(&tmp.path().join("data"), 3, 10);
    let runs = tmp.path().join("runs");
    // A first step this large leaves finite weights (~1e30) whose next forward overflows.
    let out = quickstart(&root, &runs, &["train.epochs=3", "train.lr=1e30", "train.head_lr=1e30"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(!out.status.success(), "a diverged run exited 0");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("training diverged") && stderr.contains("train.lr (now 1e30) or train.head_lr (now 1e30)"),
        "{stderr}"
    );
    let dir = common::run_dir(&runs);
    let summary = read_summary(&dir.join("summary.json")).unwrap();
    assert_eq!(summary.status, Status::Failed);
    assert!(summary.error.unwrap().contains("checkpoints/last"));
    let bytes = std::fs::read(dir.join("checkpoints/last/model.safetensors")).unwrap();
    let tensors = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    for (name, view) in tensors.tensors() {
        assert!(
            view.data()
                .chunks_exact(4)
                .all(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]).is_finite()),
            "checkpoints/last holds a non-finite {name}"
        );
    }
}

#[test]
fn an_unreadable_image_in_any_split_is_said_once_and_counted_once() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("data");
    let broken = ["train/1/broken.png", "val/2/broken.png", "test/0/broken.png"];
    for split in ["train", "val", "test"] {
        common::tiny_digits(&root.join(split), 3, 4);
    }
    for b in broken {
        std::fs::write(root.join(b), b"not a png").unwrap();
    }
    let runs = tmp.path().join("runs");
    let out = quickstart(&root, &runs, &["train.epochs=3"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("; 3 unreadable images left out"), "{stdout}");
    let dir = common::run_dir(&runs);
    let warnings = common::warnings(&dir);
    // Three epochs meet the training file and the validation file three times each.
    for (b, split) in broken.iter().zip(["training", "validation", "test"]) {
        let path = root.join(b).display().to_string();
        let said = warnings.iter().filter(|w| w.contains(&path)).count();
        assert_eq!(said, 1, "{b} said {said} times in {warnings:#?}");
        assert!(
            warnings
                .iter()
                .any(|w| w.contains(&format!("unreadable {split} image {path}")))
        );
    }
    let summary = read_summary(&dir.join("summary.json")).unwrap();
    assert_eq!(summary.skipped_images, 3);
    assert_eq!(summary.test.unwrap().samples, 12, "the readable test images");
}

#[test]
fn a_skewed_split_is_reported_when_the_run_starts() {
    let tmp = tempfile::tempdir().unwrap();
    let root = common::tiny_digits(&tmp.path().join("data"), 2, 20);
    // Class 1 keeps 3 of its 20 images: 2 for training, 1 for test, none for validation.
    let mut rare: Vec<_> = std::fs::read_dir(root.join("1"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    rare.sort();
    for extra in &rare[3..] {
        std::fs::remove_file(extra).unwrap();
    }
    let runs = tmp.path().join("runs");
    let out = quickstart(&root, &runs, &["train.epochs=1"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let warnings = common::warnings(&common::run_dir(&runs));
    assert!(
        warnings
            .iter()
            .any(|w| w.starts_with("the classes are imbalanced: '0' has 14 training images, '1' 2")),
        "{warnings:#?}"
    );
    assert!(
        warnings
            .iter()
            .any(|w| w.starts_with("class '1' has no validation images")),
        "{warnings:#?}"
    );
}

#[test]
fn a_last_batch_of_one_image_at_32_px_is_skipped_and_said_once() {
    let tmp = tempfile::tempdir().unwrap();
    // 21 training images in batches of 4 leave one over each epoch.
    let root = common::tiny_digits(&tmp.path().join("data"), 3, 10);
    let runs = tmp.path().join("runs");
    let out = quickstart(&root, &runs, &["train.epochs=2", "train.batch_size=4"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let dir = common::run_dir(&runs);
    let lone = "a training batch of one image at 32 px";
    let said = common::warnings(&dir).iter().filter(|w| w.starts_with(lone)).count();
    assert_eq!(said, 1);
    let summary = read_summary(&dir.join("summary.json")).unwrap();
    assert_eq!(summary.steps, 2 * 5, "five steps of four images an epoch");
}

#[test]
fn a_bad_config_key_is_named() {
    let tmp = tempfile::tempdir().unwrap();
    let out = quickstart(tmp.path(), &tmp.path().join("runs"), &["train.lrr=0.1"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("train.lrr") && stderr.contains("train.lr"), "{stderr}");
}

#[test]
fn a_mistyped_data_folder_or_weights_file_leaves_no_run_behind() {
    let tmp = tempfile::tempdir().unwrap();
    let root = common::tiny_digits(&tmp.path().join("data"), 2, 5);
    let runs = tmp.path().join("runs");
    let missing_root = tmp.path().join("digitz");
    let out = quickstart(&missing_root, &runs, &[]).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && stderr.contains("digitz does not exist"),
        "{stderr}"
    );
    let weights = "model.weights=\"nowhere/resnet18.safetensors\"";
    let out = quickstart(&root, &runs, &[weights]).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && stderr.contains("cannot read weights file nowhere/resnet18.safetensors (relative to"),
        "{stderr}"
    );
    assert!(
        !runs.exists() || std::fs::read_dir(&runs).unwrap().count() == 0,
        "a run was left"
    );
}

#[test]
fn settings_the_cpu_trainer_cannot_honour_are_refused_by_name() {
    let tmp = tempfile::tempdir().unwrap();
    let root = common::tiny_digits(&tmp.path().join("data"), 2, 5);
    for (set, key) in [
        ("train.precision=\"bf16\"", "train.precision"),
        ("train.device=\"cuda:0\"", "train.device"),
    ] {
        let runs = tmp.path().join(key);
        let out = quickstart(&root, &runs, &[set]).stdin(Stdio::null()).output().unwrap();
        assert!(!out.status.success(), "{set} was accepted");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(key), "{stderr}");
        // The failed run is still on record.
        let summary = read_summary(&common::run_dir(&runs).join("summary.json")).unwrap();
        assert_eq!(summary.status, Status::Failed);
        assert!(summary.error.unwrap().contains(key));
    }
}
