//! `--oauth2-login` on the terminal: the device authorization grant (RFC 8628), which
//! prints where to sign in and the code to enter there and polls the provider as it says;
//! or, for a provider with an authorization page (Google), the authorization code grant
//! through a browser on this machine. Either keeps the refresh token; the run is bounded
//! by `--max-time` like any other.

use std::time::{Duration, Instant};

use crate::base::exit::{Kind, fail};
use crate::plan::credentials::oauth2::device::Poll;
use crate::plan::credentials::oauth2::{OAuth2, browser, minutes};

/// How much longer to wait between polls after `slow_down` (RFC 8628 §3.5).
const SLOW_DOWN: Duration = Duration::from_secs(5);

/// Signs the account in and stores its refresh token.
pub fn run(oauth: &OAuth2) -> anyhow::Result<()> {
    match &oauth.auth_url {
        Some(auth_url) => in_browser(oauth, auth_url),
        None => with_device_code(oauth),
    }
}

/// The authorization code grant: the page to open, then the redirect waited for.
fn in_browser(oauth: &OAuth2, auth_url: &str) -> anyhow::Result<()> {
    let pending = oauth.browser_start(auth_url)?;
    crate::say!(
        "smtpsend: to sign in account {} ({}), open this page in a browser on this machine:",
        oauth.account,
        oauth.provider
    );
    crate::say!("  {}", pending.url);
    crate::say!(
        "(from another machine, forward the port first: ssh -L {0}:127.0.0.1:{0} THIS-HOST)",
        pending.port()
    );
    crate::say!(
        "smtpsend: waiting for the sign-in to come back (at most {})",
        minutes(browser::WAIT)
    );
    let reply = oauth.browser_finish(&pending, browser::WAIT)?;
    let kept = oauth.finish_login(&reply)?;
    crate::say!(
        "smtpsend: signed in; account {} can send now (the refresh token was {kept})",
        oauth.account
    );
    Ok(())
}

/// The device authorization grant.
fn with_device_code(oauth: &OAuth2) -> anyhow::Result<()> {
    let started = oauth.device_start()?;
    crate::say!(
        "smtpsend: to sign in account {} ({}), open this page in a browser, on any device:",
        oauth.account,
        oauth.provider
    );
    crate::say!("  {}", started.verification_uri);
    crate::say!("and enter the code:");
    crate::say!("  {}", started.user_code);
    if let Some(complete) = &started.verification_uri_complete {
        crate::say!("(or open {complete}, which has the code filled in)");
    }
    crate::say!(
        "smtpsend: waiting for the sign-in to finish there (the code expires in {})",
        minutes(started.expires_in)
    );
    let ends = Instant::now() + started.expires_in;
    let mut interval = started.interval;
    loop {
        crate::base::interrupt::sleep(interval);
        if let Some(signal) = crate::base::interrupt::received() {
            let name = crate::base::interrupt::name(signal);
            return Err(fail(
                Kind::TempFail,
                format!("interrupted by {name}; not signed in"),
            ));
        }
        if crate::base::interrupt::expired() {
            return Err(fail(Kind::TempFail, crate::base::interrupt::expired_text()));
        }
        if Instant::now() >= ends {
            return Err(fail(
                Kind::TempFail,
                format!(
                    "the code expired before the sign-in was finished; run smtpsend \
                     --oauth2-login --account {} again",
                    oauth.account
                ),
            ));
        }
        match oauth.device_poll(&started)? {
            Poll::Pending => {}
            Poll::SlowDown => interval += SLOW_DOWN,
            Poll::Granted(reply) => {
                let kept = oauth.finish_login(&reply)?;
                crate::say!(
                    "smtpsend: signed in; account {} can send now (the refresh token was {kept})",
                    oauth.account
                );
                return Ok(());
            }
        }
    }
}
