//! A home directory for smtpsend: HOME, the XDG directories in it, the configuration file,
//! and the outbox, for tests that look at them or share them between runs.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use super::run::Run;

/// A temporary home, removed when dropped. HOME is its root; the XDG directories are
/// `config`, `data`, `state` and `cache` in it (not the XDG defaults, so a run that ignored
/// the variables would not find what a test put there). Each [`Run`] without a home of its
/// own gets a fresh one; a test that shares one between runs (an outbox queued by one run
/// and flushed by the next) makes it here and passes it to [`Run::home`].
pub struct Home {
    dir: tempfile::TempDir,
}

impl Default for Home {
    fn default() -> Home {
        Home::new()
    }
}

impl Home {
    pub fn new() -> Home {
        Home {
            dir: tempfile::tempdir().expect("temp HOME"),
        }
    }

    /// A home whose configuration file holds `text`, with this mode.
    pub fn with_config(text: &str, mode: u32) -> Home {
        let home = Home::new();
        home.write_config(text, mode);
        home
    }

    /// The variables a run in the home at `root` gets. The system file is looked for in
    /// the home too (`system/config.toml`), never in /etc: a test sees only what it wrote.
    pub fn env_for(root: &Path) -> [(&'static str, PathBuf); 6] {
        [
            ("HOME", root.to_path_buf()),
            ("XDG_CONFIG_HOME", root.join("config")),
            ("XDG_DATA_HOME", root.join("data")),
            ("XDG_STATE_HOME", root.join("state")),
            ("XDG_CACHE_HOME", root.join("cache")),
            ("SMTPSEND_SYSTEM_CONFIG", root.join("system/config.toml")),
        ]
    }

    /// HOME.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// A path in the home, e.g. `join("notes.txt")`.
    pub fn join(&self, relative: impl AsRef<Path>) -> PathBuf {
        self.dir.path().join(relative)
    }

    /// A run of smtpsend with these arguments in this home.
    pub fn run<I, S>(&self, args: I) -> Run
    where
        I: IntoIterator<Item = S>,
        S: AsRef<std::ffi::OsStr>,
    {
        Run::new(args).home(self)
    }

    /// XDG_CONFIG_HOME.
    pub fn config_dir(&self) -> PathBuf {
        self.join("config")
    }

    /// XDG_STATE_HOME.
    pub fn state_dir(&self) -> PathBuf {
        self.join("state")
    }

    /// Where smtpsend looks for its configuration: `$XDG_CONFIG_HOME/smtpsend/config.toml`.
    pub fn config_file(&self) -> PathBuf {
        self.config_dir().join("smtpsend/config.toml")
    }

    /// Writes the configuration file (making its directory) with this mode; its path.
    pub fn write_config(&self, text: &str, mode: u32) -> PathBuf {
        let file = self.config_file();
        std::fs::create_dir_all(file.parent().expect("config dir")).expect("config dir");
        std::fs::write(&file, text).expect("write the config file");
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(mode))
            .expect("chmod the config file");
        file
    }

    /// Where runs in this home look for the system file (`SMTPSEND_SYSTEM_CONFIG`).
    pub fn system_config_file(&self) -> PathBuf {
        self.join("system/config.toml")
    }

    /// Writes the system file (making its directory) with this mode; its path.
    pub fn write_system_config(&self, text: &str, mode: u32) -> PathBuf {
        let file = self.system_config_file();
        std::fs::create_dir_all(file.parent().expect("system config dir")).expect("system dir");
        std::fs::write(&file, text).expect("write the system config file");
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(mode))
            .expect("chmod the system config file");
        file
    }

    /// The outbox: `$XDG_STATE_HOME/smtpsend/queue`.
    pub fn queue_dir(&self) -> PathBuf {
        self.state_dir().join("smtpsend/queue")
    }

    /// A file in the outbox.
    pub fn queue_file(&self, name: &str) -> PathBuf {
        self.queue_dir().join(name)
    }

    /// Every name in the outbox but the flush lock, sorted; none when it does not exist.
    pub fn files(&self) -> Vec<String> {
        let Ok(entries) = std::fs::read_dir(self.queue_dir()) else {
            return Vec::new();
        };
        let mut names: Vec<String> = entries
            .map(|entry| {
                let name = entry.expect("outbox entry").file_name();
                name.to_string_lossy().into_owned()
            })
            .filter(|name| name != ".flush.lock")
            .collect();
        names.sort();
        names
    }

    /// The ids of the entries on disk (those with a `.json`), sorted.
    pub fn ids(&self) -> Vec<String> {
        self.files()
            .iter()
            .filter_map(|name| name.strip_suffix(".json").map(str::to_owned))
            .collect()
    }

    /// An entry's meta file, parsed.
    pub fn meta(&self, id: &str) -> serde_json::Value {
        let path = self.queue_file(&format!("{id}.json"));
        let bytes = std::fs::read(&path).unwrap_or_else(|err| panic!("{}: {err}", path.display()));
        serde_json::from_slice(&bytes).unwrap_or_else(|err| panic!("{}: {err}", path.display()))
    }

    /// Changes an entry's meta file as a user (or a disk error) might.
    pub fn edit_meta(&self, id: &str, edit: impl FnOnce(&mut serde_json::Value)) {
        let mut meta = self.meta(id);
        edit(&mut meta);
        std::fs::write(
            self.queue_file(&format!("{id}.json")),
            serde_json::to_vec_pretty(&meta).expect("meta as JSON"),
        )
        .expect("write the meta file");
    }

    /// An entry's message file.
    pub fn message(&self, id: &str) -> Vec<u8> {
        let path = self.queue_file(&format!("{id}.eml"));
        std::fs::read(&path).unwrap_or_else(|err| panic!("{}: {err}", path.display()))
    }
}

/// The id in the line `smtpsend: queued as ID (reason)`; panics when there is no such line or
/// it has no reason in parentheses.
#[track_caller]
pub fn queued_id(stderr: &str) -> String {
    let line = stderr
        .lines()
        .find(|line| line.starts_with("smtpsend: queued as "))
        .unwrap_or_else(|| panic!("no 'queued as' line in: {stderr:?}"));
    let rest = &line["smtpsend: queued as ".len()..];
    let (id, reason) = rest
        .split_once(' ')
        .unwrap_or_else(|| panic!("no reason: {line}"));
    assert!(reason.starts_with('(') && reason.ends_with(')'), "{line}");
    id.to_owned()
}
