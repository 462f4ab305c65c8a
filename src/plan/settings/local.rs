//! The settings about this host's mail rather than the server: the domain for bare user
//! names, the sender when none is given, the alias file, what is rewritten in a message's
//! header, the log, and whether a message that cannot go now is kept (a sendmail call keeps
//! it by default).

use super::*;
use crate::message::raw::FromHeader;
use crate::report::log::Logs;
use crate::report::syslog::Facility;

/// Aliases, header rewriting and the log, as the settings give them.
#[derive(Debug, Clone, Default)]
pub struct Mail {
    /// The alias file local recipients are looked up in (read when a message is prepared).
    pub aliases: Option<PathBuf>,
    /// `rewrite-local-headers`: rewrite bare local names in To, Cc and From too.
    pub rewrite_local_headers: bool,
    /// `set-from-header`: when a complete message's From is the sender's.
    pub set_from_header: FromHeader,
    /// Where each message and attempt is logged.
    pub logs: Logs,
}

impl Mail {
    /// Reads the rows (account keys and `--log-file`) and shows those that are set.
    pub fn pick(picker: &mut Picker) -> anyhow::Result<Mail> {
        let account = picker.account;
        let shown_key = |picker: &mut Picker, key: &'static str, value: String, typed: Value| {
            let source = picker.from_account(key).to_string();
            picker.show(key, value, typed, source);
        };
        let aliases = account
            .aliases
            .as_ref()
            .map(|path| credentials::expand_home(path.get_ref()));
        if let Some(path) = &aliases {
            let path = path.display().to_string();
            shown_key(picker, "aliases", path.clone(), path.into());
        }
        let rewrite_local_headers = account
            .rewrite_local_headers
            .as_ref()
            .is_some_and(|rewrite| *rewrite.get_ref());
        if account.rewrite_local_headers.is_some() {
            shown_key(
                picker,
                "rewrite-local-headers",
                rewrite_local_headers.to_string(),
                rewrite_local_headers.into(),
            );
        }
        let set_from_header = account
            .set_from_header
            .as_ref()
            .and_then(|mode| FromHeader::parse(mode.get_ref()))
            .unwrap_or_default();
        if account.set_from_header.is_some() {
            let name = set_from_header.name();
            shown_key(picker, "set-from-header", name.to_string(), name.into());
        }
        let log_file = picker.pick(&table::LOG_FILE)?;
        let log_file = match log_file.source {
            Source::Account { .. } => log_file.value.map(|path| credentials::expand_home(&path)),
            _ => log_file.value,
        };
        let syslog = account
            .syslog
            .as_ref()
            .and_then(|facility| Facility::parse(facility.get_ref()));
        if let Some(facility) = syslog {
            let name = facility.name();
            shown_key(picker, "syslog", name.to_string(), name.into());
        }
        Ok(Mail {
            aliases,
            rewrite_local_headers,
            set_from_header,
            logs: Logs {
                file: log_file,
                syslog,
            },
        })
    }
}

/// The outbox mode: as given, else `on-failure` for a sendmail call (cron, PHP's `mail()`
/// and the like expect mail to be kept when the relay is down), else `never`.
pub(super) fn queue(picker: &mut Picker) -> anyhow::Result<QueueMode> {
    let picked = picker.find(&table::QUEUE);
    if let (Source::Default, Some(why)) = (&picked.source, &picker.cli.sendmail_call) {
        let source = format!("default for a sendmail call: {why}");
        let name = QueueMode::OnFailure.name();
        picker.show("queue", name.to_string(), name.into(), source);
        return Ok(QueueMode::OnFailure);
    }
    Ok(picker
        .pick(&table::QUEUE)?
        .value
        .unwrap_or(QueueMode::Never))
}

/// The domain for bare user names, shown only when set (they otherwise go as they are).
pub(super) fn qualify_domain(picker: &mut Picker) -> anyhow::Result<Option<String>> {
    let picked = picker.find(&table::QUALIFY_DOMAIN);
    if let Some(domain) = &picked.value {
        (table::QUALIFY_DOMAIN.check)(domain, &picked.source)?;
        let source = picked.source.to_string();
        picker.show(
            "qualify-domain",
            domain.clone(),
            domain.as_str().into(),
            source,
        );
    }
    Ok(picked.value)
}

/// Shows the sender a message gets when neither `-f` nor the message names one.
pub(super) fn show_from(picker: &mut Picker, qualify_domain: Option<&str>) {
    let account = picker.account;
    let account_from = account.sender();
    let (value, source) = match (&picker.cli.from, &account_from) {
        (Some(from), _) => (
            from.clone(),
            picker.option("--from", "SMTPSEND_FROM").to_string(),
        ),
        (None, Some(from)) => {
            let pattern = account
                .from_pattern
                .as_ref()
                .map(|pattern| format!(", from {pattern}"))
                .unwrap_or_default();
            (
                from.qualified(qualify_domain).to_text(),
                format!("{}{pattern}", picker.from_account("from")),
            )
        }
        (None, None) => {
            let pattern = account
                .from
                .as_ref()
                .map(|pattern| {
                    format!(
                        "; the from {} of account {} only selects the account",
                        pattern.get_ref(),
                        picker.account_name.as_deref().unwrap_or_default()
                    )
                })
                .unwrap_or_default();
            let made = match qualify_domain {
                Some(_) => "default: login@qualify-domain",
                None => "made from the login and host name: set from = … or --from",
            };
            (
                default_sender(qualify_domain).address,
                format!("{made}, unless the message has a From{pattern}"),
            )
        }
    };
    picker.show("from", value.clone(), value.into(), source);
}

/// The sender when none is given: `login@host`, like sendmail, or `login@DOMAIN` with a
/// qualify domain. A host name without a dot is used as it is; the login name comes from
/// the password database when the environment has none (cron, daemons).
pub fn default_sender(qualify_domain: Option<&str>) -> Mailbox {
    let login = crate::base::user::login_name();
    let domain = qualify_domain.map_or_else(crate::base::host::hostname, str::to_string);
    Mailbox {
        name: None,
        address: format!("{login}@{domain}"),
    }
}
