//! `--set key=value`: parsing one override and putting it into the `toml::Value` tree.

use super::ConfigError;

/// Splits `key=value`, parses the key as a TOML dotted key and the value as a TOML value
/// (a bare word that is not valid TOML is taken as a string).
pub(super) fn parse_set(arg: &str) -> Result<(Vec<String>, toml::Value), ConfigError> {
    let bad = |message: String| ConfigError::BadSet {
        arg: arg.to_string(),
        message,
    };
    let (key, value) = arg
        .split_once('=')
        .ok_or_else(|| bad("expected key=value, e.g. --set train.lr=3e-4".into()))?;
    let (key, value) = (key.trim(), value.trim());
    if key.is_empty() {
        return Err(bad(
            "the key is empty; expected key=value, e.g. --set train.lr=3e-4".into()
        ));
    }
    // Let TOML split the key so quoted parts work: train.group_lr."layer4.1"=3e-4.
    let doc: toml::Table = format!("{key} = 0")
        .parse()
        .map_err(|_| bad(format!("'{key}' is not a dotted key such as train.lr")))?;
    let mut path = Vec::new();
    let mut node = &doc;
    loop {
        let (k, v) = node.iter().next().ok_or_else(|| bad("empty key".into()))?;
        path.push(k.clone());
        match v {
            toml::Value::Table(t) => node = t,
            _ => break,
        }
    }
    let value = match format!("v = {value}").parse::<toml::Table>() {
        Ok(mut t) => t.remove("v").ok_or_else(|| bad("no value".into()))?,
        Err(e) => {
            let looks_structured = value.starts_with(['[', '{', '"', '\'']);
            if looks_structured || value.is_empty() {
                return Err(bad(format!("the value is not valid TOML: {}", e.message().trim_end())));
            }
            toml::Value::String(value.to_string())
        }
    };
    Ok((path, value))
}

/// Puts `value` at `path`, creating tables on the way.
pub(super) fn insert_at(root: &mut toml::Value, path: &[String], value: toml::Value) -> Result<(), String> {
    let (last, parents) = path.split_last().ok_or("empty key")?;
    let mut node = root;
    for (i, p) in parents.iter().enumerate() {
        let table = node
            .as_table_mut()
            .ok_or_else(|| format!("'{}' is not a table", path[..i].join(".")))?;
        node = table
            .entry(p.clone())
            .or_insert_with(|| toml::Value::Table(toml::Table::new()));
    }
    let table = node
        .as_table_mut()
        .ok_or_else(|| format!("'{}' is not a table", parents.join(".")))?;
    table.insert(last.clone(), value);
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use crate::config::test_support::{MINIMAL, load_str};
    use crate::config::{ClassWeights, ConfigError, Device};
    use crate::model::Arch;
    use crate::weights::WeightsSpec;

    #[test]
    fn sets_take_toml_values_and_bare_words() {
        let c = load_str(
            MINIMAL,
            &[
                "train.lr=3e-4",
                "model.arch=\"resnet34\"",
                "model.weights=none",
                "train.freeze=[\"stem\"]",
                "train.device=cuda:1",
                "data.split=[0.8, 0.1, 0.1]",
                "train.group_lr.layer4=2e-4",
                "train.group_lr.\"layer4.1\"=5e-4",
                "data.root=other dir/x",
                "data.augment=false",
                "train.class_weights=[1, 2.5]",
            ],
        )
        .unwrap();
        assert_eq!(c.train.lr, 3e-4);
        assert_eq!(c.model.arch, Arch::ResNet34);
        assert_eq!(c.model.weights, WeightsSpec::None);
        assert_eq!(c.train.freeze, ["stem"]);
        assert_eq!(c.train.device, Device::Cuda(1));
        assert_eq!(c.data.split.train, 0.8);
        assert_eq!(c.data.root, PathBuf::from("other dir/x"));
        assert!(!c.data.augment);
        assert_eq!(c.train.class_weights, ClassWeights::Given(vec![1.0, 2.5]));
        assert_eq!(c.train.base_lr_for("layer4.1"), 5e-4);
        assert_eq!(c.train.base_lr_for("layer4.0"), 2e-4);
        assert_eq!(c.train.base_lr_for("layer3.0"), 3e-4);
        assert_eq!(c.train.base_lr_for("head"), 1e-3);
    }

    #[test]
    fn later_sets_win_and_sets_beat_the_file() {
        let c = load_str(
            &format!("{MINIMAL}[train]\nepochs = 9\n"),
            &["train.epochs=3", "train.epochs=4"],
        )
        .unwrap();
        assert_eq!(c.train.epochs, 4);
    }

    #[test]
    fn malformed_sets_are_errors() {
        for s in ["train.lr", "=3", "train.lr=[1,", "train.lr=\"x"] {
            let e = load_str(MINIMAL, &[s]).unwrap_err();
            assert!(matches!(e, ConfigError::BadSet { .. }), "{s}: {e}");
        }
        let e = load_str(&format!("{MINIMAL}[train]\nlr = 1.0\n"), &["train.lr.x=1"]).unwrap_err();
        assert!(e.to_string().contains("'train.lr' is not a table"), "{e}");
        let e = load_str(MINIMAL, &["train.lr.x=1"]).unwrap_err();
        assert!(e.to_string().starts_with("--set train.lr.x=1: train.lr: "), "{e}");
    }
}
