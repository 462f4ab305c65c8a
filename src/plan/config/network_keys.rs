//! The checks of an account's TLS policy, proxy, provider and OAuth2 keys.

use super::*;

/// The `oauth2` values an account may name.
pub const OAUTH2_PROVIDERS: [&str; 3] = ["google", "microsoft", "custom"];

/// The TLS policy, the proxy and its password, the provider preset.
pub(super) fn validate_network(
    account: &Account,
    at: &dyn Fn(Range<usize>, &str) -> anyhow::Error,
) -> anyhow::Result<()> {
    if let Some(pin) = &account.tls_fingerprint {
        crate::cli::parse_fingerprint(pin.get_ref()).map_err(|why| at(pin.span(), &why))?;
    }
    if let Some(version) = &account.tls_min_version
        && crate::smtp::tls::TlsVersion::parse(version.get_ref()).is_none()
    {
        return Err(at(version.span(), "give 1.2 or 1.3"));
    }
    if let Some(name) = &account.tls_server_name {
        let text = name.get_ref();
        if text.is_empty() || text.contains(|c: char| c.is_whitespace() || c.is_control()) {
            return Err(at(name.span(), "give a host name without spaces"));
        }
    }
    if let Some(proxy) = &account.proxy {
        crate::cli::parse_proxy(proxy.get_ref()).map_err(|why| at(proxy.span(), &why))?;
    }
    one_line(&account.proxy_password_command, at)?;
    if let (Some(_), Some(command)) = (
        &account.proxy_password_file,
        &account.proxy_password_command,
    ) {
        return Err(at(
            command.span(),
            "give one of proxy-password-file and proxy-password-command",
        ));
    }
    if let Some(provider) = &account.provider
        && crate::plan::providers::find(provider.get_ref()).is_none()
    {
        return Err(at(
            provider.span(),
            &format!(
                "{:?} is not a provider smtpsend knows ({})",
                provider.get_ref(),
                crate::plan::providers::names()
            ),
        ));
    }
    Ok(())
}

/// The OAuth2 keys: a known provider, a client id, https endpoints (all three for
/// `custom`), no password source beside it, both keyring commands or neither.
pub(super) fn validate_oauth2(
    account: &Account,
    at: &dyn Fn(Range<usize>, &str) -> anyhow::Error,
) -> anyhow::Result<()> {
    for key in [
        &account.oauth2_client_id,
        &account.oauth2_client_secret_command,
        &account.oauth2_scope,
        &account.oauth2_store_command,
        &account.oauth2_refresh_token_command,
    ] {
        one_line(key, at)?;
    }
    for url in [
        &account.oauth2_token_url,
        &account.oauth2_device_url,
        &account.oauth2_auth_url,
    ]
    .into_iter()
    .flatten()
    {
        if !url.get_ref().starts_with("https://") || url.get_ref().contains(char::is_whitespace) {
            return Err(at(
                url.span(),
                "give an https:// URL (tokens never go in clear)",
            ));
        }
    }
    let Some(provider) = &account.oauth2 else {
        let stray = [
            &account.oauth2_client_id,
            &account.oauth2_token_url,
            &account.oauth2_scope,
        ]
        .into_iter()
        .flatten()
        .next();
        return match stray {
            Some(key) => Err(at(
                key.span(),
                "an oauth2-… key needs oauth2 = \"google\", \"microsoft\" or \"custom\"",
            )),
            None => Ok(()),
        };
    };
    let name = provider.get_ref().to_ascii_lowercase();
    if !OAUTH2_PROVIDERS.contains(&name.as_str()) {
        return Err(at(
            provider.span(),
            &format!(
                "{:?} is not one of {}",
                provider.get_ref(),
                OAUTH2_PROVIDERS.join(", ")
            ),
        ));
    }
    if account.oauth2_client_id.is_none() {
        return Err(at(
            provider.span(),
            "oauth2 needs oauth2-client-id (the client id of the app registered with the provider)",
        ));
    }
    if name == "custom" {
        let missing = [
            ("oauth2-token-url", account.oauth2_token_url.is_none()),
            (
                "oauth2-device-url (or oauth2-auth-url)",
                account.oauth2_device_url.is_none() && account.oauth2_auth_url.is_none(),
            ),
            ("oauth2-scope", account.oauth2_scope.is_none()),
        ];
        if let Some((key, _)) = missing.iter().find(|(_, missing)| *missing) {
            return Err(at(
                provider.span(),
                &format!("oauth2 = \"custom\" needs {key}"),
            ));
        }
    }
    validate_oauth2_sources(account, at)
}

/// Beside OAuth2: no password source, and both keyring commands or neither.
fn validate_oauth2_sources(
    account: &Account,
    at: &dyn Fn(Range<usize>, &str) -> anyhow::Error,
) -> anyhow::Result<()> {
    let password = [
        account.password.as_ref().map(Spanned::span),
        account.password_file.as_ref().map(Spanned::span),
        account.password_command.as_ref().map(Spanned::span),
    ];
    if let Some(span) = password.into_iter().flatten().next() {
        return Err(at(
            span,
            "give either oauth2 or a password (password, password-file, password-command), not both",
        ));
    }
    match (
        &account.oauth2_store_command,
        &account.oauth2_refresh_token_command,
    ) {
        (Some(key), None) | (None, Some(key)) => Err(at(
            key.span(),
            "give both oauth2-store-command and oauth2-refresh-token-command, or neither",
        )),
        _ => Ok(()),
    }
}

/// A command or name: one non-empty line.
fn one_line(
    value: &Option<Spanned<String>>,
    at: &dyn Fn(Range<usize>, &str) -> anyhow::Error,
) -> anyhow::Result<()> {
    match value {
        Some(value)
            if value.get_ref().is_empty() || value.get_ref().contains(['\r', '\n', '\0']) =>
        {
            Err(at(value.span(), "must be one non-empty line"))
        }
        _ => Ok(()),
    }
}
