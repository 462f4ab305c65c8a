//! How the new account logs in: OAuth2 for a provider that offers it (the client id asked
//! for), else a user and where the password comes from (a command, a file, asked each
//! time, or kept in the configuration file).

use crate::base::secret::Secret;
use crate::plan::providers::Preset;

use super::ask::{ask, ask_until, choose};

/// Where the password comes from.
pub enum PasswordKey {
    Command(String),
    File(String),
    /// Asked on the terminal at each send.
    Prompt,
    /// Kept in the configuration file.
    Stored(Secret),
}

pub enum LoginChoice {
    /// A relay that takes mail without a login.
    None,
    Password {
        user: String,
        source: PasswordKey,
    },
    OAuth2 {
        user: String,
        provider: &'static str,
        client_id: String,
        client_secret_command: Option<String>,
    },
}

impl LoginChoice {
    /// Adds the account keys this choice makes.
    pub fn put_keys(&self, put: &mut impl FnMut(&str, &str)) {
        match self {
            LoginChoice::None => {}
            LoginChoice::Password { user, source } => {
                put("user", user);
                match source {
                    PasswordKey::Command(command) => put("password-command", command),
                    PasswordKey::File(path) => put("password-file", path),
                    PasswordKey::Prompt => {}
                    PasswordKey::Stored(secret) => put("password", secret.expose()),
                }
            }
            LoginChoice::OAuth2 {
                user,
                provider,
                client_id,
                client_secret_command,
            } => {
                put("user", user);
                put("oauth2", provider);
                put("oauth2-client-id", client_id);
                if let Some(command) = client_secret_command {
                    put("oauth2-client-secret-command", command);
                }
            }
        }
    }

    pub fn is_oauth2(&self) -> bool {
        matches!(self, LoginChoice::OAuth2 { .. })
    }
}

/// Asks how to log in: OAuth2 or an app password for a preset that offers OAuth2
/// (Microsoft's by default, as it is switching passwords off), else a user (or none) and
/// the password's source.
pub fn choose_login(email: &str, preset: Option<&'static Preset>) -> anyhow::Result<LoginChoice> {
    if let Some(provider) = preset.and_then(|preset| preset.oauth2) {
        let default = if provider == "microsoft" {
            "oauth2"
        } else {
            "password"
        };
        let method = choose(
            "How to log in",
            &[
                (
                    "oauth2",
                    "sign in with the provider (OAuth2; needs the client id of an app you registered, see docs/providers.md)",
                ),
                ("password", "an app password"),
            ],
            default,
        )?;
        if method == "oauth2" {
            return oauth2(email, provider);
        }
    }
    let user = match preset {
        Some(_) => ask("Log in as", Some(email))?,
        None => ask(
            "Log in as (none: the server takes mail without a login)",
            Some(email),
        )?,
    };
    if user.eq_ignore_ascii_case("none") && preset.is_none() {
        return Ok(LoginChoice::None);
    }
    let source = password_source(&user)?;
    Ok(LoginChoice::Password { user, source })
}

fn oauth2(email: &str, provider: &'static str) -> anyhow::Result<LoginChoice> {
    let client_id = ask_until("OAuth2 client id", None, |answer| {
        if answer.is_empty() || answer.contains(char::is_whitespace) {
            Err("the client id of the app you registered (one word)".to_string())
        } else {
            Ok(answer.to_string())
        }
    })?;
    let client_secret_command = if provider == "google" {
        let answer = ask(
            "A command that prints the client secret (Enter for none)",
            Some(""),
        )?;
        (!answer.is_empty()).then_some(answer)
    } else {
        None
    };
    Ok(LoginChoice::OAuth2 {
        user: email.to_string(),
        provider,
        client_id,
        client_secret_command,
    })
}

fn password_source(user: &str) -> anyhow::Result<PasswordKey> {
    let source = choose(
        "Where the password comes from",
        &[
            ("config", "kept in the configuration file (mode 0600)"),
            ("command", "a command that prints it (pass, secret-tool, …)"),
            ("file", "the first line of a file of yours (mode 0600)"),
            ("prompt", "asked each time (not for cron or CI)"),
        ],
        "config",
    )?;
    Ok(match source.as_str() {
        "command" => PasswordKey::Command(ask_until(
            "The command",
            None,
            not_empty("e.g. pass show mail/work"),
        )?),
        "file" => PasswordKey::File(ask_until(
            "The file",
            None,
            not_empty("e.g. ~/.secrets/mail"),
        )?),
        "prompt" => PasswordKey::Prompt,
        _ => PasswordKey::Stored(typed_password(user)?),
    })
}

fn not_empty(example: &'static str) -> impl Fn(&str) -> Result<String, String> {
    move |answer| match answer.is_empty() {
        true => Err(example.to_string()),
        false => Ok(answer.to_string()),
    }
}

/// The password, typed without echo; registered with the scrubber at once.
fn typed_password(user: &str) -> anyhow::Result<Secret> {
    loop {
        let typed =
            rpassword::prompt_password(format!("Password for {user}: ")).map_err(|err| {
                crate::base::exit::fail(
                    crate::base::exit::Kind::LocalIo,
                    format!("--setup: cannot read the password: {err}"),
                )
            })?;
        if !typed.is_empty() && !typed.contains('\u{FFFD}') && !typed.contains(['\r', '\n']) {
            return Ok(Secret::new(typed));
        }
        crate::say!("  the password is empty or not UTF-8 text");
    }
}
