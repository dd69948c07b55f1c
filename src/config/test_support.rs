//! What the config tests share: a minimal valid config and a loader that names it `test.toml`.

use super::{ConfigError, RunConfig};

/// The one key a config needs.
pub(super) const MINIMAL: &str = "[data]\nroot = \"data/x\"\n";

pub(super) fn load_str(text: &str, sets: &[&str]) -> Result<RunConfig, ConfigError> {
    RunConfig::from_toml_str_with_sets(text, "test.toml", sets)
}
