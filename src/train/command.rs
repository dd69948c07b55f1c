//! Commands anyone can send the trainer, and the one parser that turns text into them (stdin in
//! headless runs, the dashboard's command line).
//!
//! Grammar (case-insensitive, extra spaces ignored):
//!
//! | text | command |
//! |---|---|
//! | `lr 3e-4` | `SetLr(3e-4)` |
//! | `lr *0.5`, `lr x2`, `lr /2` (a space after the operator is fine) | `ScaleLr(f)` |
//! | `lr head 1e-3`, `lr layer4 3e-4` | `SetGroupLr { group, lr }` |
//! | `freeze layer3`, `freeze layer4.2` | `Freeze(group)` |
//! | `unfreeze layer3` | `Unfreeze(group)` |
//! | `unfreeze`, `unfreeze next` | `UnfreezeNext` |
//! | `pause`, `resume`, `save` / `checkpoint`, `stop`, `abort` | the rest |
//!
//! Group names are checked for syntax only (`stem`, `head`, `layerN`, `layerN.i`); whether the
//! model has that group is for the trainer to say.
//!
//! `Command` is (de)serialised as its canonical text (`"lr 0.0003"`, `"freeze layer4.2"`), so
//! the events log reads like what was typed and is read back with the same parser.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::suggest::{closest, edit_distance};

/// Who asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Source {
    /// A key press in the dashboard.
    Key,
    /// A line on standard input (headless runs).
    Stdin,
    /// SIGINT / SIGTERM.
    Signal,
    /// The run's own schedule (progressive unfreezing).
    Schedule,
}

impl Source {
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Key => "key",
            Source::Stdin => "stdin",
            Source::Signal => "signal",
            Source::Schedule => "schedule",
        }
    }
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Something the trainer is asked to do at its next safe point.
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    /// Sets the backbone's base LR (every group but the head) to this value; the head's base LR
    /// is scaled by the same factor, so the head/backbone ratio is kept. The schedule keeps
    /// scaling base LRs as before, so the LR in effect is `schedule.lr_at(base, position)`.
    SetLr(f64),
    /// Multiplies every group's base LR (`lr /2` is `ScaleLr(0.5)`).
    ScaleLr(f64),
    /// Sets one group's base LR.
    SetGroupLr {
        group: String,
        lr: f64,
    },
    /// Freezes a stage or block (`layer3`, `layer4.2`), the stem or the head.
    Freeze(String),
    Unfreeze(String),
    /// Unfreezes the last frozen stage (the one nearest the head).
    UnfreezeNext,
    Pause,
    Resume,
    /// Writes a checkpoint now.
    Checkpoint,
    /// Graceful: checkpoint, restore the best weights, evaluate, summarise.
    Stop,
    /// Ends at once, without evaluation.
    Abort,
}

/// Text that is not a command; the message says what would be.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct CommandError(pub String);

const COMMANDS: &str = "freeze, unfreeze, lr, pause, resume, save, stop, abort";
const LR_USAGE: &str = "use 'lr 3e-4', 'lr *0.5', 'lr /2' or 'lr head 1e-3'";

fn err(msg: impl Into<String>) -> CommandError {
    CommandError(msg.into())
}

/// Parses one command line.
pub fn parse_command(text: &str) -> Result<Command, CommandError> {
    let lower = text.trim().to_ascii_lowercase();
    let words: Vec<&str> = lower.split_whitespace().collect();
    let Some((&verb, args)) = words.split_first() else {
        return Err(err(format!("empty command: try {COMMANDS}")));
    };
    let no_args = |c: Command| {
        if args.is_empty() {
            Ok(c)
        } else {
            Err(err(format!("'{verb}' takes no arguments, got '{}'", args.join(" "))))
        }
    };
    match verb {
        "pause" => no_args(Command::Pause),
        "resume" | "continue" => no_args(Command::Resume),
        "save" | "checkpoint" => no_args(Command::Checkpoint),
        "stop" => no_args(Command::Stop),
        "abort" => no_args(Command::Abort),
        "freeze" => match args {
            [group] => Ok(Command::Freeze(group_name(group)?)),
            [] => Err(err("freeze what? e.g. 'freeze layer3' or 'freeze layer4.2'")),
            _ => Err(err(format!("freeze takes one group, got '{}'", args.join(" ")))),
        },
        "unfreeze" => match args {
            [] | ["next"] => Ok(Command::UnfreezeNext),
            [group] => Ok(Command::Unfreeze(group_name(group)?)),
            _ => Err(err(format!(
                "unfreeze takes one group or 'next', got '{}'",
                args.join(" ")
            ))),
        },
        "lr" => parse_lr(args),
        other => {
            let hint = closest_verb(other).map_or(String::new(), |v| format!(" (did you mean '{v}'?)"));
            Err(err(format!("unknown command '{other}'{hint}: try {COMMANDS}")))
        }
    }
}

fn parse_lr(args: &[&str]) -> Result<Command, CommandError> {
    // Glue "* 0.5" into "*0.5" so both spellings go one way.
    let glued;
    let args: Vec<&str> = match args {
        [op, value] if is_operator(op) => {
            glued = format!("{op}{value}");
            vec![glued.as_str()]
        }
        _ => args.to_vec(),
    };
    match args.as_slice() {
        [] => Err(err(format!("lr needs a value: {LR_USAGE}"))),
        [one] => {
            if let Some(rest) = one.strip_prefix(['*', 'x', '×']) {
                Ok(Command::ScaleLr(positive(rest, "factor")?))
            } else if let Some(rest) = one.strip_prefix(['/', '÷']) {
                Ok(Command::ScaleLr(1.0 / positive(rest, "divisor")?))
            } else {
                Ok(Command::SetLr(positive(one, "learning rate")?))
            }
        }
        [group, value] => Ok(Command::SetGroupLr {
            group: group_name(group)?,
            lr: positive(value, "learning rate")?,
        }),
        _ => Err(err(format!("too many words after lr: {LR_USAGE}"))),
    }
}

fn is_operator(s: &str) -> bool {
    matches!(s, "*" | "x" | "×" | "/" | "÷")
}

/// A finite number > 0.
fn positive(text: &str, what: &str) -> Result<f64, CommandError> {
    match text.parse::<f64>() {
        Ok(v) if v.is_finite() && v > 0.0 => Ok(v),
        Ok(v) => Err(err(format!("the {what} must be a finite number > 0, got {v}"))),
        Err(_) => Err(err(format!("'{text}' is not a number: {LR_USAGE}"))),
    }
}

/// Checks group-name syntax: stem, head, layer1..layer4 or layerN.i.
pub fn group_name(text: &str) -> Result<String, CommandError> {
    let ok = match text {
        "stem" | "head" => true,
        _ => text.strip_prefix("layer").is_some_and(|rest| {
            let (stage, block) = match rest.split_once('.') {
                Some((s, b)) => (s, Some(b)),
                None => (rest, None),
            };
            matches!(stage, "1" | "2" | "3" | "4")
                && block.is_none_or(|b| !b.is_empty() && b.len() <= 3 && b.bytes().all(|c| c.is_ascii_digit()))
        }),
    };
    if ok {
        Ok(text.to_string())
    } else {
        Err(err(format!(
            "'{text}' is not a group: use stem, layer1..layer4, a block such as layer4.2, or head"
        )))
    }
}

fn closest_verb(word: &str) -> Option<&'static str> {
    const VERBS: [&str; 9] = [
        "freeze",
        "unfreeze",
        "lr",
        "pause",
        "resume",
        "save",
        "checkpoint",
        "stop",
        "abort",
    ];
    // A verb the word would have to be rewritten into entirely is no hint ("ab" is 2 edits from "lr").
    let plausible = VERBS.into_iter().filter(|v| edit_distance(word, v) < v.len());
    closest(word, plausible, 2)
}

impl fmt::Display for Command {
    /// The canonical text; `parse_command` reads it back to an equal command (`{}` on f64
    /// prints the shortest text that parses to the same number).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Command::SetLr(lr) => write!(f, "lr {lr}"),
            Command::ScaleLr(x) => write!(f, "lr *{x}"),
            Command::SetGroupLr { group, lr } => write!(f, "lr {group} {lr}"),
            Command::Freeze(g) => write!(f, "freeze {g}"),
            Command::Unfreeze(g) => write!(f, "unfreeze {g}"),
            Command::UnfreezeNext => f.write_str("unfreeze next"),
            Command::Pause => f.write_str("pause"),
            Command::Resume => f.write_str("resume"),
            Command::Checkpoint => f.write_str("save"),
            Command::Stop => f.write_str("stop"),
            Command::Abort => f.write_str("abort"),
        }
    }
}

impl FromStr for Command {
    type Err = CommandError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        parse_command(s)
    }
}

impl Serialize for Command {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Command {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        parse_command(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Command {
        parse_command(s).unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    fn e(s: &str) -> String {
        match parse_command(s) {
            Ok(c) => panic!("'{s}' parsed as {c:?}"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn parses_every_command() {
        assert_eq!(p("lr 3e-4"), Command::SetLr(3e-4));
        assert_eq!(p("  LR   0.001 "), Command::SetLr(0.001));
        assert_eq!(p("lr *0.5"), Command::ScaleLr(0.5));
        assert_eq!(p("lr * 0.5"), Command::ScaleLr(0.5));
        assert_eq!(p("lr x2"), Command::ScaleLr(2.0));
        assert_eq!(p("lr ×3"), Command::ScaleLr(3.0));
        assert_eq!(p("lr /2"), Command::ScaleLr(0.5));
        assert_eq!(p("lr / 4"), Command::ScaleLr(0.25));
        assert_eq!(
            p("lr head 1e-3"),
            Command::SetGroupLr {
                group: "head".into(),
                lr: 1e-3
            }
        );
        assert_eq!(
            p("lr layer4.1 3e-4"),
            Command::SetGroupLr {
                group: "layer4.1".into(),
                lr: 3e-4
            }
        );
        assert_eq!(p("freeze layer4.2"), Command::Freeze("layer4.2".into()));
        assert_eq!(p("freeze Layer3"), Command::Freeze("layer3".into()));
        assert_eq!(p("unfreeze stem"), Command::Unfreeze("stem".into()));
        assert_eq!(p("unfreeze next"), Command::UnfreezeNext);
        assert_eq!(p("unfreeze"), Command::UnfreezeNext);
        assert_eq!(p("pause"), Command::Pause);
        assert_eq!(p("resume"), Command::Resume);
        assert_eq!(p("save"), Command::Checkpoint);
        assert_eq!(p("checkpoint"), Command::Checkpoint);
        assert_eq!(p("stop"), Command::Stop);
        assert_eq!(p("abort"), Command::Abort);
    }

    #[test]
    fn errors_say_what_would_work() {
        assert_eq!(
            e("frezee layer3"),
            "unknown command 'frezee' (did you mean 'freeze'?): try freeze, unfreeze, lr, pause, resume, save, stop, abort"
        );
        assert_eq!(
            e("dance"),
            "unknown command 'dance': try freeze, unfreeze, lr, pause, resume, save, stop, abort"
        );
        assert!(e("").starts_with("empty command"));
        assert!(e("lr").contains("lr needs a value"));
        assert!(e("lr fast").contains("'fast' is not a number"), "{}", e("lr fast"));
        assert!(e("lr abc 1").contains("'abc' is not a group"));
        assert!(e("lr 0").contains("> 0"));
        assert!(e("lr -1e-3").contains("> 0"));
        assert!(e("lr *0").contains("> 0"));
        assert!(e("lr /0").contains("> 0"));
        assert!(e("lr nan").contains("> 0"));
        assert!(e("lr inf").contains("> 0"));
        assert!(e("lr *abc").contains("not a number"));
        assert!(e("lr head 1 2").contains("too many"));
        assert!(e("freeze").contains("freeze what"));
        assert!(e("freeze layer5").contains("not a group"));
        assert!(e("freeze layer4.").contains("not a group"));
        assert!(e("freeze layer4.x").contains("not a group"));
        assert!(e("freeze a b").contains("one group"));
        assert!(e("pause now").contains("takes no arguments"));
    }

    #[test]
    fn display_parses_back_to_the_same_command() {
        let all = [
            Command::SetLr(3e-4),
            Command::SetLr(0.1 + 0.2),
            Command::ScaleLr(1.0 / 3.0),
            Command::ScaleLr(2.0),
            Command::SetGroupLr {
                group: "layer3.35".into(),
                lr: 1.2345678901234567e-5,
            },
            Command::Freeze("stem".into()),
            Command::Unfreeze("layer2".into()),
            Command::UnfreezeNext,
            Command::Pause,
            Command::Resume,
            Command::Checkpoint,
            Command::Stop,
            Command::Abort,
        ];
        for c in all {
            let text = c.to_string();
            assert_eq!(parse_command(&text), Ok(c.clone()), "{text}");
        }
        assert_eq!(Command::ScaleLr(0.5).to_string(), "lr *0.5");
        assert_eq!(Command::SetLr(3e-4).to_string(), "lr 0.0003");
    }

    #[test]
    fn serde_uses_the_canonical_text() {
        let c = Command::SetGroupLr {
            group: "head".into(),
            lr: 1e-3,
        };
        let json = serde_json::to_string(&c).unwrap();
        assert_eq!(json, "\"lr head 0.001\"");
        assert_eq!(serde_json::from_str::<Command>(&json).unwrap(), c);
        assert!(serde_json::from_str::<Command>("\"fly\"").is_err());
        assert_eq!(serde_json::to_string(&Source::Stdin).unwrap(), "\"stdin\"");
        assert_eq!(
            serde_json::from_str::<Source>("\"schedule\"").unwrap(),
            Source::Schedule
        );
    }
}
