//! An account's OAuth2 keys resolved: the provider's endpoints and scope (a preset's, or
//! the account's own, which replace them), the client, where the refresh token is kept.

use super::*;
use crate::plan::config::Account;

/// The account's OAuth2 settings, when it has `oauth2`; `account` names it (its store
/// file is named after it).
pub fn from_account(
    account: &Account,
    name: Option<&str>,
    http: Http,
) -> anyhow::Result<Option<OAuth2>> {
    let Some(provider) = &account.oauth2 else {
        return Ok(None);
    };
    let provider = provider.get_ref().to_ascii_lowercase();
    let name = name.unwrap_or_default().to_string();
    store::check_account_name(&name)?;
    let preset = endpoints(&provider);
    let pick = |own: &Option<toml::Spanned<String>>, preset: Option<&'static str>, key: &str| {
        own.as_ref()
            .map(|value| value.get_ref().clone())
            .or(preset.map(str::to_string))
            .ok_or_else(|| {
                fail(
                    Kind::Config,
                    format!("account {name}: oauth2 = \"{provider}\" needs {key}"),
                )
            })
    };
    let keyring = account
        .oauth2_store_command
        .as_ref()
        .zip(account.oauth2_refresh_token_command.as_ref())
        .map(|(store, read)| (store.get_ref().clone(), read.get_ref().clone()));
    Ok(Some(OAuth2 {
        token_url: pick(
            &account.oauth2_token_url,
            preset.as_ref().map(|p| p.token_url),
            "oauth2-token-url",
        )?,
        auth_url: account
            .oauth2_auth_url
            .as_ref()
            .map(|url| url.get_ref().clone())
            .or(preset.as_ref().and_then(|p| p.auth_url).map(str::to_string))
            .filter(|_| account.oauth2_device_url.is_none() || account.oauth2_auth_url.is_some()),
        device_url: account
            .oauth2_device_url
            .as_ref()
            .map(|url| url.get_ref().clone())
            .or(preset.as_ref().map(|p| p.device_url.to_string()))
            .unwrap_or_default(),
        scope: pick(
            &account.oauth2_scope,
            preset.as_ref().map(|p| p.scope),
            "oauth2-scope",
        )?,
        client_id: pick(&account.oauth2_client_id, None, "oauth2-client-id")?,
        client_secret_command: account
            .oauth2_client_secret_command
            .as_ref()
            .map(|command| command.get_ref().clone()),
        account: name,
        provider,
        keyring,
        http,
    }))
}
