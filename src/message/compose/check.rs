//! What the composing flags must say before anything is read: at most one input from stdin,
//! a body when stdin is a file, names, types and Content-IDs that can be written.

use super::*;

impl ComposeInput {
    /// The flags that read stdin: `-a -`, `--inline -`, `--html -`, `--markdown -`, or the
    /// body (`stdin`).
    fn stdin_readers(&self) -> Vec<String> {
        let mut readers: Vec<String> = self
            .files
            .iter()
            .filter(|spec| spec.source == Source::Stdin)
            .map(FileSpec::flag)
            .collect();
        if self.html == Some(Source::Stdin) {
            readers.push("--html -".to_string());
        }
        if self.markdown == Some(Source::Stdin) {
            readers.push("--markdown -".to_string());
        }
        if self.body == BodySource::Stdin {
            readers.push("the body".to_string());
        }
        readers
    }

    /// True when composing reads stdin.
    pub fn reads_stdin(&self) -> bool {
        !self.stdin_readers().is_empty()
    }

    /// The checks the command line alone allows (64 for each).
    pub fn check(&self) -> anyhow::Result<()> {
        let readers = self.stdin_readers();
        if let [first, second, ..] = readers.as_slice() {
            return Err(fail(
                Kind::Usage,
                format!("{first} and {second} both read stdin; only one input can come from it"),
            ));
        }
        self.check_files()?;
        let file_from_stdin = self.files.iter().find(|spec| spec.source == Source::Stdin);
        if let Some(spec) = file_from_stdin
            && self.body == BodySource::None
            && self.html.is_none()
            && self.markdown.is_none()
        {
            return Err(fail(
                Kind::Usage,
                format!(
                    "{} reads stdin, so the text cannot come from it: give it with --body, \
                     --body-file or --markdown",
                    spec.flag()
                ),
            ));
        }
        Ok(())
    }

    /// Each file's `--attach-name` and `--attach-type`; for inline images, an HTML part to
    /// show them, a Content-ID for each (one each) and an image type.
    fn check_files(&self) -> anyhow::Result<()> {
        let mut ids: Vec<String> = Vec::new();
        for spec in &self.files {
            let flag = spec.flag();
            if let Some(name) = &spec.name {
                check_file_name(&flag, name)?;
            }
            if let Some(media_type) = &spec.media_type {
                check_media_type(&flag, media_type)?;
            }
            if !spec.inline {
                continue;
            }
            if self.html.is_none() && self.markdown.is_none() {
                return Err(fail(
                    Kind::Usage,
                    format!(
                        "{flag}: an inline image is shown by the HTML: give --html or --markdown"
                    ),
                ));
            }
            let id = match (&spec.name, &spec.source) {
                (Some(name), _) => name.clone(),
                (None, Source::Path(path)) => file_name(path),
                (None, Source::Stdin) => {
                    return Err(fail(
                        Kind::Usage,
                        "--inline - needs --attach-name NAME after it: the HTML shows it as \
                         cid:NAME",
                    ));
                }
            };
            cid::check_id(&flag, &id)?;
            if ids.contains(&id) {
                return Err(fail(
                    Kind::Usage,
                    format!(
                        "{flag}: two inline images are named {id}; rename one with --attach-name"
                    ),
                ));
            }
            let media_type = spec.media_type.clone().or_else(|| guessed_type(&id));
            if !media_type.as_deref().is_some_and(is_image) {
                return Err(fail(
                    Kind::Usage,
                    format!(
                        "{flag}: an inline part must be an image, and {id:?} is not one by its \
                         name; give its type with --attach-type (image/png)"
                    ),
                ));
            }
            ids.push(id);
        }
        Ok(())
    }
}
