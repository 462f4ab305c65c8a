//! The checks of an account's values that their types cannot make: modes, addresses, the server, numbers, the password sources.

use super::*;

/// Checks the values a type cannot: modes, addresses, the server, numbers.
pub(super) fn validate(
    account: &Account,
    at: &dyn Fn(Range<usize>, &str) -> anyhow::Error,
) -> anyhow::Result<()> {
    validate_choices(account, at)?;
    validate_names(account, at)?;
    validate_times(account, at)?;
    validate_paths(account, at)?;
    validate_credentials(account, at)?;
    validate_network(account, at)?;
    validate_oauth2(account, at)
}

/// The values that must be one of a list, and the retry count.
pub(super) fn validate_choices(
    account: &Account,
    at: &dyn Fn(Range<usize>, &str) -> anyhow::Error,
) -> anyhow::Result<()> {
    let one_of = |value: &Option<Spanned<String>>, allowed: &[&str]| {
        if let Some(value) = value
            && !allowed.contains(&value.get_ref().to_ascii_lowercase().as_str())
        {
            return Err(at(
                value.span(),
                &format!("{:?} is not one of {}", value.get_ref(), allowed.join(", ")),
            ));
        }
        Ok(())
    };
    one_of(&account.tls, &TLS_MODES)?;
    one_of(&account.auth, &AUTH_MECHANISMS)?;
    one_of(&account.queue, &QUEUE_MODES)?;
    one_of(&account.set_from_header, &SET_FROM_HEADER)?;
    if let Some(facility) = &account.syslog
        && crate::report::syslog::Facility::parse(facility.get_ref()).is_none()
    {
        return Err(at(
            facility.span(),
            &format!(
                "{:?} is not a syslog facility ({})",
                facility.get_ref(),
                crate::report::syslog::Facility::NAMES.join(", ")
            ),
        ));
    }
    if let Some(retries) = &account.retries
        && *retries.get_ref() > MAX_RETRIES
    {
        return Err(at(retries.span(), &format!("give at most {MAX_RETRIES}")));
    }
    for (value, most) in [
        (&account.parallel, MAX_PARALLEL),
        (&account.window, MAX_WINDOW),
    ] {
        if let Some(value) = value
            && !(1..=most).contains(value.get_ref())
        {
            return Err(at(value.span(), &format!("give a number from 1 to {most}")));
        }
    }
    Ok(())
}

/// The server, the sender, the EHLO name, the qualify domain, the source address.
pub(super) fn validate_names(
    account: &Account,
    at: &dyn Fn(Range<usize>, &str) -> anyhow::Error,
) -> anyhow::Result<()> {
    if let Some(server) = &account.server {
        crate::plan::server::parse_server(server.get_ref())
            .map_err(|err| at(server.span(), &crate::base::exit::one_line(&err)))?;
    }
    if let Some(from) = &account.from {
        let text = from.get_ref();
        let valid = if is_pattern(text) {
            text.contains('@') && !text.contains(char::is_whitespace)
        } else {
            Mailbox::parse(text).is_ok()
        };
        if !valid {
            return Err(at(
                from.span(),
                &format!("{text:?} is not an address or a pattern such as *@example.com"),
            ));
        }
    }
    if let Some(name) = &account.ehlo_name {
        let text = name.get_ref();
        if text.is_empty() || text.contains(char::is_whitespace) || text.contains('\0') {
            return Err(at(name.span(), "give a host name without spaces"));
        }
    }
    if let Some(domain) = &account.qualify_domain {
        crate::message::address::validate_domain(domain.get_ref())
            .map_err(|why| at(domain.span(), &why))?;
    }
    if let Some(address) = &account.source_address
        && address.get_ref().parse::<std::net::IpAddr>().is_err()
    {
        return Err(at(
            address.span(),
            &format!("{:?} is not an IP address", address.get_ref()),
        ));
    }
    Ok(())
}

/// The deadline and the bound on the run.
pub(super) fn validate_times(
    account: &Account,
    at: &dyn Fn(Range<usize>, &str) -> anyhow::Error,
) -> anyhow::Result<()> {
    if let Some(timeout) = &account.timeout {
        let Seconds(seconds) = *timeout.get_ref();
        if !(seconds.is_finite() && seconds > 0.0 && seconds <= 86_400.0) {
            return Err(at(
                timeout.span(),
                "give a number of seconds above 0 (at most 86400)",
            ));
        }
    }
    if let Some(limit) = &account.max_time {
        let Seconds(seconds) = *limit.get_ref();
        if !(seconds.is_finite() && (0.0..=7.0 * 86_400.0).contains(&seconds)) {
            return Err(at(
                limit.span(),
                "give a number of seconds from 0 (no bound) to 604800",
            ));
        }
    }
    Ok(())
}

/// The files an account names: each an absolute path (or `~/…`) on one line; sendmail is
/// called from any directory, so a relative path would name a different file each time.
pub(super) fn validate_paths(
    account: &Account,
    at: &dyn Fn(Range<usize>, &str) -> anyhow::Error,
) -> anyhow::Result<()> {
    for path in [&account.aliases, &account.log_file].into_iter().flatten() {
        let text = path.get_ref().as_os_str().as_encoded_bytes();
        if text.is_empty() || text.iter().any(|b| matches!(b, b'\r' | b'\n' | b'\0')) {
            return Err(at(path.span(), "give a path on one line"));
        }
        if !path.get_ref().is_absolute() && !path.get_ref().starts_with("~") {
            return Err(at(
                path.span(),
                "give an absolute path (or one in your home, ~/…): sendmail is called from any \
                 directory",
            ));
        }
    }
    Ok(())
}

/// The user and the password sources: one line each, at most one source.
pub(super) fn validate_credentials(
    account: &Account,
    at: &dyn Fn(Range<usize>, &str) -> anyhow::Error,
) -> anyhow::Result<()> {
    for value in [&account.user, &account.password_command] {
        if let Some(value) = value
            && (value.get_ref().is_empty() || value.get_ref().contains(['\r', '\n', '\0']))
        {
            return Err(at(value.span(), "must be one non-empty line"));
        }
    }
    if let Some(secret) = &account.password {
        let value = secret.get_ref().expose();
        if value.is_empty() || value.contains(['\r', '\n', '\0']) {
            return Err(at(
                secret.span(),
                &format!("must be one non-empty line {NOT_SHOWN}"),
            ));
        }
    }
    if let (Some(_), Some(second)) = (
        &account.password,
        account
            .password_file
            .as_ref()
            .map(Spanned::span)
            .or(account.password_command.as_ref().map(Spanned::span)),
    ) {
        return Err(at(
            second,
            "give one of password, password-file and password-command",
        ));
    }
    if let (Some(_), Some(command)) = (&account.password_file, &account.password_command) {
        return Err(at(
            command.span(),
            "give one of password, password-file and password-command",
        ));
    }
    Ok(())
}
