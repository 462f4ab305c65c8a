//! Checking option values clap cannot: sizes, DSN values; --tls and --auth mapped onto the session engine's types.

use super::*;

/// `--tls`'s values, each with what it means; clap knows them for help and completions, and
/// the session engine's type stays free of clap.
pub(super) fn tls_modes() -> impl TypedValueParser<Value = TlsMode> {
    let values = TlsMode::ALL.map(|mode| PossibleValue::new(mode.name()).help(mode.meaning()));
    PossibleValuesParser::new(values)
        .map(|name| TlsMode::parse(&name).expect("clap took one of the possible values"))
}

/// `--auth`'s values: the SASL mechanisms by their lower-case names.
pub(super) fn mechanisms() -> impl TypedValueParser<Value = Mechanism> {
    let values = Mechanism::ALL.map(|mechanism| {
        let value = PossibleValue::new(mechanism.value_name());
        match mechanism {
            Mechanism::Auto => value.help(Mechanism::AUTO_MEANS),
            _ => value,
        }
    });
    PossibleValuesParser::new(values)
        .map(|name| Mechanism::parse(&name).expect("clap took one of the possible values"))
}

/// Parses a size such as `4096`, `64K`, `64M` or `1G` (binary multiples).
pub(super) fn parse_size(value: &str) -> Result<u64, String> {
    let value = value.trim();
    let (digits, unit) = match value.find(|c: char| !c.is_ascii_digit()) {
        Some(at) => value.split_at(at),
        None => (value, ""),
    };
    let shift = match unit.to_ascii_uppercase().as_str() {
        "" | "B" => 0,
        "K" | "KB" | "KIB" => 10,
        "M" | "MB" | "MIB" => 20,
        "G" | "GB" | "GIB" => 30,
        _ => return Err("give a number of bytes, optionally with K, M or G".to_string()),
    };
    digits
        .parse::<u64>()
        .ok()
        .filter(|n| *n > 0)
        .and_then(|n| n.checked_mul(1 << shift))
        .ok_or_else(|| "give a number of bytes above 0, optionally with K, M or G".to_string())
}

/// Checks a DSN NOTIFY value: NEVER, or a list of SUCCESS, FAILURE and DELAY (RFC 3461 §4.1).
pub(crate) fn parse_dsn_notify(value: &str) -> Result<String, String> {
    let upper = value.to_ascii_uppercase();
    let items: Vec<&str> = upper.split(',').map(str::trim).collect();
    let valid = if items == ["NEVER"] {
        true
    } else {
        items
            .iter()
            .all(|item| ["SUCCESS", "FAILURE", "DELAY"].contains(item))
    };
    if !valid {
        return Err("give NEVER, or a comma list of SUCCESS, FAILURE and DELAY".to_string());
    }
    Ok(items.join(","))
}

/// Checks a DSN ENVID: printable ASCII, at most 100 characters (RFC 3461 §4.4).
pub(crate) fn parse_dsn_envid(value: &str) -> Result<String, String> {
    if value.is_empty() || value.len() > 100 || !value.bytes().all(|b| (33..=126).contains(&b)) {
        return Err("give 1 to 100 printable ASCII characters without spaces".to_string());
    }
    Ok(value.to_string())
}
