//! The substitutions of the `from` setting, as msmtp's `from` has them, so that one system
//! file gives every user a sender of their own: `%U` the login name, `%H` this host's
//! name, `%C` its canonical name, `%M` the mail name in `/etc/mailname`, `%%` a percent
//! sign. `from = "%U@example.com"` sends www-data's mail as `www-data@example.com`.

/// Where the substitutions come from (this host and user, or fixed values in tests).
pub struct Local {
    /// The value of `%U`, `%H`, `%C` or `%M`; an error says why it has none.
    pub lookup: Box<dyn Fn(char) -> Result<String, String>>,
}

impl Local {
    /// This user and host: `%C` asks the resolver and `%M` reads `/etc/mailname`, each only
    /// when used.
    pub fn of_this_host() -> Local {
        Local {
            lookup: Box::new(|letter| match letter {
                'U' => Ok(crate::base::user::login_name()),
                'H' => Ok(crate::base::host::hostname()),
                'C' => Ok(crate::base::host::canonical_hostname()),
                'M' => crate::base::host::mail_name(),
                _ => Err(format!("%{letter} is not a substitution")),
            }),
        }
    }
}

/// The letters [`expand`] replaces, for messages.
pub const SUBSTITUTIONS: &str =
    "%U (login name), %H (host name), %C (canonical host name), %M (/etc/mailname), %% (a %)";

/// `text` with its substitutions made; an error names a `%` that is none, or a value that
/// cannot be had.
pub fn expand(text: &str, local: &Local) -> Result<String, String> {
    let mut out = String::with_capacity(text.len() + 16);
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('%') => out.push('%'),
            Some(letter @ ('U' | 'H' | 'C' | 'M')) => {
                let value = (local.lookup)(letter).map_err(|why| format!("%{letter}: {why}"))?;
                out.push_str(&value);
            }
            Some(other) => {
                return Err(format!(
                    "%{other} is not a substitution; the substitutions are {SUBSTITUTIONS}"
                ));
            }
            None => {
                return Err(format!(
                    "a lone % at the end; the substitutions are {SUBSTITUTIONS}"
                ));
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixed() -> Local {
        Local {
            lookup: Box::new(|letter| match letter {
                'U' => Ok("www-data".into()),
                'H' => Ok("web1".into()),
                'C' => Ok("web1.example.com".into()),
                _ => Err("cannot read /etc/mailname: No such file or directory".into()),
            }),
        }
    }

    #[test]
    fn substitutes_user_and_hosts() {
        let local = fixed();
        assert_eq!(
            expand("%U@example.com", &local).unwrap(),
            "www-data@example.com"
        );
        assert_eq!(expand("%U@%H", &local).unwrap(), "www-data@web1");
        assert_eq!(
            expand("Web <%U@%C>", &local).unwrap(),
            "Web <www-data@web1.example.com>"
        );
        assert_eq!(expand("100%%@x.org", &local).unwrap(), "100%@x.org");
        assert_eq!(expand("plain@x.org", &local).unwrap(), "plain@x.org");
    }

    #[test]
    fn names_what_is_wrong() {
        let local = fixed();
        assert!(
            expand("%u@x.org", &local)
                .unwrap_err()
                .starts_with("%u is not")
        );
        assert!(expand("me@x%", &local).unwrap_err().starts_with("a lone %"));
        assert_eq!(
            expand("%U@%M", &local).unwrap_err(),
            "%M: cannot read /etc/mailname: No such file or directory"
        );
    }
}
