//! Where a relative path in a config or on the command line was looked for: config paths are
//! taken from the folder kiln runs in, not the config's own folder, which surprises users who
//! run kiln from elsewhere.

use std::path::Path;

/// " (relative to the folder kiln runs in, /home/me)" for a relative `path`, else nothing.
pub fn from_cwd(path: &Path) -> String {
    if path.is_absolute() {
        return String::new();
    }
    match std::env::current_dir() {
        Ok(cwd) => format!(" (relative to the folder kiln runs in, {})", cwd.display()),
        Err(_) => " (relative to the folder kiln runs in)".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_relative_paths_get_the_folder() {
        assert_eq!(from_cwd(Path::new("/data/cats")), "");
        let hint = from_cwd(Path::new("data/cats"));
        let cwd = std::env::current_dir().unwrap();
        assert_eq!(
            hint,
            format!(" (relative to the folder kiln runs in, {})", cwd.display())
        );
    }
}
