//! `kiln evaluate` as a user runs it after training: the run's test split gives the figures the
//! run reported, a folder of some of the classes gives rows for those, its mistakes are real
//! mistakes, and wrong folders are refused by name.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use kiln::runlog::read_summary;
use serde_json::Value;

const KILN: &str = env!("CARGO_BIN_EXE_kiln");

/// A short quickstart run on the bundled digits 0..3, ten each; its run directory.
fn trained_run(tmp: &Path) -> PathBuf {
    let root = common::tiny_digits(&tmp.join("data"), 4, 10);
    let runs = tmp.join("runs");
    let out = common::train_command("quickstart.toml", &root, &runs, &["train.epochs=2"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    common::run_dir(&runs)
}

/// `kiln evaluate` with these arguments, run to its end.
fn evaluate<S: AsRef<std::ffi::OsStr>>(args: impl IntoIterator<Item = S>) -> Output {
    Command::new(KILN).arg("evaluate").args(args).output().unwrap()
}

fn json_of(out: &Output) -> Value {
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).expect("one JSON object")
}

#[test]
fn evaluate_reproduces_the_runs_test_figures_and_lists_real_mistakes() {
    let tmp = tempfile::tempdir().unwrap();
    let run = trained_run(tmp.path());
    let summary = read_summary(&run.join("summary.json")).unwrap();
    let test = summary.test.expect("the run's test metrics");

    let report = json_of(&evaluate([Path::new("--json"), Path::new("--run"), &run]));
    let metrics: kiln::train::metrics::EvalMetrics = serde_json::from_value(report["metrics"].clone()).unwrap();
    // The same weights on the same images: the figures the run printed at its end.
    assert_eq!(metrics.samples, test.samples);
    assert_eq!(metrics.confusion, test.confusion);
    assert_eq!(metrics.accuracy, test.accuracy);
    assert!(
        (metrics.loss - test.loss).abs() < 1e-5,
        "{} vs {}",
        metrics.loss,
        test.loss
    );
    assert_eq!(
        metrics.auc.map(|a| (a * 1e6).round()),
        test.auc.map(|a| (a * 1e6).round())
    );
    assert_eq!(report["source"], format!("test split of {}", run.display()));
    assert_eq!(report["device"], "cpu (flex)");

    // Every listed mistake is an image of the split whose prediction is not its folder's class,
    // and there are as many as the matrix has off its diagonal.
    let wrong = report["wrong"].as_u64().unwrap();
    let off_diagonal: u64 = (0..4)
        .flat_map(|t| (0..4).filter(move |&p| p != t).map(move |p| (t, p)))
        .map(|(t, p)| test.confusion[t][p])
        .sum();
    assert_eq!(wrong, off_diagonal);
    assert!(wrong > 0, "two epochs on 28 images leave mistakes to check");
    let worst = report["worst"].as_array().unwrap();
    assert_eq!(worst.len() as u64, wrong.min(10));
    let mut last = f64::INFINITY;
    for w in worst {
        let image = PathBuf::from(w["image"].as_str().unwrap());
        let folder = image.parent().unwrap().file_name().unwrap().to_str().unwrap();
        assert_eq!(w["label"], folder, "{w}");
        assert_ne!(w["predicted"], w["label"], "{w}");
        let confidence = w["confidence"].as_f64().unwrap();
        assert!(confidence <= last, "surest first: {worst:?}");
        last = confidence;
    }

    // The validation split is there too.
    let val = json_of(&evaluate([
        Path::new("--json"),
        Path::new("--split"),
        Path::new("val"),
        Path::new("--run"),
        &run,
    ]));
    assert_eq!(val["metrics"]["samples"], summary.val.expect("val metrics").samples);

    // A run recorded before a rule that would refuse its config today (0-255 statistics) still
    // evaluates and predicts.
    let config = run.join("config.toml");
    let text = std::fs::read_to_string(&config).unwrap();
    let old = text.replace("mean = [0.485, 0.456, 0.406]", "mean = [123.675, 116.28, 103.53]");
    assert_ne!(old, text);
    std::fs::write(&config, old).unwrap();
    let evaluated = evaluate([Path::new("--run"), &run]);
    assert!(
        evaluated.status.success(),
        "{}",
        String::from_utf8_lossy(&evaluated.stderr)
    );
    let image = tmp
        .path()
        .join("data/1")
        .read_dir()
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let predicted = Command::new(KILN)
        .args(["predict", "--run"])
        .arg(&run)
        .arg(&image)
        .output()
        .unwrap();
    assert!(
        predicted.status.success(),
        "{}",
        String::from_utf8_lossy(&predicted.stderr)
    );
}

#[test]
fn a_folder_of_some_classes_gets_their_rows_and_its_unreadable_files_are_counted() {
    let tmp = tempfile::tempdir().unwrap();
    let run = trained_run(tmp.path());
    // Classes 1 and 3 only, with a broken image and a text file among them.
    let folder = tmp.path().join("new");
    for class in ["1", "3"] {
        let to = folder.join(class);
        std::fs::create_dir_all(&to).unwrap();
        for e in std::fs::read_dir(tmp.path().join("data").join(class)).unwrap() {
            let e = e.unwrap();
            std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
        }
    }
    std::fs::write(folder.join("3/broken.png"), b"not a png").unwrap();
    std::fs::write(folder.join("1/notes.txt"), b"scanned on monday").unwrap();

    let out = evaluate([Path::new("--run"), &run, &folder]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("broken.png") && stderr.contains("1/notes.txt"),
        "{stderr}"
    );
    assert!(
        text.contains(": 20 images (1 unreadable, left out and named above)"),
        "{text}"
    );
    let rows: Vec<&str> = text
        .lines()
        .skip_while(|l| !l.starts_with("class"))
        .skip(1)
        .take_while(|l| !l.is_empty())
        .collect();
    let classes: Vec<&str> = rows.iter().map(|r| r.split_whitespace().next().unwrap()).collect();
    assert_eq!(classes, ["1", "3", "macro"], "{text}");
    assert!(rows.iter().all(|r| r.ends_with(" 10") || r.ends_with(" 20")), "{text}");
    assert!(
        text.contains("2 of the model's 4 classes have no images here"),
        "{text}"
    );

    // The weights file with its classes.txt and size gives the same figures as the run.
    let best = run.join("checkpoints/best/model.safetensors");
    let by_run = json_of(&evaluate([Path::new("--json"), Path::new("--run"), &run, &folder]));
    let by_file = evaluate([
        Path::new("--json"),
        Path::new("--model"),
        Path::new("resnet18"),
        Path::new("--image-size"),
        Path::new("32"),
        Path::new("--resize"),
        Path::new("32"),
        Path::new("--weights"),
        &best,
        Path::new("--classes"),
        &run.join("classes.txt"),
        &folder,
    ]);
    let by_file = json_of(&by_file);
    assert_eq!(by_file["metrics"], by_run["metrics"]);
    assert_eq!(by_file["worst"], by_run["worst"]);
    assert_eq!(
        by_run["skipped"][0]["image"],
        folder.join("3/broken.png").display().to_string()
    );
}

#[test]
fn folders_that_are_not_the_models_classes_are_refused_by_name() {
    let tmp = tempfile::tempdir().unwrap();
    let run = trained_run(tmp.path());
    let data = tmp.path().join("data");

    // A class folder the model does not know.
    std::fs::create_dir_all(data.join("7")).unwrap();
    std::fs::copy(
        data.join("1").read_dir().unwrap().next().unwrap().unwrap().path(),
        data.join("7/a.png"),
    )
    .unwrap();
    let out = evaluate([Path::new("--run"), &run, &data]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("1 folder \"7\" is not one of the model's 4 classes (0, 1, 2, 3)"),
        "{stderr}"
    );

    // One class folder itself: its images are not in class folders.
    let out = evaluate([Path::new("--run"), &run, &data.join("2")]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("its images lie directly in it") && stderr.contains("kiln predict"),
        "{stderr}"
    );

    // Nothing readable: no figures to give.
    let broken = tmp.path().join("broken");
    std::fs::create_dir_all(broken.join("1")).unwrap();
    std::fs::write(broken.join("1/a.png"), b"not a png").unwrap();
    let out = evaluate([Path::new("--run"), &run, &broken]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("none of the 1 images of") && stderr.contains("a.png"),
        "{stderr}"
    );

    // A device this build cannot use.
    if !cfg!(feature = "cuda") {
        let out = evaluate([Path::new("--device"), Path::new("cuda"), Path::new("--run"), &run]);
        assert!(!out.status.success());
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains("--device cuda:0: this kiln was built without CUDA"),
            "{stderr}"
        );
    }

    // A single-label run given a label CSV.
    let csv = tmp.path().join("labels.csv");
    std::fs::write(&csv, "path,labels\n7/a.png,odd\n").unwrap();
    let out = evaluate([Path::new("--run"), &run, &data, Path::new("--label-csv"), &csv]);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("is a single-label run"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
