//! What each command does to the trainer's state. The trainer applies them at safe points
//! (between optimizer steps) and reports each one back as an event.

use super::checkpoint::TrainState;
use super::command::Command;

/// What the trainer must do after a command changed its state.
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    /// Learning rates changed; the text says from what to what.
    Lr(String),
    /// The freeze map changed: re-mark parameters. The text says what changed.
    Freeze(String),
    Pause,
    Resume,
    Checkpoint,
    Stop,
    Abort,
}

impl Effect {
    pub fn describe(&self) -> String {
        match self {
            Effect::Lr(detail) => detail.clone(),
            Effect::Freeze(detail) => detail.clone(),
            Effect::Pause => "paused; 'resume' continues".into(),
            Effect::Resume => "resumed".into(),
            Effect::Checkpoint => "checkpoint requested".into(),
            Effect::Stop => "stopping: checkpoint, restore best, evaluate".into(),
            Effect::Abort => "aborting".into(),
        }
    }
}

/// The learning-rate groups, in network order.
pub const LR_GROUPS: [&str; 6] = ["stem", "layer1", "layer2", "layer3", "layer4", "head"];

fn show(state: &TrainState) -> String {
    state
        .base_lr
        .iter()
        .map(|(g, lr)| format!("{g} {lr:.2e}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Applies `command` to `state`; a command that cannot apply says why.
pub fn apply(command: &Command, state: &mut TrainState) -> Result<Effect, String> {
    let lr_ok = |lr: f64| {
        if lr.is_finite() && lr >= 0.0 {
            Ok(())
        } else {
            Err(format!("learning rate {lr} must be a finite number >= 0"))
        }
    };
    match command {
        Command::SetLr(lr) => {
            lr_ok(*lr)?;
            // The backbone groups take the new rate; the head keeps its ratio to the backbone.
            let backbone = state
                .base_lr
                .iter()
                .filter(|(g, _)| g.as_str() != "head")
                .map(|(_, v)| *v)
                .fold(0.0, f64::max);
            let ratio = if backbone > 0.0 { lr / backbone } else { 1.0 };
            for (group, value) in state.base_lr.iter_mut() {
                *value = if group == "head" { *value * ratio } else { *lr };
            }
            Ok(Effect::Lr(show(state)))
        }
        Command::ScaleLr(factor) => {
            lr_ok(*factor)?;
            for value in state.base_lr.values_mut() {
                *value *= factor;
            }
            Ok(Effect::Lr(show(state)))
        }
        Command::SetGroupLr { group, lr } => {
            lr_ok(*lr)?;
            // A block has a rate of its own only when the config gave it one.
            if !LR_GROUPS.contains(&group.as_str()) && !state.base_lr.contains_key(group) {
                return Err(format!(
                    "'{group}' has no learning rate of its own: use one of {} (a block gets one from \
                     train.group_lr in the config)",
                    LR_GROUPS.join(", ")
                ));
            }
            state.base_lr.insert(group.clone(), *lr);
            Ok(Effect::Lr(show(state)))
        }
        Command::Freeze(name) | Command::Unfreeze(name) => {
            let freeze = matches!(command, Command::Freeze(_));
            match state.freeze.set(name, freeze) {
                Ok(true) => Ok(Effect::Freeze(format!(
                    "{name} {}",
                    if freeze { "frozen" } else { "training" }
                ))),
                Ok(false) => Err(format!(
                    "{name} is already {}",
                    if freeze { "frozen" } else { "training" }
                )),
                Err(e) => Err(e.to_string()),
            }
        }
        Command::UnfreezeNext => match state.freeze.unfreeze_next() {
            Some(stage) => Ok(Effect::Freeze(format!("{stage} training"))),
            None => Err("nothing is frozen".into()),
        },
        Command::Pause => Ok(Effect::Pause),
        Command::Resume => Ok(Effect::Resume),
        Command::Checkpoint => Ok(Effect::Checkpoint),
        Command::Stop => Ok(Effect::Stop),
        Command::Abort => Ok(Effect::Abort),
    }
}
