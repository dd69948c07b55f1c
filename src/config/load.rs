//! Reading a config: TOML text, then `--set` overrides, arch-dependent defaults, unknown keys,
//! deserialisation and validation, in that order.

use std::path::Path;

use super::groups::default_freeze;
use super::overrides::{insert_at, parse_set};
use super::unknown_keys::{check_keys, schema};
use super::{ConfigError, ModelConfig, RunConfig};
use crate::model::Arch;

impl RunConfig {
    /// Reads, checks and validates a config file.
    pub fn load(path: impl AsRef<Path>) -> Result<RunConfig, ConfigError> {
        Self::load_with_sets(path, &[] as &[&str])
    }

    /// A run directory's config.toml, as the run resolved it, read without validation: the run
    /// passed the rules it started under, and `predict`, `export` and `evaluate --run` need only
    /// its model and transform, so a rule added since must not lock them out of an old run.
    pub fn load_recorded(path: impl AsRef<Path>) -> Result<RunConfig, ConfigError> {
        let path = path.as_ref();
        let text = read(path)?;
        let table = parse(&text, &path.display().to_string())?;
        let mut root = toml::Value::Table(table);
        fill_defaults(&mut root);
        deserialize(root, &path.display().to_string(), &[])
    }

    /// `load` with `--set key=value` overrides applied before anything is checked.
    pub fn load_with_sets<S: AsRef<str>>(path: impl AsRef<Path>, sets: &[S]) -> Result<RunConfig, ConfigError> {
        let path = path.as_ref();
        Self::from_toml_str_with_sets(&read(path)?, &path.display().to_string(), sets)
    }

    /// Parses `text` (named `source_name` in errors), applies `sets` (`"train.lr=3e-4"`),
    /// fills arch-dependent defaults, rejects unknown keys, deserialises and validates.
    pub fn from_toml_str_with_sets<S: AsRef<str>>(
        text: &str,
        source_name: &str,
        sets: &[S],
    ) -> Result<RunConfig, ConfigError> {
        let mut root = toml::Value::Table(parse(text, source_name)?);
        let mut set_keys = Vec::new();
        for set in sets {
            let (path, value) = parse_set(set.as_ref())?;
            insert_at(&mut root, &path, value).map_err(|message| ConfigError::BadSet {
                arg: set.as_ref().to_string(),
                message,
            })?;
            set_keys.push((path.join("."), set.as_ref().to_string()));
        }
        fill_defaults(&mut root);
        from_value(root, source_name, &set_keys)
    }

    /// Applies one `--set key=value` to an already loaded config and re-validates it.
    /// Note: `train.freeze` is already explicit here, so changing `model.arch` this way keeps the
    /// old freeze list; prefer `load_with_sets` when starting from a file.
    pub fn apply_set(&mut self, set: &str) -> Result<(), ConfigError> {
        let mut root = toml::Value::try_from(&*self).map_err(|e| ConfigError::BadSet {
            arg: set.to_string(),
            message: format!("cannot re-read the current config: {e}"),
        })?;
        let (path, value) = parse_set(set)?;
        insert_at(&mut root, &path, value).map_err(|message| ConfigError::BadSet {
            arg: set.to_string(),
            message,
        })?;
        let key = path.join(".");
        *self = from_value(root, "config", &[(key, set.to_string())])?;
        Ok(())
    }

    /// The resolved config as TOML; `from_toml_str_with_sets` reads it back to an equal config.
    pub fn to_toml_string(&self) -> String {
        // Serialisation cannot fail: every field is a TOML-representable type and the only
        // `Option`s are skipped when empty.
        toml::to_string(self).unwrap_or_else(|e| format!("# cannot serialise config: {e}\n"))
    }
}

fn read(path: &Path) -> Result<String, ConfigError> {
    std::fs::read_to_string(path).map_err(|source| ConfigError::Io {
        path: path.to_path_buf(),
        source,
    })
}

fn parse(text: &str, source_name: &str) -> Result<toml::Table, ConfigError> {
    text.parse().map_err(|e: toml::de::Error| ConfigError::Syntax {
        origin: source_name.to_string(),
        message: e.to_string().trim_end().to_string(),
    })
}

/// Defaults that depend on other keys: `train.freeze` follows `model.arch`.
fn fill_defaults(root: &mut toml::Value) {
    let Some(top) = root.as_table_mut() else { return };
    let arch = match top.get("model").and_then(|m| m.get("arch")) {
        None => ModelConfig::default().arch,
        Some(v) => match v.as_str().map(str::parse::<Arch>) {
            Some(Ok(a)) => a,
            _ => return, // deserialisation reports the bad arch
        },
    };
    let Some(train) = top
        .entry("train")
        .or_insert_with(|| toml::Value::Table(toml::Table::new()))
        .as_table_mut()
    else {
        return;
    };
    if !train.contains_key("freeze") {
        let list = default_freeze(arch).into_iter().map(toml::Value::String).collect();
        train.insert("freeze".into(), toml::Value::Array(list));
    }
}

fn from_value(root: toml::Value, source: &str, set_keys: &[(String, String)]) -> Result<RunConfig, ConfigError> {
    let cfg = deserialize(root, source, set_keys)?;
    cfg.validate().map_err(|e| {
        let origin = e
            .key()
            .map_or_else(|| source.to_string(), |key| origin_of(key, source, set_keys));
        e.with_origin(&origin)
    })?;
    Ok(cfg)
}

/// Which --set a key came from, so errors blame the command line rather than the file.
fn origin_of(key: &str, source: &str, set_keys: &[(String, String)]) -> String {
    let key = key.split('[').next().unwrap_or(key);
    set_keys
        .iter()
        .rev()
        .find(|(k, _)| key == k || key.starts_with(&format!("{k}.")) || k.starts_with(&format!("{key}.")))
        .map_or_else(|| source.to_string(), |(_, arg)| format!("--set {arg}"))
}

/// Unknown keys refused by name, then the typed config.
fn deserialize(root: toml::Value, source: &str, set_keys: &[(String, String)]) -> Result<RunConfig, ConfigError> {
    let origin_of = |key: &str| origin_of(key, source, set_keys);
    check_keys(&root, &schema(), "", &|key, suggestion| ConfigError::UnknownKey {
        origin: origin_of(key),
        key: key.to_string(),
        suggestion,
    })?;
    let cfg: RunConfig = serde_path_to_error::deserialize(root).map_err(|e| {
        let key = e.path().to_string();
        let message = e.into_inner().message().trim_end().to_string();
        ConfigError::BadValue {
            origin: origin_of(&key),
            key,
            message,
        }
    })?;
    Ok(cfg)
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::config::test_support::{MINIMAL, load_str};

    #[test]
    fn every_shipped_config_loads_and_validates() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("configs");
        let mut n = 0;
        for entry in std::fs::read_dir(&dir).expect("configs/ exists") {
            let path = entry.expect("dir entry").path();
            if path.extension().is_some_and(|e| e == "toml") {
                let cfg = RunConfig::load(&path).unwrap_or_else(|e| panic!("{e}"));
                // And the resolved form reads back to the same config.
                let again = load_str(&cfg.to_toml_string(), &[]).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
                assert_eq!(cfg, again, "{}", path.display());
                n += 1;
            }
        }
        assert!(n >= 3, "expected at least 3 configs, found {n}");
    }

    #[test]
    fn type_errors_name_the_key() {
        let e = load_str(&format!("{MINIMAL}[train]\nlr = \"fast\"\n"), &[]).unwrap_err();
        assert_eq!(e.key(), Some("train.lr"), "{e}");
        assert!(e.to_string().starts_with("test.toml: train.lr: "), "{e}");
        let e = load_str(MINIMAL, &["train.optimizer=adam"]).unwrap_err();
        let s = e.to_string();
        assert!(s.starts_with("--set train.optimizer=adam: train.optimizer:"), "{s}");
        assert!(s.contains("adamw") && s.contains("sgd"), "{s}");
        let e = load_str(MINIMAL, &["model.arch=resnet20"]).unwrap_err();
        assert!(e.to_string().contains("resnet152"), "{e}");
        let e = load_str(MINIMAL, &["train.device=tpu"]).unwrap_err();
        assert!(e.to_string().contains("cuda:N"), "{e}");
    }

    #[test]
    fn a_runs_recorded_config_is_read_without_rules_added_since() {
        // Refused by today's rules (0-255 statistics), but a run made before them has its model
        // and transform for predict, export and evaluate.
        let text = format!("{MINIMAL}mean = [123.675, 116.28, 103.53]\n");
        let e = load_str(&text, &[]).unwrap_err();
        assert_eq!(e.key(), Some("data.mean"), "{e}");
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.toml");
        std::fs::write(&path, &text).unwrap();
        let recorded = RunConfig::load_recorded(&path).unwrap();
        assert_eq!(recorded.data.mean, [123.675, 116.28, 103.53]);
        // Unknown keys are still refused by name.
        std::fs::write(&path, format!("{text}colour = 1\n")).unwrap();
        let e = RunConfig::load_recorded(&path).unwrap_err().to_string();
        assert!(e.contains("data.colour"), "{e}");
    }

    #[test]
    fn syntax_errors_name_the_file() {
        let e = load_str("[train\nlr = 1", &[]).unwrap_err();
        assert!(matches!(e, ConfigError::Syntax { .. }));
        assert!(e.to_string().starts_with("test.toml: not valid TOML"), "{e}");
    }

    #[test]
    fn apply_set_edits_and_revalidates() {
        let mut c = load_str(MINIMAL, &[]).unwrap();
        c.apply_set("train.head_lr=5e-3").unwrap();
        assert_eq!(c.train.head_lr, 5e-3);
        let before = c.clone();
        let e = c.apply_set("train.lr=-1").unwrap_err();
        assert_eq!(e.key(), Some("train.lr"));
        assert!(e.to_string().contains("> 0"), "{e}");
        assert_eq!(c, before, "a failed set leaves the config as it was");
    }

    #[test]
    fn resolved_config_round_trips_with_every_option_set() {
        let c = load_str(
            MINIMAL,
            &[
                "data.resize=40",
                "data.image_size=32",
                "train.t_max=7",
                "train.group_lr.layer3=3e-4",
                "train.class_weights=\"auto\"",
                "train.device=\"cuda:2\"",
                "train.precision=\"bf16\"",
                "train.schedule=\"step\"",
                "model.weights=\"some/file.safetensors\"",
                "train.early_stop_metric=\"val_f1\"",
            ],
        )
        .unwrap();
        let text = c.to_toml_string();
        let back = load_str(&text, &[]).unwrap();
        assert_eq!(c, back, "{text}");
        assert!(text.contains("weights = \"some/file.safetensors\""), "{text}");
    }
}
