//! `ConfigError`: what went wrong with a config, where, and how the message reads.

use std::path::PathBuf;

/// What went wrong with a config, where, and (in the message) what to do.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config {}: {source}; check the path (kiln's own configs are in configs/)", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{origin}: not valid TOML: {message}")]
    Syntax { origin: String, message: String },
    #[error("{origin}: unknown key '{key}'{}", suggestion_text(.suggestion))]
    UnknownKey {
        origin: String,
        key: String,
        suggestion: Option<String>,
    },
    #[error("{origin}: {key}: {message}")]
    BadValue {
        origin: String,
        key: String,
        message: String,
    },
    #[error("--set {arg}: {message}")]
    BadSet { arg: String, message: String },
    #[error("{}{key}: {message}", origin_prefix(.origin))]
    Invalid {
        /// The file the value came from; empty when `validate()` is called on its own.
        origin: String,
        key: String,
        message: String,
    },
}

fn suggestion_text(s: &Option<String>) -> String {
    match s {
        Some(s) => format!(" (did you mean '{s}'?)"),
        None => String::new(),
    }
}

fn origin_prefix(origin: &str) -> String {
    if origin.is_empty() {
        String::new()
    } else {
        format!("{origin}: ")
    }
}

impl ConfigError {
    pub(super) fn invalid(key: &str, message: impl Into<String>) -> ConfigError {
        ConfigError::Invalid {
            origin: String::new(),
            key: key.to_string(),
            message: message.into(),
        }
    }

    /// The dotted key the error is about, if it is about one.
    pub fn key(&self) -> Option<&str> {
        match self {
            ConfigError::UnknownKey { key, .. }
            | ConfigError::BadValue { key, .. }
            | ConfigError::Invalid { key, .. } => Some(key),
            _ => None,
        }
    }

    pub(super) fn with_origin(self, new_origin: &str) -> ConfigError {
        match self {
            ConfigError::Invalid { key, message, .. } => ConfigError::Invalid {
                origin: new_origin.to_string(),
                key,
                message,
            },
            other => other,
        }
    }
}
