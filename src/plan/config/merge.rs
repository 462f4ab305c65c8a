//! The user's file over the system's. An account is a name: its keys come from the user's
//! account of that name, else from the system file's account of that name, key by key; the
//! password keys (`password`, `password-file`, `password-command`) go together, from the
//! first file that has any of them. An account is chosen among the names of both files:
//! `--account`, else the merged account whose `from` matches the sender best, else the
//! user's `default`, else the system file's. Every value remembers the
//! file and line it was written at, for `--show-config` and errors.

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

/// The user's account over the system's, key by key; the password keys from one side.
fn merge(user: Side, system: Side) -> (Account, BTreeMap<&'static str, Written>) {
    let has_password = |account: &Account| {
        account.password.is_some()
            || account.password_file.is_some()
            || account.password_command.is_some()
    };
    let secret_side = [user, system]
        .into_iter()
        .flatten()
        .find(|(account, _)| has_password(account));
    let mut secrets = Merger {
        sides: [secret_side, None],
        written: BTreeMap::new(),
    };
    let mut m = Merger {
        sides: [user, system],
        written: BTreeMap::new(),
    };
    let from_pattern = [user, system]
        .into_iter()
        .flatten()
        .find(|(account, _)| account.from.is_some())
        .and_then(|(account, _)| account.from_pattern.clone());
    let account = Account {
        server: m.pick("server", |a| &a.server),
        tls: m.pick("tls", |a| &a.tls),
        user: m.pick("user", |a| &a.user),
        password_command: secrets.pick("password-command", |a| &a.password_command),
        password_file: secrets.pick("password-file", |a| &a.password_file),
        password: secrets.pick("password", |a| &a.password),
        from: m.pick("from", |a| &a.from),
        ehlo_name: m.pick("ehlo-name", |a| &a.ehlo_name),
        qualify_domain: m.pick("qualify-domain", |a| &a.qualify_domain),
        source_address: m.pick("source-address", |a| &a.source_address),
        timeout: m.pick("timeout", |a| &a.timeout),
        auth: m.pick("auth", |a| &a.auth),
        queue: m.pick("queue", |a| &a.queue),
        retries: m.pick("retries", |a| &a.retries),
        max_time: m.pick("max-time", |a| &a.max_time),
        aliases: m.pick("aliases", |a| &a.aliases),
        rewrite_local_headers: m.pick("rewrite-local-headers", |a| &a.rewrite_local_headers),
        set_from_header: m.pick("set-from-header", |a| &a.set_from_header),
        log_file: m.pick("log-file", |a| &a.log_file),
        syslog: m.pick("syslog", |a| &a.syslog),
        from_pattern,
    };
    m.written.extend(secrets.written);
    (account, m.written)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(path: &str, text: &str, system: bool) -> Config {
        Config::parse_as(Path::new(path), text, system, || Ok(0o600)).unwrap()
    }

    fn files(user: Option<&str>, system: Option<&str>) -> Files {
        Files {
            user: user.map(|text| config("/u.toml", text, false)),
            system: system.map(|text| config("/s.toml", text, true)),
            user_location: None,
            system_location: system_location(),
        }
    }

    #[test]
    fn the_user_account_is_over_the_system_one_key_by_key() {
        let files = files(
            Some("[accounts.relay]\n\nfrom = \"me@example.com\"\n"),
            Some(
                "default = \"relay\"\n[accounts.relay]\nserver = \"relay.example:25\"\n\
                 from = \"host@example.com\"\npassword-file = \"/etc/p\"\n",
            ),
        );
        let chosen = files.choose(None, None).unwrap().unwrap();
        assert_eq!(chosen.name, "relay");
        assert_eq!(chosen.reason, "default of the system file");
        assert_eq!(chosen.account.from.unwrap().into_inner(), "me@example.com");
        assert_eq!(chosen.written["from"].to_string(), "/u.toml line 3");
        assert_eq!(chosen.written["server"].to_string(), "/s.toml line 3");
        assert_eq!(
            chosen.written["password-file"].to_string(),
            "/s.toml line 5"
        );
    }

    #[test]
    fn password_keys_come_from_one_file() {
        let files = files(
            Some("[accounts.a]\npassword-command = \"pass a\"\n"),
            Some("[accounts.a]\npassword-file = \"/etc/p\"\n"),
        );
        let chosen = files
            .choose(Some(("a", "--account")), None)
            .unwrap()
            .unwrap();
        assert!(chosen.account.password_file.is_none());
        assert_eq!(
            chosen.account.password_command.unwrap().into_inner(),
            "pass a"
        );
    }

    #[test]
    fn every_key_is_merged() {
        let keys: Vec<&str> = account_keys().to_vec();
        let values = |key: &str| match key {
            "timeout" | "max-time" | "retries" => "3".to_string(),
            "rewrite-local-headers" => "true".to_string(),
            "tls" | "auth" | "set-from-header" => "\"auto\"".to_string(),
            "queue" => "\"never\"".to_string(),
            "server" => "\"x.example:25\"".to_string(),
            "qualify-domain" | "ehlo-name" => "\"example.com\"".to_string(),
            "from" => "\"a@example.com\"".to_string(),
            "source-address" => "\"127.0.0.1\"".to_string(),
            "syslog" => "\"mail\"".to_string(),
            _ => "\"/x\"".to_string(),
        };
        let text: String = keys
            .iter()
            .filter(|key| !key.starts_with("password"))
            .map(|key| format!("{key} = {}\n", values(key)))
            .collect();
        let files = files(
            None,
            Some(&format!(
                "[accounts.a]\n{text}password = \"merge-test-secret-4711\"\n"
            )),
        );
        let chosen = files
            .choose(Some(("a", "--account")), None)
            .unwrap()
            .unwrap();
        for key in keys.iter().filter(|key| !key.starts_with("password-")) {
            assert!(chosen.written.contains_key(key), "{key} is not merged");
        }
        assert_eq!(chosen.written.len(), keys.len() - 2);
    }

    #[test]
    fn a_name_from_either_file_and_the_users_default_first() {
        let files = files(
            Some("default = \"mine\"\n[accounts.mine]\nserver = \"m.example:25\"\n"),
            Some("default = \"relay\"\n[accounts.relay]\nfrom = \"*@example.com\"\n"),
        );
        let pick = |named, sender| files.choose(named, sender).unwrap().unwrap().name;
        assert_eq!(pick(None, None), "mine");
        assert_eq!(pick(None, Some("x@example.com")), "relay");
        assert_eq!(pick(Some(("relay", "--account")), None), "relay");
        let err = files.choose(Some(("nope", "--account")), None).unwrap_err();
        assert_eq!(
            crate::base::exit::one_line(&err),
            "--account \"nope\": no such account in /u.toml or /s.toml (accounts: mine, relay)"
        );
    }
}
