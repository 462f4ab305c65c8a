//! Writing a message's data: the commands before it, the wire encoder, the progress bar, QUIT or the next message's commands behind it, all through one buffer; and what a failed write means.

use super::*;

/// Buffer for the message data: small messages, the end mark and QUIT leave in one write.
pub(super) const DATA_BUFFER: usize = 64 * 1024;

/// Streams `head` (commands or the BDAT line), the data and the trailer (QUIT, or the next
/// message's commands) through one buffer, the data through the [`WireEncoder`]: for DATA
/// normalised, dot-stuffed and ended by the end mark, for BDAT (`chunked`) as counted.
/// When the data cannot be written whole (a file of the message changed, the connection
/// failed), what is still buffered is dropped and the session is marked broken, so the
/// connection is closed without the end of the data (and without QUIT inside it): the
/// server discards the transaction.
pub(super) fn write_message(
    session: &mut Session,
    head: &[u8],
    content: &Content,
    chunked: bool,
    trailer: &[u8],
) -> anyhow::Result<()> {
    let conn = &mut session.conn;
    let write_timeout = conn.write_timeout;
    let shows_data = conn.transcript.shows_data();
    conn.transcript.sent(head);
    let mut transcript = std::mem::replace(
        &mut conn.transcript,
        crate::smtp::transcript::Transcript::silent(),
    );
    let progress = session.options.progress.map(|bar| bar(content.len()));
    let size = chunk_size(content);
    let mut lines = 0;
    let result = conn.writer().and_then(|stream| {
        let mut writer = BufWriter::with_capacity(DATA_BUFFER, FailFast::new(stream));
        let echo = shows_data.then_some(&mut transcript);
        let written = writer.write_all(head).and_then(|()| {
            let mut encoder = match chunked {
                true => WireEncoder::chunk(&mut writer, size, content.binary().is_some(), echo),
                false => WireEncoder::data(&mut writer, echo),
            };
            let sent =
                write_content(content, &mut encoder, progress).and_then(|()| match chunked {
                    true => encoder.finish_chunk(pads_crlf(content)),
                    false => encoder.finish(),
                });
            lines = encoder.lines;
            sent
        });
        let flushed = written
            .and_then(|()| writer.write_all(trailer))
            .and_then(|()| writer.flush());
        if flushed.is_err() {
            // Not a byte more: the data must not look complete to the server.
            let _ = writer.into_parts();
        }
        flushed.map_err(|err| data_error(&err, write_timeout))
    });
    conn.transcript = transcript;
    if result.is_err() {
        session.broken = true;
    }
    result?;
    let conn = &mut session.conn;
    // The commands around the data each owe a reply, and so does DATA's end mark.
    conn.owe(
        crate::smtp::connection::command_lines(head)
            + crate::smtp::connection::command_lines(trailer)
            + usize::from(!chunked),
    );
    if !shows_data {
        conn.transcript
            .sent_data_summary(if chunked { size } else { content.len() }, lines);
    }
    if !chunked {
        conn.transcript.sent(b".\r\n");
    }
    conn.transcript.sent(trailer);
    Ok(())
}

/// The content through the encoder, telling the progress bar, when there is one.
pub(super) fn write_content(
    content: &Content,
    encoder: &mut dyn Write,
    progress: Option<Box<dyn crate::smtp::Progress>>,
) -> std::io::Result<()> {
    let Some(mut progress) = progress else {
        return content.write_to(encoder);
    };
    let written = content.write_to(&mut Counted {
        inner: encoder,
        progress: progress.as_mut(),
    });
    progress.finish();
    written
}

/// A writer that tells a [`crate::smtp::Progress`] how much went through it.
pub(super) struct Counted<'a> {
    inner: &'a mut dyn Write,
    progress: &'a mut dyn crate::smtp::Progress,
}

impl Write for Counted<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let written = self.inner.write(buf)?;
        self.progress.advance(written as u64);
        Ok(written)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// A failure while writing the data: a file of the message (66 when it vanished, else 74),
/// data that broke the wire's rule (internal, 70), or the connection (temporary).
pub(super) fn data_error(err: &std::io::Error, timeout: std::time::Duration) -> anyhow::Error {
    let abandoned = "the transaction was abandoned before the end of the data";
    if let Some(inner) = err.get_ref() {
        if let Some(file) = inner.downcast_ref::<FileError>() {
            return fail(file.kind, format!("{file}; {abandoned}"));
        }
        if let Some(wire) = inner.downcast_ref::<WireError>() {
            return fail(Kind::Software, format!("{wire}; {abandoned}"));
        }
    }
    let kind = crate::base::exit::io_kind(err);
    let text = if matches!(
        err.kind(),
        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
    ) {
        format!(
            "timed out after {}s writing the message data to the server (it stopped reading)",
            timeout.as_secs_f64()
        )
    } else if kind == Kind::TempFail {
        format!(
            "connection lost while sending the message data: {}",
            crate::base::input::plain_io(err)
        )
    } else {
        format!(
            "cannot send the message: {}",
            crate::base::input::plain_io(err)
        )
    };
    fail(kind, text)
}
