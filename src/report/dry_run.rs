//! `--dry-run`: the envelope and the exact message that would be sent, or its JSON report.

use anyhow::Context;

use crate::message::{Content, Envelope};
use crate::report::JsonReport;

/// Shows what would be sent: with `json`, the JSON report; else the envelope and then the
/// message exactly as it would go (stdout holds those bytes).
pub fn dry_run(json: bool, envelope: &Envelope, content: &Content) -> anyhow::Result<()> {
    if json {
        JsonReport {
            status: "dry-run",
            exit_code: 0,
            envelope,
            size: content.len(),
            recipients: &[],
            reply: None,
            error: None,
            queued_as: None,
        }
        .print();
        return Ok(());
    }
    let international = crate::smtp::utf8::is_international(envelope, content);
    let smtputf8 = if international { " SMTPUTF8" } else { "" };
    let mut out = format!("MAIL FROM:<{}>{smtputf8}\n", envelope.from);
    for recipient in &envelope.recipients {
        out.push_str(&format!("RCPT TO:<{recipient}>\n"));
    }
    out.push('\n');
    if international {
        crate::say!("smtpsend: {}", smtputf8_note(envelope, content));
    }
    crate::base::output::print_stdout(&out);
    let written = crate::base::output::write_message(|stdout| content.write_to(stdout))
        .context("cannot write the message to stdout")?;
    let Some(to_terminal) = written else {
        return Ok(());
    };
    // stdout holds the exact bytes; a missing final line break is said on stderr (which
    // also ends the line on a terminal, so the prompt does not stick to the text).
    if !content.ends_with_crlf() {
        if to_terminal {
            crate::say!("");
        }
        crate::say!(
            "smtpsend: (the message does not end with a line break; sending adds CRLF \
             before the end mark)"
        );
    }
    Ok(())
}

/// What a dry run says about a message that is not ASCII: it goes as shown to a server
/// that offers SMTPUTF8, and what happens at one that does not.
fn smtputf8_note(envelope: &Envelope, content: &Content) -> String {
    let head = "the addresses or header fields are not ASCII: sent as shown (UTF-8, SMTPUTF8) \
                to a server that offers SMTPUTF8";
    match crate::smtp::utf8::adapt(false, envelope, content) {
        Ok((std::borrow::Cow::Borrowed(_), std::borrow::Cow::Borrowed(_))) => format!(
            "{head}; to one that does not, unchanged without SMTPUTF8 (no address has a \
             non-ASCII domain)"
        ),
        Ok((ascii, _)) => {
            let mut addresses = vec![format!("MAIL FROM:<{}>", ascii.from)];
            addresses.extend(ascii.recipients.iter().map(|to| format!("RCPT TO:<{to}>")));
            format!(
                "{head}; to one that does not, with domains as A-labels (in the address \
                 header fields too): {}",
                addresses.join(", ")
            )
        }
        Err(err) => format!(
            "{head}; a server without it refuses: {}",
            crate::base::exit::one_line(&err)
        ),
    }
}
