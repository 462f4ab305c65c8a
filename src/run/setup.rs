//! `--setup [EMAIL]`: a first run on a terminal. It asks for the address, takes a provider
//! preset from its domain when one fits (else asks for the server and its TLS), asks how to
//! log in, tests the account with the same steps as `--check` (signing in first for
//! OAuth2), and only then adds it to the configuration file (mode 0600, replaced
//! atomically), showing what it wrote. Without a terminal it refuses before asking
//! anything; Ctrl-D stops it with nothing written.

mod ask;
mod file;
mod login;

use std::io::IsTerminal;

use crate::base::exit::{Kind, fail};
use crate::plan::Setup;
use crate::plan::providers::{self, Preset};
use ask::{ask_until, choose, yes};
use login::LoginChoice;

/// Where the account sends through.
struct ServerChoice {
    /// A preset, which gives server, port, TLS and mechanism.
    preset: Option<&'static Preset>,
    /// `host:port` or a URL, when there is no preset.
    server: Option<String>,
    /// `starttls`, `implicit`, `auto` or `none`, when there is no preset.
    tls: Option<&'static str>,
}

pub fn run(setup: Setup) -> anyhow::Result<()> {
    if !std::io::stdin().is_terminal() || !crate::base::output::stderr_is_terminal() {
        return Err(fail(
            Kind::Usage,
            "--setup asks its questions on a terminal, and stdin or stderr is not one; \
             write the account into the configuration file yourself (man smtpsend, FILES, \
             has an example)",
        ));
    }
    let location = setup.location.ok_or_else(|| {
        fail(
            Kind::Config,
            "--setup: HOME is not set, so there is no configuration file to write; give --config PATH",
        )
    })?;
    let existing = file::Existing::read(&location)?;
    crate::say!(
        "smtpsend: setting up an account in {} (Ctrl-D stops; nothing is written until the end)",
        location.path.display()
    );
    let email = match setup.email {
        Some(email) => check_email(&email).map_err(|why| fail(Kind::Usage, why))?,
        None => ask_until("Your email address", None, check_email)?,
    };
    let domain = email.rsplit_once('@').map_or("", |(_, domain)| domain);
    let server = choose_server(domain)?;
    let login = login::choose_login(&email, server.preset)?;
    let name = choose_name(domain, server.preset, &existing)?;
    let section = section(&name, &email, &server, &login)?;
    let make_default = existing.default.is_none() && yes("Make it the default account?", true)?;
    let text = existing.with_account(&name, &section, make_default);
    let tested = file::test(&location.path, &text, &name, &login)?;
    if !tested && !yes("The test failed. Save the account anyway?", false)? {
        crate::say!("smtpsend: nothing was written");
        return Err(fail(
            Kind::Unavailable,
            "--setup: the account was not saved",
        ));
    }
    file::write(&location.path, &text)?;
    crate::say!(
        "smtpsend: wrote account {name} to {}:",
        location.path.display()
    );
    for line in section.lines() {
        match line.starts_with("password =") {
            true => crate::say!("  password = (kept, not shown)"),
            false => crate::say!("  {line}"),
        }
    }
    crate::say!(
        "Send a test: smtpsend{} --to {email} --subject test --body hello",
        if make_default {
            String::new()
        } else {
            format!(" --account {name}")
        }
    );
    Ok(())
}

/// An address with a domain, as the sender and usually the login.
fn check_email(answer: &str) -> Result<String, String> {
    let mailbox = crate::message::address::Mailbox::parse(answer)
        .map_err(|err| crate::base::exit::one_line(&err))?;
    if crate::message::address::is_unqualified(&mailbox.address) {
        return Err(format!("{answer}: give the whole address, name@domain"));
    }
    Ok(mailbox.address)
}

/// The preset for the address's domain, else the server the user names (a preset's name
/// is taken too) and its TLS.
fn choose_server(domain: &str) -> anyhow::Result<ServerChoice> {
    if let Some(preset) = providers::for_domain(domain) {
        crate::say!(
            "{domain}: the {} preset ({}:{}, {})",
            preset.name,
            preset.host,
            preset.port,
            preset.tls.name()
        );
        return Ok(ServerChoice {
            preset: Some(preset),
            server: None,
            tls: None,
        });
    }
    let question = format!(
        "Server: host:port, smtps://host, or a provider ({})",
        providers::names()
    );
    let default = format!("smtp.{domain}:587");
    let server = ask_until(&question, Some(&default), |answer| {
        if providers::find(answer).is_some() {
            return Ok(answer.to_ascii_lowercase());
        }
        crate::plan::server::parse_server_for(answer, false)
            .map(|_| answer.to_string())
            .map_err(|err| crate::base::exit::one_line(&err))
    })?;
    if let Some(preset) = providers::find(&server) {
        return Ok(ServerChoice {
            preset: Some(preset),
            server: None,
            tls: None,
        });
    }
    let implicit = server.starts_with("smtps://") || server.ends_with(":465");
    let tls = if implicit {
        "implicit"
    } else {
        let default = if server.ends_with(":587") {
            "starttls"
        } else {
            "auto"
        };
        let answer = choose(
            "Encryption",
            &[
                ("starttls", "STARTTLS, required (port 587)"),
                ("auto", "STARTTLS when the server offers it"),
                (
                    "none",
                    "none (a relay on this machine or a trusted network)",
                ),
            ],
            default,
        )?;
        match answer.as_str() {
            "starttls" => "starttls",
            "none" => "none",
            _ => "auto",
        }
    };
    Ok(ServerChoice {
        preset: None,
        server: Some(server),
        tls: Some(tls),
    })
}

/// A name for the account, not yet in the file: the preset's, or the domain's first label.
fn choose_name(
    domain: &str,
    preset: Option<&'static Preset>,
    existing: &file::Existing,
) -> anyhow::Result<String> {
    let suggested: String = preset
        .map_or_else(|| domain.split('.').next().unwrap_or("mail"), |p| p.name)
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
        .collect();
    let mut default = if suggested.is_empty() {
        "mail".to_string()
    } else {
        suggested
    };
    let mut number = 2;
    while existing.accounts.contains(&default) {
        default = format!("{}-{number}", default.trim_end_matches(char::is_numeric));
        number += 1;
    }
    ask_until("A name for the account", Some(&default), |answer| {
        if answer.is_empty()
            || !answer
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            return Err("use letters, digits, - and _".to_string());
        }
        if existing.accounts.iter().any(|name| name == answer) {
            return Err(format!("there is already an account {answer}"));
        }
        Ok(answer.to_string())
    })
}

/// The account's section of the configuration file, keys quoted by the TOML writer.
fn section(
    name: &str,
    email: &str,
    server: &ServerChoice,
    login: &LoginChoice,
) -> anyhow::Result<String> {
    let mut table = toml::Table::new();
    let mut put = |key: &str, value: &str| {
        table.insert(key.to_string(), toml::Value::String(value.to_string()));
    };
    if let Some(preset) = server.preset {
        put("provider", preset.name);
    }
    if let Some(text) = &server.server {
        put("server", text);
    }
    if let Some(tls) = server.tls {
        put("tls", tls);
    }
    put("from", email);
    login.put_keys(&mut put);
    let body = toml::to_string(&table)
        .map_err(|err| fail(Kind::Software, format!("--setup: cannot write TOML: {err}")))?;
    Ok(format!("[accounts.{name}]\n{body}"))
}
