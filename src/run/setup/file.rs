//! The configuration file `--setup` adds to: read and checked before any question (an
//! invalid file or a symbolic link stops it), the new text tried from a private temporary
//! file beside it, then put in place in one rename (mode 0600).

use std::ffi::OsString;
use std::fs::{DirBuilder, File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use crate::base::exit::{Kind, fail};
use crate::plan::config::{Config, Location};

use super::login::LoginChoice;

/// The file as it is: its text, its default account and its accounts' names.
pub struct Existing {
    text: String,
    pub default: Option<String>,
    pub accounts: Vec<String>,
}

impl Existing {
    /// Reads the file when there is one; an invalid one, or a symbolic link (which the
    /// rename would replace), is an error naming what to do.
    pub fn read(location: &Location) -> anyhow::Result<Existing> {
        let path = &location.path;
        match std::fs::symlink_metadata(path) {
            Err(_) => {
                return Ok(Existing {
                    text: String::new(),
                    default: None,
                    accounts: Vec::new(),
                });
            }
            Ok(meta) if meta.file_type().is_symlink() => {
                return Err(fail(
                    Kind::Config,
                    format!(
                        "--setup: {} is a symbolic link, which it would replace; give the file \
                         it points to with --config",
                        path.display()
                    ),
                ));
            }
            Ok(_) => {}
        }
        let config = Config::load(location)?.ok_or_else(|| {
            fail(
                Kind::Config,
                format!("--setup: cannot read {}", path.display()),
            )
        })?;
        let text = std::fs::read_to_string(path)
            .map_err(|err| crate::base::input::unreadable("configuration file", path, &err))?;
        Ok(Existing {
            text,
            default: config.default.clone(),
            accounts: config.accounts.keys().cloned().collect(),
        })
    }

    /// The file's text with the account's section added at the end (and `default` naming
    /// it at the top, where top-level keys must be).
    pub fn with_account(&self, name: &str, section: &str, make_default: bool) -> String {
        let mut text = String::new();
        if make_default {
            text.push_str(&format!("default = \"{name}\"\n"));
            if !self.text.is_empty() {
                text.push('\n');
            }
        }
        text.push_str(&self.text);
        if !text.is_empty() && !text.ends_with("\n\n") {
            text.push_str(if text.ends_with('\n') { "\n" } else { "\n\n" });
        }
        text.push_str(section);
        text
    }
}

/// Tests the account as a send would find it: from a private copy of the new file, signs
/// in first when it uses OAuth2, then runs `--check`. False when a step failed (said on
/// stderr); the copy is removed either way.
pub fn test(path: &Path, text: &str, name: &str, login: &LoginChoice) -> anyhow::Result<bool> {
    let trial = Trial::write(path, text)?;
    let config: OsString = trial.path.clone().into();
    let mut steps: Vec<&str> = Vec::new();
    if login.is_oauth2() {
        steps.push("--oauth2-login");
    }
    steps.push("--check");
    for step in steps {
        crate::say!("smtpsend: testing account {name} ({step})");
        let args: Vec<OsString> = [
            "smtpsend".into(),
            "--config".into(),
            config.clone(),
            "--account".into(),
            name.into(),
            step.into(),
        ]
        .to_vec();
        let cli = crate::cli::parse(args).map_err(|err| {
            fail(
                Kind::Software,
                format!("--setup: {}", err.to_string().trim()),
            )
        })?;
        if let Err(err) = crate::plan::plan(cli).and_then(crate::run::run) {
            crate::say!("smtpsend: {}", crate::report::errors::error_line(&err));
            return Ok(false);
        }
    }
    Ok(true)
}

/// Puts `text` in place as the configuration file: written to a new private file beside
/// it, flushed, renamed over it.
pub fn write(path: &Path, text: &str) -> anyhow::Result<()> {
    let trial = Trial::write(path, text)?;
    std::fs::rename(&trial.path, path).map_err(|err| {
        fail(
            Kind::LocalIo,
            format!("--setup: cannot replace {}: {err}", path.display()),
        )
    })?;
    if let Some(dir) = path.parent()
        && let Ok(dir) = File::open(dir)
    {
        let _ = dir.sync_all();
    }
    Ok(())
}

/// A private copy of the new text beside the file (mode 0600, a name nobody else uses),
/// removed when dropped unless renamed into place.
struct Trial {
    path: PathBuf,
}

impl Trial {
    fn write(path: &Path, text: &str) -> anyhow::Result<Trial> {
        let dir = path.parent().unwrap_or(Path::new("."));
        let io_error = |what: &str, at: &Path, err: std::io::Error| {
            fail(
                Kind::LocalIo,
                format!("--setup: cannot {what} {}: {err}", at.display()),
            )
        };
        DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(|err| io_error("create", dir, err))?;
        let name = format!(
            ".{}.setup-{}",
            path.file_name().unwrap_or_default().to_string_lossy(),
            std::process::id()
        );
        let trial = Trial {
            path: dir.join(name),
        };
        let mut file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .custom_flags(libc::O_NOFOLLOW)
            .open(&trial.path)
            .map_err(|err| io_error("create", &trial.path, err))?;
        file.write_all(text.as_bytes())
            .and_then(|()| file.sync_all())
            .map_err(|err| io_error("write", &trial.path, err))?;
        Ok(trial)
    }
}

impl Drop for Trial {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}
