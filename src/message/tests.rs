//! Unit tests of `message`.

use super::*;
use std::fs::File;
use std::path::Path;

use crate::base::exit::Kind;
use crate::message::transfer::Encoding;

fn written(content: &Content) -> io::Result<Vec<u8>> {
    let mut out = Vec::new();
    content.write_to(&mut out).map(|()| out)
}

fn text_part(path: &Path) -> FilePart {
    let mut file = File::open(path).unwrap();
    FilePart::text(&mut file, path, "body file")
        .unwrap()
        .unwrap()
}

fn file_error(err: &io::Error) -> &FileError {
    err.get_ref().unwrap().downcast_ref::<FileError>().unwrap()
}

#[test]
fn attachments_stream_as_base64_of_the_measured_length() {
    let dir = tempfile::tempdir().unwrap();
    for size in [0usize, 1, 57, 58, 57 * 1024, 57 * 1024 + 5, 200_000] {
        let path = dir.path().join(format!("f{size}"));
        let data: Vec<u8> = (0..size).map(|i| (i * 7 % 251) as u8).collect();
        std::fs::write(&path, &data).unwrap();
        let mut content = Content::default();
        content.push_file(FilePart::attachment(path, size as u64));
        let out = written(&content).unwrap();
        assert_eq!(out.len() as u64, content.len(), "size {size}");
        assert_eq!(content.ends_with_crlf(), size > 0);
    }
}

#[test]
fn a_text_file_is_written_as_measured() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("body.txt");
    let text = "smuggle\r.\r\nMAIL FROM:<x@y>\n".repeat(5000);
    std::fs::write(&path, &text).unwrap();
    let part = text_part(&path);
    assert_eq!(part.encoding(), Encoding::QuotedPrintable);
    let mut content = Content::default();
    content.push_file(part);
    let out = written(&content).unwrap();
    assert_eq!(out.len() as u64, content.len());
    assert_eq!(
        out,
        crate::message::transfer::encode_text(text.as_bytes()).1
    );
}

/// What happens to a file between composing and sending.
type Change = fn(&Path);

#[test]
fn a_file_that_is_not_what_was_measured_fails_the_write() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("body.txt");
    let original = "line\n".repeat(40_000);
    let cases: [(&str, Change, Kind); 5] = [
        (
            "vanished",
            (|p| std::fs::remove_file(p).unwrap()),
            Kind::NoInput,
        ),
        (
            "shrank",
            (|p| std::fs::write(p, "line\n").unwrap()),
            Kind::LocalIo,
        ),
        (
            "grew",
            (|p| std::fs::write(p, "line\n".repeat(40_001)).unwrap()),
            Kind::LocalIo,
        ),
        (
            "changed, same size",
            (|p| std::fs::write(p, "LINE\n".repeat(40_000)).unwrap()),
            Kind::LocalIo,
        ),
        (
            "became 7bit-unfit",
            (|p| std::fs::write(p, "li\r.\n".repeat(40_000)).unwrap()),
            Kind::LocalIo,
        ),
    ];
    for (case, change, kind) in cases {
        std::fs::write(&path, &original).unwrap();
        let mut content = Content::default();
        content.push_file(text_part(&path));
        change(&path);
        let mut out = Vec::new();
        let err = content.write_to(&mut out).unwrap_err();
        let error = file_error(&err);
        assert_eq!(error.kind, kind, "{case}: {error}");
        assert!(error.message.contains("body.txt"), "{case}: {error}");
        assert!(
            (out.len() as u64) < content.len(),
            "{case}: the data is incomplete"
        );
    }
}

#[test]
fn contents_are_crlf_and_a_nul_makes_them_binary() {
    let content = Content::from_bytes(b"A: b\n\nbare\rcr\n".to_vec());
    assert_eq!(content.as_bytes().unwrap(), b"A: b\r\n\r\nbare\r\ncr\r\n");
    assert_eq!(content.binary(), None);
    let content = Content::from_bytes(b"A: b\r\n\r\nnul\0\n".to_vec());
    assert_eq!(content.binary(), Some(NUL_REASON));
    assert_eq!(content.as_bytes().unwrap(), b"A: b\r\n\r\nnul\0\n");
    assert!(content.without_binary().is_none());
    let long = Content::binary_from_bytes(b"A: b\r\n\r\nx\ry\n".to_vec(), "why".into());
    let text = long.without_binary().unwrap();
    assert_eq!(text.as_bytes().unwrap(), b"A: b\r\n\r\nx\r\ny\r\n");
    assert!(text.binary_as_text() && text.binary().is_none());
}
