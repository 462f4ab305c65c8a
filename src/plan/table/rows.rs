//! The rows of the settings table, one a setting, in the order `--show-config` shows them.

use super::*;

/// The server used when none is given.
pub const DEFAULT_SERVER: &str = "localhost:25";

pub const SERVER: Row<String> = Row {
    key: "server",
    flag: "--server",
    variable: "SMTPSEND_SERVER",
    given: |cli| cli.server.clone(),
    account: |account| account.server.as_ref().map(|s| s.get_ref().clone()),
    default: Some(|| DEFAULT_SERVER.to_string()),
    check: no_check,
    show: |server| given_string(server, DEFAULT_SERVER),
    json: |server| Value::from(server.map_or(DEFAULT_SERVER, String::as_str)),
};

pub const TIMEOUT: Row<f64> = Row {
    key: "timeout",
    flag: "--timeout",
    variable: "SMTPSEND_TIMEOUT",
    given: |cli| cli.timeout,
    account: |account| account.timeout.as_ref().map(|t| t.get_ref().0),
    default: None,
    check: |seconds, source| {
        if seconds.is_finite() && *seconds > 0.0 && *seconds <= 86_400.0 {
            return Ok(());
        }
        Err(fail(
            Kind::Usage,
            format!(
                "{}: give a number of seconds above 0 (at most 86400)",
                source.given("--timeout", seconds)
            ),
        ))
    },
    show: |seconds| match seconds {
        Some(seconds) => format!("{seconds}s"),
        None => {
            let t = Timeouts::default();
            format!(
                "connect {}s, each reply {}s, end of data {}s",
                t.connect.as_secs(),
                t.command.as_secs(),
                t.data_end.as_secs()
            )
        }
    },
    json: |seconds| seconds.copied().map_or(Value::Null, seconds_json),
};

pub const EHLO_NAME: Row<String> = Row {
    key: "ehlo-name",
    flag: "--ehlo-name",
    variable: "SMTPSEND_EHLO_NAME",
    given: |cli| cli.ehlo_name.clone(),
    account: |account| account.ehlo_name.as_ref().map(|n| n.get_ref().clone()),
    default: None,
    check: |name, _| {
        crate::message::address::reject_line_breaks("--ehlo-name", name)?;
        if name.is_empty() || name.contains(char::is_whitespace) {
            return Err(fail(
                Kind::Usage,
                format!("--ehlo-name {name:?}: give a host name without spaces"),
            ));
        }
        Ok(())
    },
    show: |name| given_string(name, "(this host's name, or its address literal)"),
    json: json_of,
};

pub const SOURCE_ADDRESS: Row<std::net::IpAddr> = Row {
    key: "source-address",
    flag: "--source-address",
    variable: "SMTPSEND_SOURCE_ADDRESS",
    given: |cli| cli.source_address,
    account: |account| {
        account
            .source_address
            .as_ref()
            .and_then(|a| a.get_ref().parse().ok())
    },
    default: None,
    // Binding a socket to it is what connecting from it will do: 78 before anything
    // connects when it is not one of this host's.
    check: |address, source| match std::net::UdpSocket::bind((*address, 0)) {
        Ok(_) => Ok(()),
        Err(err) => Err(fail(
            Kind::Config,
            format!(
                "{}: not an address of this host ({})",
                source.given("--source-address", address),
                crate::base::input::plain_io(&err)
            ),
        )),
    },
    show: |address| address.map_or_else(|| "(chosen by the system)".into(), ToString::to_string),
    json: |address| address.map_or(Value::Null, |a| a.to_string().into()),
};

pub const QUEUE: Row<QueueMode> = Row {
    key: "queue",
    flag: "--queue",
    variable: "SMTPSEND_QUEUE",
    given: |cli| cli.queue,
    account: |account| {
        account
            .queue
            .as_ref()
            .and_then(|q| QueueMode::from_name(q.get_ref()))
    },
    default: Some(|| QueueMode::Never),
    check: no_check,
    show: |mode| mode.map_or("never", |mode| mode.name()).to_string(),
    json: |mode| mode.map_or("never", |mode| mode.name()).into(),
};

pub const RETRIES: Row<u32> = Row {
    key: "retries",
    flag: "--retries",
    variable: "SMTPSEND_RETRIES",
    given: |cli| cli.retries,
    account: |account| account.retries.as_ref().map(|r| *r.get_ref()),
    default: Some(|| 0),
    check: |retries, source| match *retries <= MAX_RETRIES {
        true => Ok(()),
        false => Err(fail(
            Kind::Usage,
            format!(
                "{}: give at most {MAX_RETRIES}",
                source.given("--retries", retries)
            ),
        )),
    },
    show: |retries| retries.copied().unwrap_or(0).to_string(),
    json: |retries| retries.copied().unwrap_or(0).into(),
};

/// A count from 1 to `most`, or the error naming where it came from.
fn count_check(value: usize, most: usize, flag: &str, source: &Source) -> anyhow::Result<()> {
    if (1..=most).contains(&value) {
        return Ok(());
    }
    Err(fail(
        Kind::Usage,
        format!(
            "{}: give a number from 1 to {most}",
            source.given(flag, value)
        ),
    ))
}

pub const PARALLEL: Row<usize> = Row {
    key: "parallel",
    flag: "--parallel",
    variable: "SMTPSEND_PARALLEL",
    given: |cli| cli.parallel,
    account: |account| account.parallel.as_ref().map(|n| *n.get_ref()),
    default: Some(|| 1),
    check: |count, source| count_check(*count, MAX_PARALLEL, "--parallel", source),
    show: |count| {
        format!(
            "{} (connections at once for --bulk and -q)",
            count.copied().unwrap_or(1)
        )
    },
    json: |count| count.copied().unwrap_or(1).into(),
};

/// The window when none is given: 16 messages per round trip, and no more than 16 in doubt
/// when a connection is lost.
pub const DEFAULT_WINDOW: usize = 16;

pub const WINDOW: Row<usize> = Row {
    key: "window",
    flag: "--window",
    variable: "SMTPSEND_WINDOW",
    given: |cli| cli.window,
    account: |account| account.window.as_ref().map(|n| *n.get_ref()),
    default: Some(|| DEFAULT_WINDOW),
    check: |count, source| count_check(*count, MAX_WINDOW, "--window", source),
    show: |count| {
        format!(
            "{} (messages ahead of their replies, with PIPELINING and CHUNKING)",
            count.copied().unwrap_or(DEFAULT_WINDOW)
        )
    },
    json: |count| count.copied().unwrap_or(DEFAULT_WINDOW).into(),
};

/// The bound on a whole run when `--max-time` is not given, in seconds: an hour. A cron job
/// or CI step must end even when a server reads one byte a second or never answers, and
/// an hour is far longer than any healthy submission (100 MiB at 1 Mbit/s takes 14 minutes).
pub const DEFAULT_MAX_TIME: f64 = 3600.0;

pub const MAX_TIME: Row<f64> = Row {
    key: "max-time",
    flag: "--max-time",
    variable: "SMTPSEND_MAX_TIME",
    given: |cli| cli.max_time,
    account: |account| account.max_time.as_ref().map(|t| t.get_ref().0),
    default: Some(|| DEFAULT_MAX_TIME),
    check: |seconds, source| {
        if seconds.is_finite() && (0.0..=7.0 * 86_400.0).contains(seconds) {
            return Ok(());
        }
        Err(fail(
            Kind::Usage,
            format!(
                "{}: give a number of seconds from 0 (no bound) to 604800",
                source.given("--max-time", seconds)
            ),
        ))
    },
    show: |seconds| match seconds.copied().and_then(max_time) {
        Some(limit) => format!("{} s", limit.as_secs_f64()),
        None => "none".to_string(),
    },
    json: |seconds| {
        seconds
            .copied()
            .and_then(max_time)
            .map_or(Value::Null, |limit| seconds_json(limit.as_secs_f64()))
    },
};

/// The bound `--max-time` sets: `None` for 0 (no bound).
pub fn max_time(seconds: f64) -> Option<Duration> {
    (seconds > 0.0).then(|| Duration::from_secs_f64(seconds))
}

pub const QUALIFY_DOMAIN: Row<String> = Row {
    key: "qualify-domain",
    flag: "--qualify-domain",
    variable: "SMTPSEND_QUALIFY_DOMAIN",
    given: |cli| cli.qualify_domain.clone(),
    account: |account| account.qualify_domain.as_ref().map(|d| d.get_ref().clone()),
    default: None,
    check: |domain, _| {
        crate::message::address::validate_domain(domain)
            .map_err(|why| fail(Kind::Usage, format!("--qualify-domain {domain:?}: {why}")))
    },
    show: |domain| given_string(domain, "(none)"),
    json: json_of,
};

pub const TLS: Row<TlsMode> = Row {
    key: "tls",
    flag: "--tls",
    variable: "SMTPSEND_TLS",
    given: |cli| cli.tls,
    account: |account| {
        account
            .tls
            .as_ref()
            .and_then(|t| TlsMode::parse(t.get_ref()))
    },
    default: Some(TlsMode::default),
    check: no_check,
    show: |mode| match mode.copied().unwrap_or_default() {
        TlsMode::Auto => {
            "auto (STARTTLS when offered, except to a loopback address or unix socket)".into()
        }
        other => other.name().to_string(),
    },
    json: |mode| mode.copied().unwrap_or_default().name().into(),
};

pub const USER: Row<String> = Row {
    key: "user",
    flag: "--user",
    variable: "SMTPSEND_USER",
    given: |cli| cli.user.clone(),
    account: |account| account.user.as_ref().map(|u| u.get_ref().clone()),
    default: None,
    check: |user, _| {
        crate::message::address::reject_line_breaks("--user", user)?;
        if user.is_empty() {
            return Err(fail(Kind::Usage, "--user: the user name is empty"));
        }
        Ok(())
    },
    show: |user| given_string(user, "(none: no authentication)"),
    json: json_of,
};

pub const AUTH: Row<Mechanism> = Row {
    key: "auth",
    flag: "--auth",
    variable: "SMTPSEND_AUTH",
    given: |cli| cli.auth,
    account: |account| {
        account
            .auth
            .as_ref()
            .and_then(|a| Mechanism::parse(a.get_ref()))
    },
    default: Some(Mechanism::default),
    check: no_check,
    show: |mechanism| match mechanism.copied().unwrap_or_default() {
        Mechanism::Auto => "auto (the strongest the server offers)".to_string(),
        other => other.name().to_string(),
    },
    json: |mechanism| mechanism.copied().unwrap_or_default().value_name().into(),
};

pub const LOG_FILE: Row<PathBuf> = Row {
    key: "log-file",
    flag: "--log-file",
    variable: "SMTPSEND_LOG_FILE",
    given: |cli| cli.log_file.clone(),
    account: |account| account.log_file.as_ref().map(|path| path.get_ref().clone()),
    default: None,
    check: |path, source| {
        if path.as_os_str().is_empty() {
            return Err(fail(
                Kind::Usage,
                format!("{}: give a path", source.given("--log-file", "\"\"")),
            ));
        }
        Ok(())
    },
    show: |path| path.map_or_else(|| "(none)".into(), |path| path.display().to_string()),
    json: |path| path.map_or(Value::Null, |path| path.display().to_string().into()),
};
