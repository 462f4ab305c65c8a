//! Unit tests of `compose`.

use super::*;
use proptest::prelude::*;

fn text_part(media_type: &'static str, text: &str) -> TextPart {
    TextPart {
        media_type,
        body: TextBody::from_text(text.as_bytes()),
    }
}

fn ours(part: MainPart) -> Vec<u8> {
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
        let part = MainPart::Single(text_part("text/plain", body));
        assert_eq!(
            ours(part),
            mail_builders(text("text/plain", body)),
            "{body:?}"
        );
    }
    let alternative = MainPart::Alternative {
        text: text_part("text/plain", &texts[2]),
        html: text_part("text/html", "<p>Grüße</p>\n"),
        boundary: "b1".into(),
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

#[test]
fn a_text_part_with_control_characters_is_quoted_printable() {
    let part = MainPart::Single(text_part("text/plain", "a\r.\r\nMAIL FROM:<x@y>\0\n"));
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
        let part = MainPart::Single(text_part("text/plain", &body));
        prop_assert_eq!(ours(part), mail_builders(text("text/plain", &body)));
    }
}
