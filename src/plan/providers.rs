//! Provider presets: the submission server, port, TLS mode and login mechanism of the
//! mail providers people send through most, chosen by an account's `provider = "gmail"` or
//! by naming one as the server (`--server gmail`). A preset fills in only what is not given
//! otherwise (option, variable or account key); `--show-config` says what it filled in.
//! The facts and their sources are in docs/providers.md.

use crate::base::exit::{Kind, fail};
use crate::plan::table::Picker;
use crate::smtp::auth::Mechanism;
use crate::smtp::tls::TlsMode;

/// One provider's submission settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Preset {
    pub name: &'static str,
    pub host: &'static str,
    pub port: u16,
    pub tls: TlsMode,
    /// The mechanism for a password login (an app password).
    pub auth: Mechanism,
    /// The OAuth2 preset of the provider, when it offers OAuth2 for SMTP.
    pub oauth2: Option<&'static str>,
}

const fn preset(
    name: &'static str,
    host: &'static str,
    port: u16,
    tls: TlsMode,
    oauth2: Option<&'static str>,
) -> Preset {
    Preset {
        name,
        host,
        port,
        tls,
        auth: Mechanism::Plain,
        oauth2,
    }
}

/// Every preset, by name.
pub const PRESETS: [Preset; 7] = [
    preset(
        "gmail",
        "smtp.gmail.com",
        587,
        TlsMode::Starttls,
        Some("google"),
    ),
    preset(
        "outlook",
        "smtp-mail.outlook.com",
        587,
        TlsMode::Starttls,
        Some("microsoft"),
    ),
    preset(
        "office365",
        "smtp.office365.com",
        587,
        TlsMode::Starttls,
        Some("microsoft"),
    ),
    preset(
        "fastmail",
        "smtp.fastmail.com",
        465,
        TlsMode::Implicit,
        None,
    ),
    preset("icloud", "smtp.mail.me.com", 587, TlsMode::Starttls, None),
    preset("yahoo", "smtp.mail.yahoo.com", 465, TlsMode::Implicit, None),
    preset("zoho", "smtp.zoho.com", 465, TlsMode::Implicit, None),
];

/// The preset with this name (any case).
pub fn find(name: &str) -> Option<&'static Preset> {
    PRESETS
        .iter()
        .find(|preset| preset.name.eq_ignore_ascii_case(name))
}

/// The address domains each preset serves, for `--setup`: a custom domain (a company's
/// Microsoft 365 or Google Workspace) is not known by its name, and is asked for.
const DOMAINS: [(&str, &[&str]); 6] = [
    ("gmail", &["gmail.com", "googlemail.com"]),
    (
        "outlook",
        &["outlook.com", "hotmail.com", "live.com", "msn.com"],
    ),
    ("fastmail", &["fastmail.com", "fastmail.fm"]),
    ("icloud", &["icloud.com", "me.com", "mac.com"]),
    ("yahoo", &["yahoo.com", "ymail.com", "rocketmail.com"]),
    ("zoho", &["zoho.com", "zohomail.com"]),
];

/// The preset for an address's domain, when the domain is one a preset serves.
pub fn for_domain(domain: &str) -> Option<&'static Preset> {
    DOMAINS
        .iter()
        .find(|(_, domains)| domains.iter().any(|d| d.eq_ignore_ascii_case(domain)))
        .and_then(|(name, _)| find(name))
}

/// The names, for errors and the man page.
pub fn names() -> String {
    PRESETS.map(|preset| preset.name).join(", ")
}

/// The preset this run uses, and what chose it: a server value that is a preset's name
/// (from the option, the variable or the account), else the account's `provider`.
pub fn chosen(
    picker: &Picker,
    server: Option<(&str, String)>,
) -> anyhow::Result<Option<(&'static Preset, String)>> {
    if let Some((text, source)) = server
        && let Some(preset) = find(text)
    {
        return Ok(Some((
            preset,
            format!("{source} names the {} preset", preset.name),
        )));
    }
    let Some(provider) = &picker.account.provider else {
        return Ok(None);
    };
    let preset = find(provider.get_ref()).ok_or_else(|| {
        fail(
            Kind::Config,
            format!(
                "provider {:?} is not a preset smtpsend knows ({})",
                provider.get_ref(),
                names()
            ),
        )
    })?;
    let account = picker.account_name.clone().unwrap_or_default();
    Ok(Some((
        preset,
        format!("provider {} in account {account}", preset.name),
    )))
}

impl Preset {
    /// The mechanism the preset logs in with: XOAUTH2 with OAuth2, else its password one.
    pub fn mechanism(&self, oauth2: bool) -> Mechanism {
        if oauth2 {
            Mechanism::Xoauth2
        } else {
            self.auth
        }
    }
}
