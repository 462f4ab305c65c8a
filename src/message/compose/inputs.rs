//! What composing reads: the text body (from --body, a file, a pipe or stdin, bounded), the HTML file, the attachments (regular files only, checked without blocking).

use super::*;

/// A file to attach, checked readable when composing and streamed when sending.
pub(super) struct Attachment {
    pub(super) path: PathBuf,
    pub(super) name: String,
    pub(super) content_type: String,
    pub(super) size: u64,
}

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
/// when stdin is a terminal and something else (an attachment, HTML) makes the message.
pub(super) fn read_body(
    given: &ComposeInput,
    stdin: &mut dyn Read,
    stdin_required: bool,
    pipe_timeout: Duration,
) -> anyhow::Result<TextBody> {
    match &given.body {
        BodySource::Text(body) => return Ok(TextBody::from_text(body.as_bytes())),
        BodySource::File(path) => return read_body_file(path, given.max_input, pipe_timeout),
        BodySource::Stdin => {}
    }
    if io::stdin().is_terminal() {
        if !stdin_required {
            return Ok(TextBody::from_text(b""));
        }
        crate::say!("smtpsend: reading the message body from the terminal; end it with Ctrl-D");
    }
    let bytes = input::read_to_limit(stdin, given.max_input)
        .context("cannot read the body from stdin")?
        .ok_or_else(|| too_large("the body on stdin", given.max_input))?;
    body_text(bytes)
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
        FileKind::Regular => text_file(&mut opened, path, "body file", limit, not_utf8_body),
        FileKind::Pipe => body_text(read_body_pipe(&mut opened.file, path, limit, timeout)?),
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
    limit: u64,
    timeout: Duration,
) -> anyhow::Result<Vec<u8>> {
    let deadline = Instant::now() + timeout;
    let late = |what: &str| {
        fail(
            Kind::NoInput,
            format!(
                "body file {} is a pipe {what} within {}s (--timeout); start the command that \
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
            &format!("body file {} (a pipe)", path.display()),
            limit,
        )),
        Err(err) if err.kind() == io::ErrorKind::TimedOut => Err(late("that did not end")),
        Err(err) => Err(input::unreadable("body file", path, &err)),
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

/// `--html`: a regular file, measured now and streamed while sending.
pub(super) fn read_html(path: &Path, limit: u64) -> anyhow::Result<TextBody> {
    let mut opened = input::open_regular(path, "HTML file")?;
    text_file(&mut opened, path, "HTML file", limit, || {
        fail(
            Kind::Data,
            format!("HTML file {} is not UTF-8 text", path.display()),
        )
    })
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
) -> anyhow::Result<TextBody> {
    let unreadable = |err: io::Error| input::unreadable(role, path, &err);
    if opened.metadata.len() > 0 {
        return FilePart::text(&mut opened.file, path, role)
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
    Ok(TextBody::from_text(&bytes))
}

/// The files `--attach` names: each file, or a directory's regular files in name order.
/// Each is opened without blocking and must be a regular file (a FIFO, a socket or a
/// device is refused at once).
pub(super) fn collect_attachments(paths: &[PathBuf]) -> anyhow::Result<Vec<Attachment>> {
    let mut attachments = Vec::new();
    for path in paths {
        let opened =
            input::open(path).map_err(|err| input::unreadable("attachment", path, &err))?;
        match opened.kind {
            FileKind::Regular => attachments.push(attachment(path, opened.metadata.len())),
            FileKind::Directory => {
                let mut files: Vec<PathBuf> = fs::read_dir(path)
                    .map_err(|err| input::unreadable("attachment directory", path, &err))?
                    .filter_map(|entry| entry.ok().map(|entry| entry.path()))
                    .filter(|file| file.is_file())
                    .collect();
                if files.is_empty() {
                    return Err(fail(
                        Kind::NoInput,
                        format!(
                            "attachment directory {} has no regular files",
                            path.display()
                        ),
                    ));
                }
                files.sort();
                for file in files {
                    let opened = input::open_regular(&file, "attachment")?;
                    attachments.push(attachment(&file, opened.metadata.len()));
                }
            }
            kind => return Err(input::not_regular("attachment", path, kind)),
        }
    }
    Ok(attachments)
}

pub(super) fn attachment(path: &Path, size: u64) -> Attachment {
    let name = path
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_else(|| "attachment".to_string());
    Attachment {
        path: path.to_path_buf(),
        content_type: mime_guess::from_path(path)
            .first_or_octet_stream()
            .essence_str()
            .to_string(),
        name,
        size,
    }
}
