//! Unit tests of `transfer`.

use super::*;
use proptest::prelude::*;

/// Encodes `input` split at `cuts`, as a file is read in pieces.
fn in_pieces(encoding: Encoding, input: &[u8], cuts: &[usize]) -> Result<Vec<u8>, Unfit> {
    let mut encoder = Encoder::new(encoding);
    let mut out = Vec::new();
    let mut start = 0;
    for &cut in cuts {
        let cut = cut.clamp(start, input.len());
        encoder.feed(&input[start..cut], &mut out)?;
        start = cut;
    }
    encoder.feed(&input[start..], &mut out)?;
    encoder.finish(&mut out)?;
    Ok(out)
}

fn measured(input: &[u8], cuts: &[usize]) -> Measured {
    let mut measure = Measure::default();
    let mut start = 0;
    for &cut in cuts {
        let cut = cut.clamp(start, input.len());
        measure.feed(&input[start..cut]);
        start = cut;
    }
    measure.feed(&input[start..]);
    measure.finish()
}

#[test]
fn what_7bit_can_carry_goes_as_it_is() {
    for text in ["", "one\n", "a\r\nb\n", "tab\there\n", &"x".repeat(76)] {
        let (measured, body) = encode_text(text.as_bytes());
        assert_eq!(measured.encoding, Encoding::SevenBit, "{text:?}");
        assert_eq!(body, crate::message::raw::to_crlf(text.as_bytes()));
    }
}

#[test]
fn control_characters_and_bare_cr_are_escaped() {
    for (text, encoded) in [
        ("a\r.\r\nb", "a=0D.\r\nb"),
        ("\r.\r", "=0D.=0D"),
        ("nul\0here\n", "nul=00here\r\n"),
        ("esc\x1b[0m\n", "esc=1B[0m\r\n"),
        ("del\x7f\n", "del=7F\r\n"),
        ("end\r", "end=0D"),
        ("\0\0\0\0\0\0", "=00=00=00=00=00=00"),
    ] {
        let (measured, body) = encode_text(text.as_bytes());
        assert_eq!(measured.encoding, Encoding::QuotedPrintable, "{text:?}");
        assert_eq!(String::from_utf8(body).unwrap(), encoded, "{text:?}");
        assert_eq!(measured.encoded_len, encoded.len() as u64);
    }
}

#[test]
fn a_split_character_is_still_utf8() {
    let text = "aé€😀".as_bytes();
    for cut in 0..text.len() {
        assert!(measured(text, &[cut, cut + 1]).utf8, "cut at {cut}");
    }
    assert!(!measured(b"a\xff", &[]).utf8);
    assert!(!measured(b"a\xe2\x82", &[]).utf8);
    assert!(!measured(b"\xe2\x82", &[1]).utf8);
}

#[test]
fn base64_lengths_are_exact() {
    for size in [0u64, 1, 2, 3, 56, 57, 58, 114, 57 * 1024 + 5] {
        let data: Vec<u8> = (0..size).map(|i| (i * 7 % 251) as u8).collect();
        let out = in_pieces(Encoding::Base64, &data, &[1, 60, 200]).unwrap();
        assert_eq!(out.len() as u64, base64_len(size), "size {size}");
        let joined: Vec<u8> = out.into_iter().filter(|b| !b"\r\n".contains(b)).collect();
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(joined)
            .unwrap();
        assert_eq!(decoded, data);
    }
}

#[test]
fn seven_bit_refuses_what_it_cannot_carry() {
    assert_eq!(in_pieces(Encoding::SevenBit, b"a\rb", &[]), Err(Unfit));
    assert_eq!(in_pieces(Encoding::SevenBit, b"a\r", &[]), Err(Unfit));
    assert_eq!(in_pieces(Encoding::SevenBit, b"a\0", &[]), Err(Unfit));
    assert_eq!(
        in_pieces(Encoding::SevenBit, "é".as_bytes(), &[]),
        Err(Unfit)
    );
    assert_eq!(
        in_pieces(Encoding::SevenBit, b"a\r\nb\n", &[2]).unwrap(),
        b"a\r\nb\r\n"
    );
}

fn bytes() -> impl Strategy<Value = Vec<u8>> {
    let byte = prop_oneof![
        6 => b'a'..=b'z',
        2 => Just(b' '),
        1 => Just(b'\t'),
        2 => Just(b'\n'),
        2 => Just(b'\r'),
        1 => Just(b'='),
        1 => Just(b'.'),
        1 => Just(0u8),
        1 => any::<u8>(),
    ];
    prop::collection::vec(byte, 0..400)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn quoted_printable_is_encodifys_in_any_pieces(
        input in bytes(),
        cuts in prop::collection::vec(0usize..400, 0..6),
    ) {
        let mut cuts = cuts;
        cuts.sort_unstable();
        let reference = encodify::qp::BODY.encode(&input);
        let out = in_pieces(Encoding::QuotedPrintable, &input, &cuts).unwrap();
        prop_assert_eq!(String::from_utf8(out).unwrap(), reference);
    }

    #[test]
    fn the_measure_is_what_is_written(
        input in bytes(),
        cuts in prop::collection::vec(0usize..400, 0..6),
    ) {
        let mut cuts = cuts;
        cuts.sort_unstable();
        let measure = measured(&input, &cuts);
        let (whole, body) = encode_text(&input);
        prop_assert_eq!(measure, whole);
        prop_assert_eq!(body.len() as u64, measure.encoded_len);
        let out = in_pieces(measure.encoding, &input, &cuts).unwrap();
        prop_assert_eq!(&out, &body);
        prop_assert_eq!(body.ends_with(b"\r\n"), measure.ends_with_crlf);
        prop_assert_eq!(measure.utf8, std::str::from_utf8(&input).is_ok());
        // Nothing 7bit cannot carry goes as 7bit, and no encoding leaves a bare CR or
        // LF, a NUL or an 8-bit byte.
        let seven_bit_safe = input.iter().all(|b| matches!(b, b'\t' | b'\n' | b'\r' | b' '..=b'~'))
            && crate::message::raw::binary_reason(&input).is_none();
        if measure.encoding == Encoding::SevenBit {
            prop_assert!(seven_bit_safe);
        }
        prop_assert!(!body.contains(&0) && body.is_ascii());
        prop_assert_eq!(crate::message::raw::to_crlf(&body), body);
    }

}
