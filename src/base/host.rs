//! This host: its name (for EHLO, Message-IDs and the default sender), its canonical name and
//! its mail name (for `%C` and `%M` in `from`).

/// This host's name, as the kernel knows it.
pub fn hostname() -> String {
    let mut buffer = [0u8; 256];
    // SAFETY: gethostname writes at most buffer.len() bytes into our buffer.
    let ok = unsafe { libc::gethostname(buffer.as_mut_ptr().cast(), buffer.len()) } == 0;
    let end = buffer.iter().position(|b| *b == 0).unwrap_or(buffer.len());
    if ok && end > 0 {
        String::from_utf8_lossy(&buffer[..end]).into_owned()
    } else {
        "localhost".to_string()
    }
}

/// This host's canonical name, as the resolver gives it for [`hostname`] (getaddrinfo with
/// AI_CANONNAME: usually its line in /etc/hosts); its plain name when the resolver knows
/// none. Asked once per run.
pub fn canonical_hostname() -> String {
    static CANONICAL: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    CANONICAL.get_or_init(resolve_canonical).clone()
}

fn resolve_canonical() -> String {
    let name = hostname();
    let Ok(c_name) = std::ffi::CString::new(name.clone()) else {
        return name;
    };
    // SAFETY: addrinfo is plain data; getaddrinfo reads the hints and the NUL-terminated
    // name and, on success, hands back a list that is read once and freed with
    // freeaddrinfo.
    unsafe {
        let mut hints: libc::addrinfo = std::mem::zeroed();
        hints.ai_flags = libc::AI_CANONNAME;
        hints.ai_family = libc::AF_UNSPEC;
        hints.ai_socktype = libc::SOCK_STREAM;
        let mut found: *mut libc::addrinfo = std::ptr::null_mut();
        if libc::getaddrinfo(c_name.as_ptr(), std::ptr::null(), &hints, &mut found) != 0
            || found.is_null()
        {
            return name;
        }
        let canonical = (*found).ai_canonname;
        let canonical = (!canonical.is_null())
            .then(|| std::ffi::CStr::from_ptr(canonical).to_str().ok())
            .flatten()
            .filter(|text| !text.is_empty())
            .map(str::to_string);
        libc::freeaddrinfo(found);
        canonical.unwrap_or(name)
    }
}

/// Debian's file naming the domain this host's mail comes from.
pub const MAILNAME: &str = "/etc/mailname";

/// The first line of [`MAILNAME`], trimmed; an error saying why when it cannot be read or
/// is empty.
pub fn mail_name() -> Result<String, String> {
    let path = std::path::Path::new(MAILNAME);
    let cannot = |why: String| format!("cannot read {MAILNAME}: {why}");
    let mut opened = crate::base::input::open_regular(path, "the mail name file")
        .map_err(|err| crate::base::exit::one_line(&err))?;
    let bytes = crate::base::input::read_to_limit(&mut opened.file, 4096)
        .map_err(|err| cannot(crate::base::input::plain_io(&err)))?
        .ok_or_else(|| cannot("it is larger than 4 KiB".to_string()))?;
    let text = String::from_utf8_lossy(&bytes);
    let first = text.lines().next().unwrap_or_default().trim().to_string();
    if first.is_empty() {
        return Err(cannot("it is empty".to_string()));
    }
    Ok(first)
}
