//! Unknown keys: the shape of a valid config, and a close key to suggest for a mistyped one.

use std::collections::BTreeMap;
use std::path::PathBuf;

use super::{ConfigError, RunConfig};
use crate::suggest::closest;

/// The shape of a valid config: which keys exist and which are tables.
#[derive(Debug)]
pub(super) enum Schema {
    Leaf,
    Table(BTreeMap<String, Schema>),
    /// A map with free keys (`train.group_lr`).
    AnyKeys,
}

/// Built from a serialised example with every optional key set, so it follows the structs.
pub(super) fn schema() -> Schema {
    let mut example = RunConfig::default();
    example.data.resize = Some(1);
    example.data.multi_label_csv = Some(PathBuf::from("x"));
    example.train.t_max = Some(1);
    example.train.group_lr.insert("layer4".into(), 1.0);
    fn build(v: &toml::Value, path: &str) -> Schema {
        match v {
            toml::Value::Table(t) if path == "train.group_lr" => {
                let _ = t;
                Schema::AnyKeys
            }
            toml::Value::Table(t) => Schema::Table(
                t.iter()
                    .map(|(k, v)| {
                        let p = if path.is_empty() {
                            k.clone()
                        } else {
                            format!("{path}.{k}")
                        };
                        (k.clone(), build(v, &p))
                    })
                    .collect(),
            ),
            _ => Schema::Leaf,
        }
    }
    match toml::Value::try_from(&example) {
        Ok(v) => build(&v, ""),
        Err(_) => Schema::AnyKeys, // unreachable in practice; serde still denies unknown fields
    }
}

pub(super) fn check_keys(
    v: &toml::Value,
    schema: &Schema,
    path: &str,
    err: &dyn Fn(&str, Option<String>) -> ConfigError,
) -> Result<(), ConfigError> {
    let (toml::Value::Table(t), Schema::Table(known)) = (v, schema) else {
        return Ok(()); // leaves and free maps: their types are checked by serde
    };
    for (k, child) in t {
        let full = if path.is_empty() {
            k.clone()
        } else {
            format!("{path}.{k}")
        };
        match known.get(k) {
            Some(s) => check_keys(child, s, &full, err)?,
            None => return Err(err(&full, suggest(&full, k, known))),
        }
    }
    Ok(())
}

/// A close key among the siblings, else the same key in another section.
fn suggest(full: &str, key: &str, siblings: &BTreeMap<String, Schema>) -> Option<String> {
    let parent = full.strip_suffix(key).unwrap_or("");
    let limit = key.len().div_ceil(3).clamp(1, 3);
    let names = || siblings.keys().map(String::as_str);
    if let Some(s) = closest(key, names(), limit).or_else(|| sharing_a_word(key, names())) {
        return Some(format!("{parent}{s}"));
    }
    let Schema::Table(top) = schema() else { return None };
    top.iter().find_map(|(section, s)| match s {
        Schema::Table(keys) if keys.contains_key(key) && !full.starts_with(&format!("{section}.")) => {
            Some(format!("{section}.{key}"))
        }
        _ => None,
    })
}

/// A candidate one of whose words starts with one of `key`'s (words split at `_`, three
/// letters or more): `lr_sched` finds `schedule`, `warmup` finds `warmup_epochs`, too far
/// apart letter by letter for [`closest`]. The nearest of several wins.
fn sharing_a_word<'a>(key: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let words: Vec<&str> = key.split('_').filter(|w| w.len() >= 3).collect();
    let shares = |c: &str| c.split('_').any(|cw| words.iter().any(|w| cw.starts_with(w)));
    let matching = candidates.into_iter().filter(|c| shares(c));
    closest(key, matching, usize::MAX)
}

#[cfg(test)]
mod tests {
    use crate::config::test_support::{MINIMAL, load_str};

    #[test]
    fn unknown_keys_name_the_file_the_dotted_key_and_a_suggestion() {
        let e = load_str(&format!("{MINIMAL}[train]\nlrr = 1e-3\n"), &[]).unwrap_err();
        assert_eq!(
            e.to_string(),
            "test.toml: unknown key 'train.lrr' (did you mean 'train.lr'?)"
        );
        let e = load_str(&format!("{MINIMAL}[model]\nlr = 1e-3\n"), &[]).unwrap_err();
        assert_eq!(
            e.to_string(),
            "test.toml: unknown key 'model.lr' (did you mean 'train.lr'?)"
        );
        let e = load_str(&format!("{MINIMAL}[trian]\nlr = 1e-3\n"), &[]).unwrap_err();
        assert_eq!(e.key(), Some("trian"));
        assert!(e.to_string().contains("did you mean 'train'"), "{e}");
        let e = load_str(&format!("{MINIMAL}[data.augmentation]\nhflp = 0.1\n"), &[]).unwrap_err();
        assert_eq!(e.key(), Some("data.augmentation.hflp"));
        assert!(e.to_string().contains("'data.augmentation.hflip'"), "{e}");
        let e = load_str(MINIMAL, &["train.lr_sched=\"cosine\""]).unwrap_err();
        assert!(e.to_string().ends_with("(did you mean 'train.schedule'?)"), "{e}");
        let e = load_str(MINIMAL, &["train.warmup=2"]).unwrap_err();
        assert!(e.to_string().ends_with("(did you mean 'train.warmup_epochs'?)"), "{e}");
        let e = load_str(MINIMAL, &["train.zzzzzz=1"]).unwrap_err();
        assert_eq!(e.to_string(), "--set train.zzzzzz=1: unknown key 'train.zzzzzz'");
    }
}
