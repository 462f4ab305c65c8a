//! The files of a message: attachments (`-a`) and inline images (`--inline`, and the local
//! images a Markdown shows). Each is a regular file measured now and streamed while the
//! message is sent, or stdin copied to a private file first ([`Spool`]); each gets its file
//! name, its media type and, inline, its Content-ID.

use super::*;
use crate::message::spool::Spool;

/// The files found, in the order given.
#[derive(Default)]
pub(super) struct Files {
    pub(super) attachments: Vec<FileEntry>,
    pub(super) inline: Vec<FileEntry>,
}

impl Files {
    pub(super) fn is_empty(&self) -> bool {
        self.attachments.is_empty() && self.inline.is_empty()
    }

    /// An image the Markdown shows (`written` as it wrote it), when it is a local file: made
    /// an inline part (once for each file, whether the Markdown shows it twice or `--inline`
    /// gives it too), and its Content-ID returned for the HTML to show as `cid:`. `None`
    /// for a URL (`https:`, `cid:`, `data:`, …), which is left as it is.
    pub(super) fn local_image(
        &mut self,
        written: &str,
        folder: &Path,
    ) -> anyhow::Result<Option<String>> {
        let Some(path) = local_image_path(written, folder)? else {
            return Ok(None);
        };
        let media_type = guessed_type(&path.to_string_lossy());
        if !media_type.as_deref().is_some_and(is_image) {
            return Err(fail(
                Kind::Data,
                format!(
                    "the Markdown shows {written:?} as an image, but by its name it is not one \
                     ({})",
                    media_type.as_deref().unwrap_or("type unknown")
                ),
            ));
        }
        let opened = input::open_regular(&path, "Markdown image")?;
        let canonical = fs::canonicalize(&path).ok();
        if let Some(known) = self
            .inline
            .iter()
            .find(|entry| canonical.is_some() && entry.canonical == canonical)
        {
            return Ok(known.cid.clone());
        }
        let name = file_name(&path);
        let id = self.free_id(&cid::id_from_name(&name));
        self.inline.push(FileEntry {
            part: FilePart::base64(path, opened.metadata.len(), "inline image"),
            name,
            media_type: media_type.unwrap_or_default(),
            cid: Some(id.clone()),
            canonical,
        });
        Ok(Some(id))
    }

    /// `wanted`, or `stem-2.ext`, `stem-3.ext`, … when an inline part has it already.
    fn free_id(&self, wanted: &str) -> String {
        let taken = |id: &str| self.inline.iter().any(|e| e.cid.as_deref() == Some(id));
        let (stem, extension) = match wanted.rsplit_once('.') {
            Some((stem, extension)) if !stem.is_empty() => (stem, format!(".{extension}")),
            _ => (wanted, String::new()),
        };
        let mut id = wanted.to_string();
        let mut number = 1;
        while taken(&id) {
            number += 1;
            id = format!("{stem}-{number}{extension}");
        }
        id
    }
}

/// The file a Markdown image shows, when it is one: a relative path inside the Markdown
/// file's folder (tried as written, then with `%XX` decoded). An absolute path or one that
/// leaves the folder is refused (65): Markdown may come from elsewhere (a CI summary, a
/// commit message), and it must not be able to attach any file the user can read.
fn local_image_path(written: &str, folder: &Path) -> anyhow::Result<Option<PathBuf>> {
    let scheme = written
        .split_once(':')
        .is_some_and(|(scheme, _)| is_url_scheme(scheme));
    if written.is_empty() || scheme || written.starts_with('#') || written.starts_with("//") {
        return Ok(None);
    }
    let relative = Path::new(written);
    let escapes = relative.is_absolute()
        || relative
            .components()
            .any(|part| matches!(part, std::path::Component::ParentDir));
    if escapes {
        return Err(fail(
            Kind::Data,
            format!(
                "the Markdown shows the image {written:?}, which is outside its folder: only \
                 images in the Markdown file's folder or below it are attached (give others \
                 with --inline PATH and show them as cid:NAME)"
            ),
        ));
    }
    let in_folder = |relative: &Path| match folder == Path::new(".") {
        true => relative.to_path_buf(),
        false => folder.join(relative),
    };
    let path = in_folder(relative);
    if !path.exists() && written.contains('%') {
        let decoded = cid::percent_decoded(written.as_bytes());
        if !Path::new(&decoded).is_absolute() && !decoded.contains("..") {
            return Ok(Some(in_folder(Path::new(&decoded))));
        }
    }
    Ok(Some(path))
}

/// `https`, `mailto`, `data`, `cid`, …: a letter, then letters, digits, `+`, `-`, `.`.
fn is_url_scheme(text: &str) -> bool {
    let mut chars = text.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
}

/// Reads the `-a` and `--inline` files: stdin is copied (within `limit`), a directory given
/// to `-a` attaches its regular files in name order, and anything but a regular file is
/// refused at once (66).
pub(super) fn collect_files(
    specs: &[FileSpec],
    stdin: &mut dyn Read,
    limit: u64,
) -> anyhow::Result<Files> {
    let mut files = Files::default();
    for spec in specs {
        let entries = match &spec.source {
            Source::Stdin => vec![from_stdin(spec, stdin, limit)?],
            Source::Path(path) => from_path(spec, path)?,
        };
        let list = match spec.inline {
            true => &mut files.inline,
            false => &mut files.attachments,
        };
        list.extend(entries);
    }
    Ok(files)
}

/// `-a -` or `--inline -`: stdin, copied to a private file.
fn from_stdin(spec: &FileSpec, stdin: &mut dyn Read, limit: u64) -> anyhow::Result<FileEntry> {
    let role = role(spec);
    if io::stdin().is_terminal() {
        crate::say!("smtpsend: reading the {role} from the terminal; end it with Ctrl-D");
    }
    let spool = Spool::copy(stdin, limit)
        .map_err(|err| {
            fail(
                Kind::LocalIo,
                format!(
                    "cannot copy the {role} from stdin to a temporary file: {} (TMPDIR names \
                     the folder)",
                    input::plain_io(&err)
                ),
            )
        })?
        .ok_or_else(|| too_large(&format!("the {role} on stdin"), limit))?;
    let name = spec.name.clone().unwrap_or_else(|| "stdin".to_string());
    let media_type = match (&spec.media_type, guessed_type(&name)) {
        (Some(given), _) => given.to_ascii_lowercase(),
        (None, Some(guessed)) if spec.name.is_some() => guessed,
        _ if spool.is_text() => "text/plain".to_string(),
        _ => "application/octet-stream".to_string(),
    };
    Ok(FileEntry {
        part: FilePart::spooled(spool, role),
        cid: spec.inline.then(|| name.clone()),
        name,
        media_type,
        canonical: None,
    })
}

/// A file, or the regular files of a directory given to `-a`.
fn from_path(spec: &FileSpec, path: &Path) -> anyhow::Result<Vec<FileEntry>> {
    let role = role(spec);
    let opened = input::open(path).map_err(|err| input::unreadable(role, path, &err))?;
    match opened.kind {
        FileKind::Regular => Ok(vec![entry(spec, path, opened.metadata.len())]),
        FileKind::Directory if !spec.inline => {
            if spec.name.is_some() || spec.media_type.is_some() {
                return Err(fail(
                    Kind::Usage,
                    format!(
                        "{}: a directory attaches several files; --attach-name and \
                         --attach-type are for one file",
                        spec.flag()
                    ),
                ));
            }
            let mut found: Vec<PathBuf> = fs::read_dir(path)
                .map_err(|err| input::unreadable("attachment directory", path, &err))?
                .filter_map(|entry| entry.ok().map(|entry| entry.path()))
                .filter(|file| file.is_file())
                .collect();
            if found.is_empty() {
                return Err(fail(
                    Kind::NoInput,
                    format!(
                        "attachment directory {} has no regular files",
                        path.display()
                    ),
                ));
            }
            found.sort();
            let mut entries = Vec::with_capacity(found.len());
            for file in found {
                let opened = input::open_regular(&file, "attachment")?;
                entries.push(entry(spec, &file, opened.metadata.len()));
            }
            Ok(entries)
        }
        kind => Err(input::not_regular(role, path, kind)),
    }
}

/// One regular file of `size` bytes: named by `--attach-name` or its own name, typed by
/// `--attach-type` or by that name.
fn entry(spec: &FileSpec, path: &Path, size: u64) -> FileEntry {
    let name = spec.name.clone().unwrap_or_else(|| file_name(path));
    let media_type = match &spec.media_type {
        Some(given) => given.to_ascii_lowercase(),
        None => guessed_type(&name).unwrap_or_else(|| "application/octet-stream".to_string()),
    };
    FileEntry {
        part: FilePart::base64(path.to_path_buf(), size, role(spec)),
        cid: spec.inline.then(|| name.clone()),
        name,
        media_type,
        canonical: spec.inline.then(|| fs::canonicalize(path).ok()).flatten(),
    }
}

fn role(spec: &FileSpec) -> &'static str {
    match spec.inline {
        true => "inline image",
        false => "attachment",
    }
}

/// The last part of `path`, as text ("attachment" when it has none).
pub(super) fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_else(|| "attachment".to_string())
}

/// The media type a file name suggests (`chart.png`: `image/png`), if any.
pub(super) fn guessed_type(name: &str) -> Option<String> {
    mime_guess::from_path(name)
        .first()
        .map(|guess| guess.essence_str().to_string())
}

pub(super) fn is_image(media_type: &str) -> bool {
    media_type.starts_with("image/")
}

/// Checks an `--attach-name`: a file name on one line, without a `/`.
pub fn check_file_name(flag: &str, name: &str) -> anyhow::Result<()> {
    if name.trim().is_empty() || name.chars().any(|c| c.is_control() || c == '/') {
        return Err(fail(
            Kind::Usage,
            format!("{flag} --attach-name {name:?}: give a file name, on one line, without /"),
        ));
    }
    Ok(())
}

/// Checks an `--attach-type`: `type/subtype`, as RFC 2045 tokens; not a multipart or a
/// message, which RFC 2046 forbids to encode as base64 (as files are).
pub fn check_media_type(flag: &str, value: &str) -> anyhow::Result<()> {
    let token = |part: &str| {
        !part.is_empty()
            && part
                .bytes()
                .all(|b| b.is_ascii_graphic() && !b"()<>@,;:\\\"/[]?=".contains(&b))
    };
    let lower = value.to_ascii_lowercase();
    let well_formed = lower
        .split_once('/')
        .is_some_and(|(kind, subtype)| token(kind) && token(subtype));
    let why = if !well_formed {
        "give a media type such as text/plain or image/png"
    } else if lower.starts_with("multipart/") || lower.starts_with("message/") {
        "files go as base64, which RFC 2046 forbids for multipart and message types"
    } else {
        return Ok(());
    };
    Err(fail(
        Kind::Usage,
        format!("{flag} --attach-type {value:?}: {why}"),
    ))
}
