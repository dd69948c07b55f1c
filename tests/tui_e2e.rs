//! The dashboard in a real terminal: tmux runs `kiln train` on a few of the bundled digits,
//! the test presses keys as a user would, and checks the screen, the run directory and the
//! shell left behind.

mod common;

use std::process::{Command, Output};
use std::time::{Duration, Instant};

use kiln::runlog::{read_events, read_summary};
use kiln::train::command::Source;
use kiln::train::event::{Event, Status};

const KILN: &str = env!("CARGO_BIN_EXE_kiln");
const SESSION: &str = "e2e";

/// A tmux server of our own (its own socket), killed when the test ends however it ends.
struct Tmux {
    socket: String,
}

impl Tmux {
    fn start(width: u16, height: u16) -> Self {
        let version = Command::new("tmux").arg("-V").output();
        assert!(
            version.is_ok_and(|o| o.status.success()),
            "tmux is needed for this test (.ci/run installs it)"
        );
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .subsec_nanos();
        let tmux = Tmux {
            socket: format!("kiln-e2e-{}-{nanos}", std::process::id()),
        };
        let (w, h) = (width.to_string(), height.to_string());
        tmux.run(&[
            "-f",
            "/dev/null",
            "new-session",
            "-d",
            "-s",
            SESSION,
            "-x",
            &w,
            "-y",
            &h,
            "bash --norc --noprofile",
        ]);
        tmux
    }

    fn run(&self, args: &[&str]) -> Output {
        let out = Command::new("tmux")
            .arg("-L")
            .arg(&self.socket)
            .args(args)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "tmux {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        out
    }

    /// Types text as is (no key-name lookup).
    fn type_text(&self, text: &str) {
        self.run(&["send-keys", "-t", SESSION, "-l", text]);
    }

    fn key(&self, name: &str) {
        self.run(&["send-keys", "-t", SESSION, name]);
    }

    fn screen(&self) -> String {
        String::from_utf8_lossy(&self.run(&["capture-pane", "-p", "-t", SESSION]).stdout).into_owned()
    }

    fn alternate_screen(&self) -> bool {
        let out = self.run(&["display-message", "-p", "-t", SESSION, "#{alternate_on}"]);
        String::from_utf8_lossy(&out.stdout).trim() == "1"
    }

    /// Polls the screen until `ready` says yes; fails with the last screen after `limit`.
    fn wait(&self, what: &str, limit: Duration, ready: impl Fn(&str) -> bool) -> String {
        let start = Instant::now();
        loop {
            let screen = self.screen();
            if ready(&screen) {
                return screen;
            }
            assert!(
                start.elapsed() < limit,
                "timed out after {limit:?} waiting for {what}; the screen:\n{screen}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn wait_for(&self, text: &str, limit: Duration) -> String {
        self.wait(&format!("'{text}'"), limit, |s| {
            // The typed line says `kiln-exit-$?`; only the echo has a digit there.
            let exited = s
                .match_indices("kiln-exit-")
                .any(|(i, m)| s[i + m.len()..].starts_with(|c: char| c.is_ascii_digit()));
            assert!(
                !exited || s.contains(text),
                "kiln exited while waiting for '{text}':\n{s}"
            );
            s.contains(text)
        })
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = Command::new("tmux").args(["-L", &self.socket, "kill-server"]).output();
    }
}

/// The step shown on the log line of a command the dashboard saw applied (`step    25 ✓ lr *2 (key)`).
fn shown_step(screen: &str, applied: &str) -> u64 {
    let line = screen
        .lines()
        .find(|l| l.contains(&format!("✓ {applied} (key)")))
        .unwrap_or_else(|| panic!("no applied '{applied}' on screen:\n{screen}"));
    let after = &line[line.find("step").expect("a step column") + 4..];
    after.split_whitespace().next().unwrap().parse().unwrap()
}

#[test]
fn dashboard_steers_a_run_and_gives_the_terminal_back() {
    let tmp = tempfile::tempdir().unwrap();
    let root = common::tiny_digits(&tmp.path().join("data"), 3, 30);
    // A file kiln does not read: its start-up warning scrolls out of the event log.
    std::fs::write(root.join("1").join("notes.txt"), "not an image").unwrap();
    let runs = tmp.path().join("runs");
    // Shortened: a few real digits and small batches. Many epochs, so the run is still going
    // when the keys arrive; the graceful stop ends it.
    let command = format!(
        "{KILN} train {config} --runs-dir {runs} --set 'data.root=\"{root}\"' --set train.batch_size=8 \
         --set train.epochs=50 --set 'train.freeze=[\"stem\", \"layer1\"]'; echo kiln-exit-$?",
        config = concat!(env!("CARGO_MANIFEST_DIR"), "/configs/quickstart.toml"),
        runs = runs.display(),
        root = root.display(),
    );
    let tmux = Tmux::start(160, 50);
    tmux.type_text(&command);
    tmux.key("Enter");

    let long = Duration::from_secs(300);
    tmux.wait_for("● running", long);
    assert!(tmux.alternate_screen(), "the dashboard draws on the alternate screen");

    tmux.type_text("+");
    let screen = tmux.wait_for("✓ lr *2 (key)", long);
    let lr_up = shown_step(&screen, "lr *2");
    tmux.type_text("u");
    let screen = tmux.wait_for("✓ unfreeze next (key)", long);
    let unfrozen = shown_step(&screen, "unfreeze next");
    tmux.type_text(":lr 1e-4");
    tmux.wait_for(":lr 1e-4█", long);
    tmux.key("Enter");
    let screen = tmux.wait_for("✓ lr 0.0001 (key)", long);
    let lr_set = shown_step(&screen, "lr 0.0001");
    // The freeze map follows: layer1 trains now, the stem is still frozen.
    assert!(
        screen.contains("frozen: stem (") && screen.lines().any(|l| l.contains("layer1") && l.contains("training")),
        "{screen}"
    );

    // The warning is counted in the header and listed by `!` long after the log dropped it
    // (first: the list is oldest first; the run's own advice may follow it).
    assert!(screen.contains(" (! lists them) "), "{screen}");
    tmux.type_text("!");
    let screen = tmux.wait_for(" warnings 1–", long);
    let first = screen
        .lines()
        .find(|l| l.contains("step ") && l.contains(" ! "))
        .unwrap_or_default();
    assert!(
        first.contains("1 file in the class folders is not an image"),
        "{screen}"
    );
    assert!(screen.contains("notes.txt"), "{screen}");
    tmux.key("Escape");
    tmux.wait("the list to close", long, |s| !s.contains(" warnings 1–"));

    tmux.type_text("q");
    tmux.wait_for("stop the run?", long);
    tmux.type_text("g");
    let screen = tmux.wait_for("● finished: stopped", long);
    assert!(
        screen.contains("run finished") && screen.contains("status        stopped"),
        "{screen}"
    );
    assert!(tmux.alternate_screen(), "the dashboard stays with the summary until q");

    tmux.type_text("q");
    let screen = tmux.wait_for("kiln-exit-0", long);
    assert!(!tmux.alternate_screen(), "the alternate screen was left:\n{screen}");
    // The shell takes a line and runs it, in cooked mode with echo on (raw mode was undone).
    tmux.type_text(
        "stty -a | tr ' ;' '\\n\\n' | grep -x -e icanon -e -icanon -e echo -e -echo | tr '\\n' ' '; echo done-$((6*7))",
    );
    tmux.key("Enter");
    let screen = tmux.wait("the shell's answer", Duration::from_secs(30), |s| s.contains("done-42"));
    assert!(screen.contains("icanon echo done-42"), "{screen}");

    let dir = common::run_dir(&runs);
    let summary = read_summary(&dir.join("summary.json")).unwrap();
    assert_eq!(summary.status, Status::Stopped);
    let events = read_events(&dir.join("events.jsonl")).unwrap();
    let applied: Vec<(String, u64)> = events
        .iter()
        .filter_map(|r| match &r.event {
            Event::Command { command, source, .. } => {
                assert_eq!(*source, Source::Key, "{command}");
                Some((command.to_string(), r.step))
            }
            _ => None,
        })
        .collect();
    let names: Vec<&str> = applied.iter().map(|(c, _)| c.as_str()).collect();
    assert_eq!(names, ["lr *2", "unfreeze next", "lr 0.0001", "stop"]);
    // Each took effect at a training step, the one the dashboard showed, in the order pressed.
    let steps: Vec<u64> = applied.iter().map(|(_, s)| *s).collect();
    assert_eq!(steps[..3], [lr_up, unfrozen, lr_set]);
    assert!(steps[0] >= 1 && steps.is_sorted(), "{applied:?}");
}
