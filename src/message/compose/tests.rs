//! Unit tests of `compose`.

use super::*;
use proptest::prelude::*;

fn text_part(media_type: &'static str, text: &str) -> TextPart {
    TextPart {
        media_type,
        body: TextBody::from_text(text.as_bytes()),
    }
}

fn ours(part: Part) -> Vec<u8> {
    let mut content = Content::default();
    part.push_to(&mut content);
    let mut out = Vec::new();
    content.write_to(&mut out).unwrap();
    out
}

fn mail_builders(part: MimePart) -> Vec<u8> {
    let mut out = Vec::new();
    part.write_part(&mut out);
    out
}

fn text(media_type: &'static str, text: &str) -> MimePart<'static> {
    MimePart::new(media_type, BodyPart::Text(Cow::Owned(text.to_string())))
}

#[test]
fn text_parts_keep_the_bytes_mail_builder_gave_them() {
    let texts = [
        String::new(),
        "one\n".into(),
        "Grüße aus Köln\n".into(),
        "trailing space \nnext\n".into(),
        "trailing tab\t".into(),
        "x".repeat(77),
        format!("{}\r\n", "y".repeat(76)),
        "안녕하세요 세계 ".repeat(200),
        "a = b\n.\n..\n".into(),
        "no break at the end".into(),
    ];
    for body in &texts {
        let part = Part::Text(text_part("text/plain", body));
        assert_eq!(
            ours(part),
            mail_builders(text("text/plain", body)),
            "{body:?}"
        );
    }
    let alternative = Part::Multipart {
        subtype: "alternative",
        boundary: "b1".into(),
        parts: vec![
            Part::Text(text_part("text/plain", &texts[2])),
            Part::Text(text_part("text/html", "<p>Grüße</p>\n")),
        ],
    };
    let theirs = MimePart::new(
        ContentType::new("multipart/alternative").attribute("boundary", "b1"),
        vec![
            text("text/plain", &texts[2]),
            text("text/html", "<p>Grüße</p>\n"),
        ],
    );
    assert_eq!(ours(alternative), mail_builders(theirs));
}

/// A file of `bytes` as composing makes it, and as mail-builder writes the same part.
fn file_part(
    dir: &Path,
    name: &str,
    bytes: &[u8],
    cid: Option<&str>,
) -> (FileEntry, MimePart<'static>) {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    let media_type = files::guessed_type(name).unwrap();
    let disposition = if cid.is_some() {
        "inline"
    } else {
        "attachment"
    };
    let mut theirs = MimePart::new(
        ContentType::new(media_type.clone()),
        BodyPart::Binary(Cow::Owned(bytes.to_vec())),
    )
    .header(
        "Content-Disposition",
        ContentType::new(disposition).attribute("filename", name.to_string()),
    );
    if let Some(cid) = cid {
        theirs = theirs.cid(cid.to_string());
    }
    let entry = FileEntry {
        part: FilePart::base64(path, bytes.len() as u64, "attachment"),
        name: name.to_string(),
        media_type,
        cid: cid.map(str::to_string),
        canonical: None,
    };
    (entry, theirs)
}

#[test]
fn the_whole_structure_is_laid_out_as_mail_builder_lays_it_out() {
    let dir = tempfile::tempdir().unwrap();
    let image: Vec<u8> = (0..300u32).map(|i| (i * 7 % 256) as u8).collect();
    let (inline, their_inline) = file_part(dir.path(), "chart.png", &image, Some("chart.png"));
    let (attached, their_attached) = file_part(dir.path(), "stat.gz", b"\x1f\x8b\x08", None);
    let parts = Parts {
        text: Some(TextBody::from_text("# Report\n".as_bytes())),
        html: Some(TextBody::from_text(b"<img src=\"cid:chart.png\">\n")),
        inline: vec![inline],
        attachments: vec![attached],
    };
    let ours = ours(parts.tree(&mut Stamp::pinned()).unwrap());
    let boundary = |n: u32| format!("=_smtpsend_boundary_{n}");
    let mut html = text("text/html", "<img src=\"cid:chart.png\">\n");
    html = MimePart::new(
        ContentType::new("multipart/related")
            .attribute("boundary", boundary(1))
            .attribute("type", "text/html"),
        vec![
            std::mem::replace(&mut html, MimePart::raw(BodyPart::Text("".into()))),
            their_inline,
        ],
    );
    let alternative = MimePart::new(
        ContentType::new("multipart/alternative").attribute("boundary", boundary(2)),
        vec![text("text/plain", "# Report\n"), html],
    );
    let mixed = MimePart::new(
        ContentType::new("multipart/mixed").attribute("boundary", boundary(3)),
        vec![alternative, their_attached],
    );
    let theirs = mail_builders(mixed);
    assert_eq!(
        String::from_utf8_lossy(&ours),
        String::from_utf8_lossy(&theirs)
    );
}

#[test]
fn no_multipart_holds_a_single_part() {
    let dir = tempfile::tempdir().unwrap();
    let (attached, _) = file_part(dir.path(), "a.pdf", b"%PDF", None);
    let only_attachment = Parts {
        text: None,
        html: None,
        inline: Vec::new(),
        attachments: vec![attached],
    };
    assert!(matches!(
        only_attachment.tree(&mut Stamp::new()),
        Some(Part::File(_))
    ));
    let html_alone = Parts {
        text: None,
        html: Some(TextBody::from_text(b"<p>x</p>")),
        inline: Vec::new(),
        attachments: Vec::new(),
    };
    assert!(matches!(
        html_alone.tree(&mut Stamp::new()),
        Some(Part::Text(_))
    ));
    let (inline, _) = file_part(dir.path(), "c.png", b"png", Some("c.png"));
    let html_and_image = Parts {
        text: None,
        html: Some(TextBody::from_text(b"<img src=cid:c.png>")),
        inline: vec![inline],
        attachments: Vec::new(),
    };
    let tree = html_and_image.tree(&mut Stamp::new());
    assert!(matches!(
        tree,
        Some(Part::Multipart {
            subtype: "related",
            ..
        })
    ));
}

#[test]
fn a_text_part_with_control_characters_is_quoted_printable() {
    let part = Part::Text(text_part("text/plain", "a\r.\r\nMAIL FROM:<x@y>\0\n"));
    let bytes = String::from_utf8(ours(part)).unwrap();
    assert!(
        bytes.ends_with(
            "Content-Transfer-Encoding: quoted-printable\r\n\r\na=0D.\r\nMAIL FROM:<x@y>=00\r\n"
        ),
        "{bytes:?}"
    );
}

#[test]
fn too_large_names_the_limit_as_the_flag_takes_it() {
    let said = |limit| crate::base::exit::one_line(&too_large("the message on stdin", limit));
    assert_eq!(
        said(64 << 20),
        "the message on stdin is larger than 64 MiB (--max-input-size 64M); give a \
         larger --max-input-size, or send big content with --attach"
    );
    assert!(said(2 << 30).contains("2 GiB (--max-input-size 2G)"));
    assert!(said(1536).contains("1536 bytes (--max-input-size 1536)"));
    assert!(said(1000).contains("1000 bytes (--max-input-size 1000)"));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn text_without_control_characters_is_written_as_mail_builder_writes_it(
        body in "[ -~\t\n\u{e9}\u{4e16}]{0,300}",
    ) {
        let part = Part::Text(text_part("text/plain", &body));
        prop_assert_eq!(ours(part), mail_builders(text("text/plain", &body)));
    }
}
