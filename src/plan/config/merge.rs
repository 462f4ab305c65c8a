//! The user's file over the system's. An account is a name: its keys come from the user's
//! account of that name, else from the system file's account of that name, key by key,
//! except for keys that only mean something together:
//!
//! - the login: the password keys (`password`, `password-file`, `password-command`) and the
//!   OAuth2 keys (`oauth2` and every `oauth2-…` key) go together, from the first file that
//!   has any of them. Each file was checked to log in one way, completely (OAuth2 or a
//!   password, never both; a client id, the endpoints of `custom`, both keyring commands);
//!   a merged account logs in as one file says, and never sends a secret one file names to
//!   an endpoint the other names.
//! - a proxy's password (`proxy-password-file`, `proxy-password-command`) comes from the
//!   file whose `proxy` is used (the user named in a proxy URL is the user the password is
//!   for); when neither file names a proxy (`--proxy` gives it), from the first file that
//!   has one.
//!
//! An account is chosen among the names of both files: `--account`, else the merged account
//! whose `from` matches the sender best, else the user's `default`, else the system file's.
//! Every value remembers the file and line it was written at, for `--show-config` and
//! errors.

use std::collections::BTreeSet;

use super::*;

/// Where a value was written: its file and line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Written {
    pub path: PathBuf,
    pub line: usize,
    /// In the system file.
    pub system: bool,
}

impl fmt::Display for Written {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} line {}", self.path.display(), self.line)
    }
}

/// The configuration files of a run: the user's (none without a home) and the system's.
#[derive(Debug, Clone)]
pub struct Files {
    pub user: Option<Config>,
    pub system: Option<Config>,
    /// Where the user's file is looked for, and what named that place.
    pub user_location: Option<(Location, &'static str)>,
    /// Where the system file is looked for, and what named that place.
    pub system_location: (Location, &'static str),
}

/// The account a run uses: its name, its keys merged from both files with where each was
/// written, and why it was chosen.
#[derive(Debug, Clone)]
pub struct Chosen {
    pub name: String,
    pub account: Account,
    pub written: BTreeMap<&'static str, Written>,
    pub reason: String,
}

impl Files {
    /// Loads the system file and the user's file at `user_location` (each may be missing).
    pub fn load(user_location: Option<(Location, &'static str)>) -> anyhow::Result<Files> {
        let system_location = system_location();
        let system = Config::load(&system_location.0)?;
        let user = match &user_location {
            Some((location, _)) => Config::load(location)?,
            None => None,
        };
        Ok(Files {
            user,
            system,
            user_location,
            system_location,
        })
    }

    /// The spool for users without a writable home: the system file's `spool`.
    pub fn spool(&self) -> Option<&Path> {
        self.system
            .as_ref()
            .and_then(|config| config.spool.as_deref())
    }

    /// True when neither file exists.
    pub fn none(&self) -> bool {
        self.user.is_none() && self.system.is_none()
    }

    /// True when either file defines an account of this name.
    pub fn has_account(&self, name: &str) -> bool {
        self.configs()
            .any(|config| config.accounts.contains_key(name))
    }

    /// Picks the account: the one named by `--account`/`SMTPSEND_ACCOUNT` (`named` is the
    /// name and the option or variable that gave it), else the one whose `from` matches
    /// the sender, else the default one.
    pub fn choose(
        &self,
        named: Option<(&str, &str)>,
        sender: Option<&str>,
    ) -> anyhow::Result<Option<Chosen>> {
        if let Some((name, origin)) = named {
            return match self.merged(name, origin.to_string()) {
                Some(chosen) => Ok(Some(chosen)),
                None => Err(fail(
                    Kind::Config,
                    format!(
                        "{origin} {name:?}: no such account in {} ({})",
                        self.paths(),
                        self.listing()
                    ),
                )),
            };
        }
        if let Some(sender) = sender {
            let best = self
                .names()
                .into_iter()
                .filter_map(|name| {
                    let chosen = self.merged(name, String::new())?;
                    let quality = chosen.account.matches_sender(sender)?;
                    Some((quality, name, chosen))
                })
                .max_by(|a, b| a.0.cmp(&b.0).then_with(|| b.1.cmp(a.1)));
            if let Some((_, _, mut chosen)) = best {
                chosen.reason = format!("its from matches the sender {sender}");
                return Ok(Some(chosen));
            }
        }
        let user_default = self.user.as_ref().and_then(|c| c.default.as_deref());
        let system_default = self.system.as_ref().and_then(|c| c.default.as_deref());
        Ok(match (user_default, system_default) {
            (Some(name), _) => self.merged(name, "default".to_string()),
            (None, Some(name)) => self.merged(name, "default of the system file".to_string()),
            (None, None) => None,
        })
    }

    /// The account `name` as both files define it; `None` when neither does.
    fn merged(&self, name: &str, reason: String) -> Option<Chosen> {
        fn side<'a>(config: &'a Option<Config>, name: &str) -> Side<'a> {
            let config = config.as_ref()?;
            config.accounts.get(name).map(|account| (account, config))
        }
        let (user, system) = (side(&self.user, name), side(&self.system, name));
        if user.is_none() && system.is_none() {
            return None;
        }
        let (account, written) = merge(user, system);
        Some(Chosen {
            name: name.to_string(),
            account,
            written,
            reason,
        })
    }

    fn configs(&self) -> impl Iterator<Item = &Config> {
        self.user.iter().chain(self.system.iter())
    }

    /// Every account name of both files.
    fn names(&self) -> BTreeSet<&str> {
        self.configs()
            .flat_map(|config| config.accounts.keys().map(String::as_str))
            .collect()
    }

    /// The files read, for messages: `a.toml or /etc/smtpsend/config.toml`.
    fn paths(&self) -> String {
        let paths: Vec<String> = self
            .configs()
            .map(|config| config.path.display().to_string())
            .collect();
        paths.join(" or ")
    }

    /// `accounts: a, b`, or what says there are none.
    fn listing(&self) -> String {
        let names: Vec<&str> = self.names().into_iter().collect();
        if names.is_empty() {
            return "no file defines an account".to_string();
        }
        format!("accounts: {}", names.join(", "))
    }
}

/// One side of a merge: an account and the file it is in.
type Side<'a> = Option<(&'a Account, &'a Config)>;

/// Takes each key from the first side that has it, noting where it was written.
struct Merger<'a> {
    sides: [Side<'a>; 2],
    written: BTreeMap<&'static str, Written>,
}

impl Merger<'_> {
    fn pick<T: Clone>(
        &mut self,
        key: &'static str,
        field: fn(&Account) -> &Option<Spanned<T>>,
    ) -> Option<Spanned<T>> {
        for (account, config) in self.sides.iter().flatten() {
            if let Some(value) = field(account) {
                let line = config.line_of(value.span().start);
                let path = config.path.clone();
                let system = config.system;
                self.written.insert(key, Written { path, line, system });
                return Some(value.clone());
            }
        }
        None
    }
}

/// True when the account says how it logs in: a password key or an OAuth2 key.
fn has_login(a: &Account) -> bool {
    a.password.is_some()
        || a.password_file.is_some()
        || a.password_command.is_some()
        || a.oauth2.is_some()
        || a.oauth2_client_id.is_some()
        || a.oauth2_client_secret_command.is_some()
        || a.oauth2_token_url.is_some()
        || a.oauth2_device_url.is_some()
        || a.oauth2_auth_url.is_some()
        || a.oauth2_scope.is_some()
        || a.oauth2_store_command.is_some()
        || a.oauth2_refresh_token_command.is_some()
}

/// True when the account has a password for a proxy's user.
fn has_proxy_password(account: &Account) -> bool {
    account.proxy_password_file.is_some() || account.proxy_password_command.is_some()
}

/// The first side whose account passes `has`: the user's, else the system's.
fn first_with<'a>(sides: [Side<'a>; 2], has: impl Fn(&Account) -> bool) -> Side<'a> {
    sides
        .into_iter()
        .flatten()
        .find(|(account, _)| has(account))
}

/// The user's account over the system's, key by key, except for the keys that only mean
/// something together: the login (the password keys and the OAuth2 keys) comes whole from
/// the first side that has any of it, and the proxy's password keys from the side whose
/// `proxy` is used (without one, from the first side that has them).
fn merge(user: Side, system: Side) -> (Account, BTreeMap<&'static str, Written>) {
    let sides = [user, system];
    let proxy_side = first_with(sides, |account| account.proxy.is_some())
        .or_else(|| first_with(sides, has_proxy_password));
    let mut login = Merger {
        sides: [first_with(sides, has_login), None],
        written: BTreeMap::new(),
    };
    let mut proxy = Merger {
        sides: [proxy_side, None],
        written: BTreeMap::new(),
    };
    let mut m = Merger {
        sides,
        written: BTreeMap::new(),
    };
    let from_pattern = first_with(sides, |account| account.from.is_some())
        .and_then(|(account, _)| account.from_pattern.clone());
    let account = Account {
        server: m.pick("server", |a| &a.server),
        tls: m.pick("tls", |a| &a.tls),
        user: m.pick("user", |a| &a.user),
        password_command: login.pick("password-command", |a| &a.password_command),
        password_file: login.pick("password-file", |a| &a.password_file),
        password: login.pick("password", |a| &a.password),
        from: m.pick("from", |a| &a.from),
        ehlo_name: m.pick("ehlo-name", |a| &a.ehlo_name),
        qualify_domain: m.pick("qualify-domain", |a| &a.qualify_domain),
        source_address: m.pick("source-address", |a| &a.source_address),
        timeout: m.pick("timeout", |a| &a.timeout),
        auth: m.pick("auth", |a| &a.auth),
        queue: m.pick("queue", |a| &a.queue),
        retries: m.pick("retries", |a| &a.retries),
        max_time: m.pick("max-time", |a| &a.max_time),
        parallel: m.pick("parallel", |a| &a.parallel),
        window: m.pick("window", |a| &a.window),
        tls_ca_file: m.pick("tls-ca-file", |a| &a.tls_ca_file),
        tls_fingerprint: m.pick("tls-fingerprint", |a| &a.tls_fingerprint),
        tls_min_version: m.pick("tls-min-version", |a| &a.tls_min_version),
        tls_server_name: m.pick("tls-server-name", |a| &a.tls_server_name),
        proxy: m.pick("proxy", |a| &a.proxy),
        proxy_password_file: proxy.pick("proxy-password-file", |a| &a.proxy_password_file),
        proxy_password_command: proxy.pick("proxy-password-command", |a| &a.proxy_password_command),
        provider: m.pick("provider", |a| &a.provider),
        oauth2: login.pick("oauth2", |a| &a.oauth2),
        oauth2_client_id: login.pick("oauth2-client-id", |a| &a.oauth2_client_id),
        oauth2_client_secret_command: login.pick("oauth2-client-secret-command", |a| {
            &a.oauth2_client_secret_command
        }),
        oauth2_token_url: login.pick("oauth2-token-url", |a| &a.oauth2_token_url),
        oauth2_device_url: login.pick("oauth2-device-url", |a| &a.oauth2_device_url),
        oauth2_auth_url: login.pick("oauth2-auth-url", |a| &a.oauth2_auth_url),
        oauth2_scope: login.pick("oauth2-scope", |a| &a.oauth2_scope),
        oauth2_store_command: login.pick("oauth2-store-command", |a| &a.oauth2_store_command),
        oauth2_refresh_token_command: login.pick("oauth2-refresh-token-command", |a| {
            &a.oauth2_refresh_token_command
        }),
        aliases: m.pick("aliases", |a| &a.aliases),
        rewrite_local_headers: m.pick("rewrite-local-headers", |a| &a.rewrite_local_headers),
        set_from_header: m.pick("set-from-header", |a| &a.set_from_header),
        log_file: m.pick("log-file", |a| &a.log_file),
        syslog: m.pick("syslog", |a| &a.syslog),
        from_pattern,
    };
    m.written.extend(login.written);
    m.written.extend(proxy.written);
    (account, m.written)
}

#[cfg(test)]
mod tests;
