//! Multi-label training from a label CSV, as a user runs it: BCE over multi-hot targets, label
//! metrics in the run log, and a stopped run that resumes with the same labels.

mod common;

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

use kiln::runlog::{read_events, read_summary};
use kiln::train::event::{Event, Status};

const KILN: &str = env!("CARGO_BIN_EXE_kiln");

/// Each digit's labels in the CSV.
const TAGS: [&str; 4] = ["even;loop", "straight", "even;prime", ""];

/// The bundled digits 0..3, ten each, tagged with their numeral's attributes.
fn attribute_data(dir: &Path) -> (std::path::PathBuf, std::path::PathBuf) {
    let root = common::tiny_digits(&dir.join("data"), 4, 10);
    // The threes carry no label at all (a CSV may say so).
    let tags = TAGS;
    let mut csv = String::from("path,labels\n");
    for (digit, tags) in tags.iter().enumerate() {
        let mut files: Vec<_> = std::fs::read_dir(root.join(digit.to_string()))
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        files.sort();
        for f in files {
            csv += &format!("{digit}/{f},{tags}\n");
        }
    }
    let labels = dir.join("labels.csv");
    std::fs::write(&labels, csv).unwrap();
    (root, labels)
}

fn train(root: &Path, labels: &Path, runs: &Path, epochs: u32) -> Command {
    let csv = format!("data.multi_label_csv=\"{}\"", labels.display());
    let epochs = format!("train.epochs={epochs}");
    common::train_command("digit-attributes.toml", root, runs, &[&csv, &epochs])
}

#[test]
fn a_multi_label_run_reports_label_metrics_and_resumes_with_its_labels() {
    let tmp = tempfile::tempdir().unwrap();
    let (root, labels) = attribute_data(tmp.path());
    let runs = tmp.path().join("runs");
    let (stdout, out) = common::drive(train(&root, &labels, &runs, 3), |line, stdin| {
        if line.contains("epoch 1/3 done") {
            writeln!(stdin, "stop").unwrap();
        }
    });
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("label acc"), "{stdout}");
    let dir = common::run_dir(&runs);
    assert_eq!(
        std::fs::read_to_string(dir.join("classes.txt")).unwrap(),
        "even\nloop\nprime\nstraight\n"
    );
    let stopped = read_summary(&dir.join("summary.json")).unwrap();
    assert_eq!(stopped.status, Status::Stopped);

    let out = common::resume(&dir);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let summary = read_summary(&dir.join("summary.json")).unwrap();
    assert_eq!(summary.status, Status::Completed);
    assert_eq!(summary.epochs_run, 3);
    let test = summary.test.expect("test metrics");
    // 40 images split 7:1:2 within each first-label stratum.
    assert_eq!(test.samples, 8);
    assert_eq!(test.f1.len(), 4);
    assert!(test.top5.is_none() && test.confusion.is_empty());
    let label_accuracy = test.label_accuracy.expect("label accuracy");
    assert!((0.0..=1.0).contains(&label_accuracy));
    // Exact match can only be as good as the labels one by one.
    assert!(test.accuracy <= label_accuracy);
    // Images carrying each label among the 8: the support adds up to the labels handed out.
    let support: u64 = test.support.iter().sum();
    assert!((8..=16).contains(&support), "{:?}", test.support);

    // The trained weights predict one probability per label.
    let image = std::fs::read_dir(root.join("2"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let out = Command::new(KILN)
        .args([
            "predict",
            "--model",
            "resnet18",
            "--multi-label",
            "--image-size",
            "32",
            "--resize",
            "32",
        ])
        .arg("--weights")
        .arg(dir.join("checkpoints/best/model.safetensors"))
        .arg("--classes")
        .arg(dir.join("classes.txt"))
        .arg(&image)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines[0].starts_with(&format!("{}: ", image.display())), "{text}");
    assert_eq!(
        lines.len(),
        5,
        "the present labels, then all four with their probability:\n{text}"
    );
    for label in ["even", "loop", "prime", "straight"] {
        assert!(lines[1..].iter().any(|l| l.trim_end().ends_with(label)), "{text}");
    }
    // The run directory alone gives the same: its weights, labels, size and multi-label kind.
    let from_run = Command::new(KILN)
        .args(["predict", "--run"])
        .arg(&dir)
        .arg(&image)
        .output()
        .unwrap();
    assert!(
        from_run.status.success(),
        "{}",
        String::from_utf8_lossy(&from_run.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&from_run.stdout), text);

    // `kiln evaluate` on the run's test split (two label-less threes among them) gives the run's
    // figures; on the whole CSV, all 40.
    let evaluated = Command::new(KILN)
        .args(["evaluate", "--json", "--run"])
        .arg(&dir)
        .output()
        .unwrap();
    assert!(
        evaluated.status.success(),
        "{}",
        String::from_utf8_lossy(&evaluated.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&evaluated.stdout).unwrap();
    assert_eq!(report["metrics"]["samples"], 8);
    assert_eq!(report["metrics"]["label_accuracy"], label_accuracy);
    assert_eq!(report["metrics"]["f1"], serde_json::json!(test.f1));
    for w in report["worst"].as_array().unwrap() {
        // Each wrong label is the CSV's, missed below 50 %, or not the CSV's and above it.
        let image = Path::new(w["image"].as_str().unwrap());
        let digit: usize = image
            .parent()
            .unwrap()
            .file_name()
            .unwrap()
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        for l in w["labels"].as_array().unwrap() {
            let labelled = TAGS[digit].split(';').any(|t| t == l["label"]);
            assert_eq!(l["labelled"].as_bool().unwrap(), labelled, "{w}");
            assert_eq!(l["probability"].as_f64().unwrap() < 0.5, labelled, "{w}");
        }
    }
    let whole = Command::new(KILN)
        .args(["evaluate", "--json", "--run"])
        .arg(&dir)
        .arg("--label-csv")
        .arg(&labels)
        .arg(&root)
        .output()
        .unwrap();
    assert!(whole.status.success(), "{}", String::from_utf8_lossy(&whole.stderr));
    let whole: serde_json::Value = serde_json::from_slice(&whole.stdout).unwrap();
    assert_eq!(whole["metrics"]["samples"], 40);
    assert_eq!(whole["metrics"]["support"], serde_json::json!([20, 10, 10, 10]));

    let events = read_events(&dir.join("events.jsonl")).unwrap();
    let losses: Vec<f64> = events
        .iter()
        .filter_map(|r| match &r.event {
            Event::Epoch(e) => Some(e.train_loss),
            _ => None,
        })
        .collect();
    assert_eq!(losses.len(), 3);
    // BCE over 4 labels starts near ln 2 and the model learns.
    assert!(losses[0] < 0.75 && losses[2] < losses[0], "{losses:?}");
}

#[test]
fn a_label_csv_naming_a_missing_image_is_refused_with_its_line() {
    let tmp = tempfile::tempdir().unwrap();
    let (root, labels) = attribute_data(tmp.path());
    let mut text = std::fs::read_to_string(&labels).unwrap();
    text += "7/nope.png,prime\n";
    std::fs::write(&labels, text).unwrap();
    let out = train(&root, &labels, &tmp.path().join("runs"), 1)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("labels.csv") && stderr.contains("line 42") && stderr.contains("nope.png"),
        "{stderr}"
    );
}
