//! What composing reads: the text body (from --body, a file, a pipe or stdin, bounded), the
//! HTML (a file, streamed, or stdin) and the Markdown, each HTML with the `cid:` references
//! found in it.

use super::*;

/// The body of a text part: encoded in memory (`--body`, stdin, a piped `--body-file`), or
/// a file measured now and encoded while it is sent (`--body-file`, `--html`).
pub(super) enum TextBody {
    Memory { encoding: Encoding, bytes: Vec<u8> },
    File(FilePart),
}

impl TextBody {
    pub(super) fn from_text(text: &[u8]) -> TextBody {
        let (measured, bytes) = encode_text(text);
        TextBody::Memory {
            encoding: measured.encoding,
            bytes,
        }
    }

    pub(super) fn encoding(&self) -> Encoding {
        match self {
            TextBody::Memory { encoding, .. } => *encoding,
            TextBody::File(part) => part.encoding(),
        }
    }

    pub(super) fn is_empty(&self) -> bool {
        match self {
            TextBody::Memory { bytes, .. } => bytes.is_empty(),
            TextBody::File(part) => part.size() == 0,
        }
    }
}

/// The text body: `--body`, `--body-file` or stdin (bounded by `--max-input-size`); empty
/// when stdin is a terminal and something else (an attachment, HTML) makes the message;
/// none when stdin went to another input.
pub(super) fn read_body(
    given: &ComposeInput,
    stdin: &mut dyn Read,
    stdin_required: bool,
    pipe_timeout: Duration,
) -> anyhow::Result<Option<TextBody>> {
    match &given.body {
        BodySource::Text(body) => return Ok(Some(TextBody::from_text(body.as_bytes()))),
        BodySource::File(path) => {
            return read_body_file(path, given.max_input, pipe_timeout).map(Some);
        }
        BodySource::None => return Ok(None),
        BodySource::Stdin => {}
    }
    if io::stdin().is_terminal() {
        if !stdin_required {
            return Ok(Some(TextBody::from_text(b"")));
        }
        crate::say!("smtpsend: reading the message body from the terminal; end it with Ctrl-D");
    }
    let bytes = input::read_to_limit(stdin, given.max_input)
        .context("cannot read the body from stdin")?
        .ok_or_else(|| too_large("the body on stdin", given.max_input))?;
    if bytes.is_empty() && stdin_required {
        crate::say!("smtpsend: note: the message body is empty (stdin had nothing to read)");
    }
    body_text(bytes).map(Some)
}

/// `--body-file`: a regular file is measured now and streamed while sending; a pipe
/// (`--body-file <(command)`) is read into memory, within `--max-input-size` and the
/// `--timeout` deadline; anything else (a device, a socket) is refused at once.
pub(super) fn read_body_file(
    path: &Path,
    limit: u64,
    timeout: Duration,
) -> anyhow::Result<TextBody> {
    let mut opened = input::open(path).map_err(|err| input::unreadable("body file", path, &err))?;
    match opened.kind {
        FileKind::Regular => text_file(
            &mut opened,
            path,
            "body file",
            limit,
            not_utf8_body,
            &mut |_| {},
        ),
        FileKind::Pipe => body_text(read_body_pipe(
            &mut opened.file,
            path,
            "body file",
            limit,
            timeout,
        )?),
        FileKind::Directory => Err(input::unreadable(
            "body file",
            path,
            &io::Error::from_raw_os_error(libc::EISDIR),
        )),
        kind => Err(input::not_regular("body file", path, kind)),
    }
}

/// A body file that is a pipe, read whole. A FIFO that no process has opened for writing
/// reads as empty at once, so first comes a wait for data or for its writer to close it;
/// the wait and the read together must end within `timeout`.
pub(super) fn read_body_pipe(
    file: &mut File,
    path: &Path,
    role: &str,
    limit: u64,
    timeout: Duration,
) -> anyhow::Result<Vec<u8>> {
    let deadline = Instant::now() + timeout;
    let late = |what: &str| {
        fail(
            Kind::NoInput,
            format!(
                "{role} {} is a pipe {what} within {}s (--timeout); start the command that \
                 writes it first, or give a longer --timeout",
                path.display(),
                timeout.as_secs_f64()
            ),
        )
    };
    if !wait_for_input(file, deadline) {
        return Err(late("that nothing wrote to"));
    }
    match input::read_pipe(file, limit, deadline) {
        Ok(Some(bytes)) => Ok(bytes),
        Ok(None) => Err(too_large(
            &format!("{role} {} (a pipe)", path.display()),
            limit,
        )),
        Err(err) if err.kind() == io::ErrorKind::TimedOut => Err(late("that did not end")),
        Err(err) => Err(input::unreadable(role, path, &err)),
    }
}

/// Waits until the pipe has data or a writer closed it; false when `deadline` passes first.
pub(super) fn wait_for_input(file: &File, deadline: Instant) -> bool {
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return false;
        }
        let mut poll = libc::pollfd {
            fd: file.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        let millis = left.as_millis().clamp(1, i32::MAX as u128) as i32;
        // SAFETY: poll(2) on one pollfd for a descriptor this File owns, for at most `millis`.
        let ready = unsafe { libc::poll(&mut poll, 1, millis) };
        if ready > 0
            || (ready < 0 && io::Error::last_os_error().kind() != io::ErrorKind::Interrupted)
        {
            // Data, a hang-up, or an error that reading will report.
            return true;
        }
    }
}

/// Body text held in memory, which must be UTF-8.
pub(super) fn body_text(bytes: Vec<u8>) -> anyhow::Result<TextBody> {
    if std::str::from_utf8(&bytes).is_err() {
        return Err(not_utf8_body());
    }
    Ok(TextBody::from_text(&bytes))
}

pub(super) fn not_utf8_body() -> anyhow::Error {
    fail(
        Kind::Data,
        "the body is not UTF-8 text; send it with --attach instead",
    )
}

/// `--html`: a regular file, measured now and streamed while sending, or stdin (in memory,
/// bounded); with the `cid:` references it makes.
pub(super) fn read_html(
    source: &Source,
    stdin: &mut dyn Read,
    limit: u64,
) -> anyhow::Result<(TextBody, BTreeSet<String>)> {
    let mut scanner = cid::Scanner::default();
    let body = match source {
        Source::Stdin => {
            let bytes = read_stdin(stdin, "the HTML", limit)?;
            if std::str::from_utf8(&bytes).is_err() {
                return Err(fail(Kind::Data, "the HTML on stdin is not UTF-8 text"));
            }
            scanner.feed(&bytes);
            TextBody::from_text(&bytes)
        }
        Source::Path(path) => {
            let mut opened = open_html(path)?;
            let not_utf8 = || {
                fail(
                    Kind::Data,
                    format!("HTML file {} is not UTF-8 text", path.display()),
                )
            };
            let mut see = |piece: &[u8]| scanner.feed(piece);
            text_file(&mut opened, path, "HTML file", limit, not_utf8, &mut see)?
        }
    };
    Ok((body, scanner.finish()))
}

/// The `--html` file; a value that is no file and looks like markup gets a hint.
fn open_html(path: &Path) -> anyhow::Result<input::Opened> {
    let opened = match input::open(path) {
        Ok(opened) => opened,
        Err(err) => {
            let given = path.to_string_lossy();
            let markup = given.contains('\n') || (given.contains('<') && given.contains('>'));
            if !markup {
                return Err(input::unreadable("HTML file", path, &err));
            }
            return Err(fail(
                Kind::Usage,
                format!(
                    "--html takes a file, or - for stdin, and {given:?} looks like HTML itself: \
                     pipe it in (echo '<p>hi</p>' | smtpsend --html - …)"
                ),
            ));
        }
    };
    if opened.kind != FileKind::Regular {
        return Err(input::not_regular("HTML file", path, opened.kind));
    }
    Ok(opened)
}

/// All of stdin, within `limit`, for `what` ("the HTML", "the Markdown"); a note first when
/// stdin is a terminal.
pub(super) fn read_stdin(stdin: &mut dyn Read, what: &str, limit: u64) -> anyhow::Result<Vec<u8>> {
    if io::stdin().is_terminal() {
        crate::say!("smtpsend: reading {what} from the terminal; end it with Ctrl-D");
    }
    input::read_to_limit(stdin, limit)
        .with_context(|| format!("cannot read {what} from stdin"))?
        .ok_or_else(|| too_large(&format!("{what} on stdin"), limit))
}

/// What `--markdown` makes: the HTML part, the `cid:` references in it, and the text part
/// (the Markdown itself).
pub(super) struct MarkdownRead {
    pub(super) html: TextBody,
    pub(super) references: BTreeSet<String>,
    pub(super) text: TextBody,
}

/// `--markdown`: a file (a pipe too, as `--body-file`) or stdin, read whole within the
/// input bound and rendered; the local images it shows become inline parts in `files`
/// (paths relative to the Markdown file's folder; for stdin or a pipe, the current one).
pub(super) fn read_markdown(
    given: &ComposeInput,
    source: &Source,
    stdin: &mut dyn Read,
    pipe_timeout: Duration,
    files: &mut Files,
) -> anyhow::Result<MarkdownRead> {
    let limit = given.max_input;
    let (bytes, folder) = match source {
        Source::Stdin => (
            read_stdin(stdin, "the Markdown", limit)?,
            PathBuf::from("."),
        ),
        Source::Path(path) => read_markdown_file(path, limit, pipe_timeout)?,
    };
    let Ok(markdown) = std::str::from_utf8(&bytes) else {
        return Err(fail(Kind::Data, "the Markdown is not UTF-8 text"));
    };
    let html = markdown::render(markdown, given.markdown_allow_html, &mut |written| {
        files.local_image(written, &folder)
    })?;
    let references = cid::references(html.as_bytes());
    Ok(MarkdownRead {
        html: TextBody::from_text(html.as_bytes()),
        references,
        text: TextBody::from_text(&bytes),
    })
}

/// The Markdown file's bytes and the folder its image paths are relative to.
fn read_markdown_file(
    path: &Path,
    limit: u64,
    timeout: Duration,
) -> anyhow::Result<(Vec<u8>, PathBuf)> {
    let mut opened =
        input::open(path).map_err(|err| input::unreadable("Markdown file", path, &err))?;
    let role = "Markdown file";
    match opened.kind {
        FileKind::Regular => {
            let bytes = input::read_to_limit(&mut opened.file, limit)
                .map_err(|err| input::unreadable(role, path, &err))?
                .ok_or_else(|| too_large(&format!("{role} {}", path.display()), limit))?;
            let folder = match path.parent() {
                Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
                _ => PathBuf::from("."),
            };
            Ok((bytes, folder))
        }
        FileKind::Pipe => Ok((
            read_body_pipe(&mut opened.file, path, role, limit, timeout)?,
            PathBuf::from("."),
        )),
        kind => Err(input::not_regular(role, path, kind)),
    }
}

/// A regular text file, measured now and streamed while sending. A file that says it is
/// empty may not be (`/proc/mdstat`, sysfs), and such a file can read differently the
/// second time: it is read into memory now, within `limit`.
pub(super) fn text_file(
    opened: &mut input::Opened,
    path: &Path,
    role: &'static str,
    limit: u64,
    not_utf8: impl FnOnce() -> anyhow::Error,
    see: &mut dyn FnMut(&[u8]),
) -> anyhow::Result<TextBody> {
    let unreadable = |err: io::Error| input::unreadable(role, path, &err);
    if opened.metadata.len() > 0 {
        return FilePart::text_seen(&mut opened.file, path, role, see)
            .map_err(unreadable)?
            .map(TextBody::File)
            .ok_or_else(not_utf8);
    }
    let bytes = input::read_to_limit(&mut opened.file, limit)
        .map_err(unreadable)?
        .ok_or_else(|| too_large(&format!("{role} {}", path.display()), limit))?;
    if std::str::from_utf8(&bytes).is_err() {
        return Err(not_utf8());
    }
    see(&bytes);
    Ok(TextBody::from_text(&bytes))
}
