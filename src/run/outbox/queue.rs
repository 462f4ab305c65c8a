//! The open outbox ([`Queue`]): adding an entry, listing and claiming entries under their
//! locks, the flush lock, leftovers of killed processes, dropping; and a [`Claim`], an
//! entry this process holds: its meta and verified message, an attempt recorded, removal.

use super::*;

/// The outbox directory, open and checked (see [`Outbox::open`]).
pub struct Queue {
    pub(super) dir: Arc<PrivateDir>,
}

impl Queue {
    pub fn dir(&self) -> &Path {
        &self.dir.path
    }

    /// Writes a message and its meta (`meta.size` and `meta.sha256` are set here) and
    /// returns the new entry, still locked by this process.
    /// An entry the outbox would refuse to read back is not written (65).
    pub fn add(&self, meta: &Meta, content: &Content) -> anyhow::Result<Claim> {
        if let Some(why) = meta.fields_problem() {
            return Err(fail(
                Kind::Data,
                format!("the outbox does not keep this message: {why}"),
            ));
        }
        let (id, file) = self.new_message_file()?;
        let claim = Claim {
            dir: Arc::clone(&self.dir),
            id,
            file,
        };
        let names = names_of(&claim.id);
        let written = (|| -> io::Result<(u64, String)> {
            let mut out = Hashing::new(BufWriter::new(&claim.file));
            content.write_to(&mut out)?;
            out.flush()?;
            let (size, sha256) = out.finish();
            claim.file.sync_all()?;
            let on_disk = claim.file.metadata()?.len();
            if on_disk != size {
                return Err(io::Error::other(format!(
                    "{size} bytes written, but the file holds {on_disk}"
                )));
            }
            self.dir.rename(&names[2], &names[0])?;
            self.dir.sync()?;
            Ok((size, sha256))
        })();
        let committed = written.and_then(|(size, sha256)| {
            let mut meta = meta.clone();
            meta.format = FORMAT;
            meta.size = size;
            meta.sha256 = Some(sha256);
            claim.write_meta(&meta)
        });
        if let Err(err) = committed {
            for name in [&names[2], &names[0], &names[3]] {
                let _ = self.dir.unlink(name);
            }
            return Err(self.io_error("cannot write to the outbox", &err));
        }
        Ok(claim)
    }

    /// Every entry, oldest first, with its meta read and checked.
    pub fn entries(&self) -> anyhow::Result<Vec<Listed>> {
        let mut ids: Vec<String> = self
            .file_names()?
            .iter()
            .filter_map(|name| match parse_name(name) {
                Some((id, Role::Meta)) => Some(id.to_string()),
                _ => None,
            })
            .collect();
        ids.sort();
        let mut entries: Vec<Listed> = ids
            .into_iter()
            .map(|id| {
                let meta = read_meta(&self.dir, &id);
                (id, meta)
            })
            .filter(|(_, meta)| !is_gone(meta))
            .collect();
        entries.sort_by_key(|(id, meta)| (meta.as_ref().map_or(0, |m| m.created), id.clone()));
        Ok(entries)
    }

    /// What is in the directory but is none of the outbox's files: other names, and
    /// things under its names that it never makes (a symbolic link, a FIFO, a directory)
    /// and that belong to no entry. Left alone, and listed so that the user sees them.
    pub fn foreign_names(&self) -> anyhow::Result<Vec<String>> {
        let names = self.file_names()?;
        let mut foreign: Vec<String> = names
            .iter()
            .filter(|name| match parse_name(name) {
                None => *name != FLUSH_LOCK,
                Some((id, _)) => {
                    !names.contains(&format!("{id}.json")) && !self.dir.is_regular(name)
                }
            })
            .cloned()
            .collect();
        foreign.sort();
        Ok(foreign)
    }

    /// Checks that `ID.eml` is what `meta` says was written (see [`Claim::content`]),
    /// without sending or locking it; `Ok(false)` when the entry was removed meanwhile.
    pub fn verify(&self, id: &str, meta: &Meta) -> anyhow::Result<bool> {
        let name = format!("{id}.eml");
        match open_entry_file(&self.dir, &name)? {
            Some(file) => verify_message(&self.dir, id, &file, meta).map(|_| true),
            None if self.dir.exists(&format!("{id}.json")) => Err(missing_message(id)),
            None => Ok(false),
        }
    }

    /// Locks the entry `id` for this process, if it exists and nobody else holds it. An
    /// entry whose `ID.eml` is missing, a symbolic link or not a regular file is damaged.
    pub fn claim(&self, id: &str) -> anyhow::Result<Claimed> {
        if !valid_id(id) {
            return Ok(Claimed::Gone);
        }
        let json = format!("{id}.json");
        let Some(file) = open_entry_file(&self.dir, &format!("{id}.eml"))? else {
            if self.dir.exists(&json) {
                return Err(missing_message(id));
            }
            return Ok(Claimed::Gone);
        };
        if !try_lock(&file).map_err(|err| self.io_error("cannot lock a queued message", &err))? {
            return Ok(Claimed::Busy);
        }
        if !self.dir.exists(&json) {
            return Ok(Claimed::Gone);
        }
        Ok(Claimed::Mine(Claim {
            dir: Arc::clone(&self.dir),
            id: id.to_string(),
            file,
        }))
    }

    /// Removes every file of the entry `id`, whatever state it is in (meta unreadable or
    /// damaged, message missing or a symbolic link, only temporary files), unless another
    /// process holds its lock. Symbolic links are removed themselves, never followed.
    pub fn drop_entry(&self, id: &str) -> anyhow::Result<Dropped> {
        if !valid_id(id) {
            return Ok(Dropped::Gone);
        }
        let names = names_of(id);
        let present: Vec<&String> = names.iter().filter(|name| self.dir.exists(name)).collect();
        if present.is_empty() {
            return Ok(Dropped::Gone);
        }
        let Some(locks) = self
            .lock_id(id)
            .map_err(|err| self.io_error("cannot lock a queued message", &err))?
        else {
            return Ok(Dropped::Busy);
        };
        let meta = read_meta(&self.dir, id);
        // The meta file first: from then on there is no entry, whatever else fails.
        let removed = (|| -> io::Result<Vec<String>> {
            let mut files = Vec::new();
            for name in [&names[1], &names[0], &names[2], &names[3]] {
                if self.dir.exists(name) {
                    self.dir.remove_if_present(name)?;
                    files.push(name.clone());
                }
                self.dir.sync()?;
            }
            Ok(files)
        })();
        drop(locks);
        match removed {
            Ok(files) => Ok(Dropped::Removed {
                meta: Box::new(meta),
                files,
            }),
            Err(err) => Err(fail(
                Kind::LocalIo,
                format!(
                    "cannot remove {id} from the outbox {}: {}",
                    self.dir.path.display(),
                    plain_io(&err)
                ),
            )),
        }
    }

    /// Takes the flush lock, or fails (75) when another flush holds it.
    pub fn lock_flush(&self) -> anyhow::Result<FlushLock> {
        let file = self
            .dir
            .open(FLUSH_LOCK, libc::O_RDWR | libc::O_CREAT, 0o600)
            .map_err(|err| self.io_error("cannot open the flush lock in", &err))?;
        if !try_lock(&file).map_err(|err| self.io_error("cannot lock the outbox", &err))? {
            return Err(fail(
                Kind::TempFail,
                format!(
                    "another flush of the outbox is running (it holds {})",
                    self.dir.path_of(FLUSH_LOCK).display()
                ),
            ));
        }
        Ok(FlushLock { _file: file })
    }

    /// Removes what an interrupted write or removal left behind (a killed process):
    /// temporary files, and an `ID.eml` whose `ID.json` is missing, when they are regular
    /// files with the outbox's names and no process holds the id's lock (a process writing
    /// or updating an entry holds it the whole time). The lock is held while they are
    /// removed, so a writer that locks its new file a moment after creating it finds it
    /// unlinked and starts again, never writes into a removed file. Nothing else is ever
    /// removed.
    pub fn remove_leftovers(&self) {
        let Ok(names) = self.file_names() else { return };
        let leftover = |name: &String| match parse_name(name) {
            Some((_, Role::MessageTemporary | Role::MetaTemporary)) => true,
            Some((id, Role::Message)) => !names.contains(&format!("{id}.json")),
            _ => false,
        };
        let mut ids: Vec<&str> = names
            .iter()
            .filter(|name| leftover(name))
            .filter_map(|name| parse_name(name).map(|(id, _)| id))
            .collect();
        ids.sort_unstable();
        ids.dedup();
        for id in ids {
            let Ok(Some(_locks)) = self.lock_id(id) else {
                continue;
            };
            let [eml, json, eml_tmp, json_tmp] = names_of(id);
            // Under the lock, an `ID.eml` is a leftover only if its meta is still missing.
            let orphan = !self.dir.exists(&json);
            for name in [eml_tmp, json_tmp].into_iter().chain(orphan.then_some(eml)) {
                if self.dir.is_regular(&name) {
                    let _ = self.dir.unlink(&name);
                }
            }
        }
        let _ = self.dir.sync();
    }

    /// Locks the id for this process: its `ID.eml` and `ID.eml.tmp`, those that are
    /// regular files (a process writing or sending the entry holds one of them). `None`
    /// when another process holds one; the locks last as long as the files returned.
    pub(super) fn lock_id(&self, id: &str) -> io::Result<Option<Vec<File>>> {
        let mut locks = Vec::new();
        for name in [format!("{id}.eml"), format!("{id}.eml.tmp")] {
            if let Ok(Some(file)) = open_entry_file(&self.dir, &name) {
                if !try_lock(&file)? {
                    return Ok(None);
                }
                locks.push(file);
            }
        }
        Ok(Some(locks))
    }

    /// A new `ID.eml.tmp`, created (0600) and locked, with an id nobody uses.
    pub(super) fn new_message_file(&self) -> anyhow::Result<(String, File)> {
        for _ in 0..100 {
            let id = new_id();
            let names = names_of(&id);
            if names.iter().any(|name| self.dir.exists(name)) {
                continue;
            }
            let flags = libc::O_RDWR | libc::O_CREAT | libc::O_EXCL;
            match self.dir.open(&names[2], flags, 0o600) {
                Ok(file) => {
                    let locked = try_lock(&file)
                        .map_err(|err| self.io_error("cannot lock a queued message", &err))?;
                    // Between its creation and the lock, a flush may have taken the file
                    // for a leftover (it removes leftovers holding their lock): then it is
                    // gone or going, and another id is used.
                    let linked = file.metadata().is_ok_and(|m| m.nlink() > 0);
                    if locked && linked {
                        return Ok((id, file));
                    }
                }
                Err(err) if err.kind() == io::ErrorKind::AlreadyExists => continue,
                Err(err) => return Err(self.io_error("cannot write to the outbox", &err)),
            }
        }
        Err(fail(
            Kind::LocalIo,
            format!(
                "cannot find a free name in the outbox {}",
                self.dir.path.display()
            ),
        ))
    }

    pub(super) fn file_names(&self) -> anyhow::Result<Vec<String>> {
        self.dir
            .names()
            .map_err(|err| self.io_error("cannot read the outbox", &err))
    }

    pub(super) fn io_error(&self, what: &str, err: &io::Error) -> anyhow::Error {
        fail(
            Kind::LocalIo,
            format!("{what} {}: {}", self.dir.path.display(), plain_io(err)),
        )
    }
}

/// Held while a flush runs.
pub struct FlushLock {
    _file: File,
}

/// An entry locked by this process: read it, record an attempt, remove it.
pub struct Claim {
    dir: Arc<PrivateDir>,
    id: String,
    /// `ID.eml` (or its temporary name while being written), flock held.
    file: File,
}

impl Claim {
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The meta file as it is now, checked (see [`Meta::problem`]).
    pub fn meta(&self) -> anyhow::Result<Meta> {
        read_meta(&self.dir, &self.id)
    }

    /// The message bytes, after checking that they are what was queued: the size, and the
    /// SHA-256 when the meta has one. Anything else is a damaged entry (65).
    pub fn content(&self, meta: &Meta) -> anyhow::Result<Content> {
        verify_message(&self.dir, &self.id, &self.file, meta).map(Content::queued)
    }

    /// Replaces the meta file atomically.
    pub fn update(&self, meta: &Meta) -> anyhow::Result<()> {
        self.write_meta(meta).map_err(|err| {
            fail(
                Kind::LocalIo,
                format!(
                    "cannot update {}: {}",
                    self.dir.path_of(&format!("{}.json", self.id)).display(),
                    plain_io(&err)
                ),
            )
        })
    }

    /// Removes the entry: the meta file first, so a crash half-way leaves no entry.
    pub fn remove(self) -> anyhow::Result<()> {
        let [eml, json, ..] = names_of(&self.id);
        let result = self
            .dir
            .remove_if_present(&json)
            .and_then(|()| self.dir.sync())
            .and_then(|()| self.dir.remove_if_present(&eml))
            .and_then(|()| self.dir.sync());
        result.map_err(|err| {
            fail(
                Kind::LocalIo,
                format!(
                    "cannot remove {} from the outbox {}: {}",
                    self.id,
                    self.dir.path.display(),
                    plain_io(&err)
                ),
            )
        })
    }

    pub(super) fn write_meta(&self, meta: &Meta) -> io::Result<()> {
        let text = serde_json::to_vec_pretty(meta).map_err(io::Error::other)?;
        // The last error may quote a server that echoed the login: no secret goes to disk.
        let text = crate::base::secret::scrub_bytes(&text);
        let [_, json, _, temporary] = names_of(&self.id);
        let mut bytes = text.into_owned();
        bytes.push(b'\n');
        // A fresh file each time: whatever had the temporary name (a leftover) is not reused.
        self.dir.write_atomically(&json, &temporary, &bytes)
    }
}
