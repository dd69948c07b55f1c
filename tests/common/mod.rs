//! Helpers shared by the integration tests.
#![allow(dead_code)]

pub mod formula;

use std::path::PathBuf;

pub fn fixture(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(rel)
}

/// The logits PyTorch produced, from tests/fixtures/parity/expected.json.
pub fn expected_logits(key: &str) -> Vec<Vec<f32>> {
    let text = std::fs::read_to_string(fixture("parity/expected.json")).expect("expected.json is committed");
    let json: serde_json::Value = serde_json::from_str(&text).expect("expected.json parses");
    serde_json::from_value(json[key].clone()).unwrap_or_else(|e| panic!("expected.json lacks {key}: {e}"))
}

/// Largest absolute difference between two logit tables.
pub fn max_abs_diff(a: &[Vec<f32>], b: &[Vec<f32>]) -> f32 {
    assert_eq!(a.len(), b.len(), "batch sizes differ");
    a.iter()
        .zip(b)
        .flat_map(|(x, y)| {
            assert_eq!(x.len(), y.len(), "class counts differ");
            x.iter().zip(y).map(|(p, q)| (p - q).abs())
        })
        .fold(0.0, f32::max)
}

/// A small real data set: the first `per_class` bundled digits of `classes` classes, copied
/// into `dir` as class folders.
pub fn tiny_digits(dir: &std::path::Path, classes: usize, per_class: usize) -> PathBuf {
    let src = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("assets/digits");
    for class in 0..classes {
        let from = src.join(class.to_string());
        let to = dir.join(class.to_string());
        std::fs::create_dir_all(&to).unwrap();
        let mut files: Vec<_> = std::fs::read_dir(&from).unwrap().map(|e| e.unwrap().path()).collect();
        files.sort();
        for f in files
            .iter()
            .filter(|f| f.extension().is_some_and(|e| e == "png"))
            .take(per_class)
        {
            std::fs::copy(f, to.join(f.file_name().unwrap())).unwrap();
        }
    }
    dir.to_path_buf()
}

/// A config for fast runs on `root`: resnet18 from scratch at 32 px, batch 8, constant LR.
pub fn tiny_config(root: &std::path::Path, extra: &str) -> String {
    format!(
        r#"
[model]
arch = "resnet18"
weights = "none"

[data]
root = "{}"
image_size = 32
resize = 32
augment = false
workers = 2

[train]
epochs = 2
batch_size = 8
seed = 7
optimizer = "sgd"
lr = 0.01
head_lr = 0.01
schedule = "constant"
freeze = []
log_every = 1
{extra}
"#,
        root.display()
    )
}

/// `kiln train --no-tui --resume DIR` with stdin closed, run to its end.
pub fn resume(dir: &std::path::Path) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_kiln"))
        .args(["train", "--no-tui", "--resume"])
        .arg(dir)
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap()
}

/// `kiln train configs/CONFIG --no-tui --runs-dir RUNS` on the images in `root`, shortened (batch
/// 8, a line per step), with a `--set` for each of `sets`.
pub fn train_command(
    config: &str,
    root: &std::path::Path,
    runs: &std::path::Path,
    sets: &[&str],
) -> std::process::Command {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_kiln"));
    cmd.arg("train")
        .arg(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("configs").join(config))
        .arg("--no-tui")
        .arg("--runs-dir")
        .arg(runs)
        .arg("--set")
        .arg(format!("data.root=\"{}\"", root.display()));
    for set in ["train.batch_size=8", "train.log_every=1"].iter().chain(sets) {
        cmd.args(["--set", set]);
    }
    cmd
}

/// The newest run directory in `runs` (names start with the time).
pub fn run_dir(runs: &std::path::Path) -> PathBuf {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(runs).unwrap().map(|e| e.unwrap().path()).collect();
    dirs.sort();
    dirs.pop().expect("a run directory")
}

/// Runs `cmd` with piped stdio, calling `on_line` with each stdout line (and the child's stdin,
/// to answer it) as it arrives; returns stdout's lines joined and the finished output. Stdin
/// stays open until the child has exited.
pub fn drive(
    mut cmd: std::process::Command,
    mut on_line: impl FnMut(&str, &mut std::process::ChildStdin),
) -> (String, std::process::Output) {
    use std::io::BufRead;
    use std::process::Stdio;
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let mut lines = Vec::new();
    for line in std::io::BufReader::new(child.stdout.take().unwrap()).lines() {
        let line = line.unwrap();
        on_line(&line, &mut stdin);
        lines.push(line);
    }
    let out = child.wait_with_output().unwrap();
    drop(stdin);
    (lines.join("\n"), out)
}

/// The warnings in a run's event log, in order.
pub fn warnings(dir: &std::path::Path) -> Vec<String> {
    kiln::runlog::read_events(&dir.join("events.jsonl"))
        .unwrap()
        .into_iter()
        .filter_map(|r| match r.event {
            kiln::train::event::Event::Warning { message } => Some(message),
            _ => None,
        })
        .collect()
}
