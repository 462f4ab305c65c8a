//! Secret values in the configuration file: read without ever being quoted back, and errors about them with the value left out.

use super::*;

/// What an error about the value of a secret key says instead of the value.
pub(super) const NOT_SHOWN: &str = "(the value is not shown)";

/// Words that make a key's value secret in errors: `password`, `password-file`, a
/// misspelt `smtp-secret` or `token`.
pub(super) const SECRET_WORDS: [&str; 3] = ["password", "secret", "token"];

/// `password`: a string. serde's own type errors quote the value as written
/// (`invalid type: integer `987654321``), so every other type gets an error without it.
pub(super) fn secret_value<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<Spanned<Secret>>, D::Error> {
    let text = Spanned::<SecretText>::deserialize(deserializer)?;
    let span = text.span();
    Ok(Some(Spanned::new(span, Secret::new(text.into_inner().0))))
}

/// The text of a secret value, on its way to a [`Secret`].
pub(super) struct SecretText(String);

impl<'de> Deserialize<'de> for SecretText {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(SecretVisitor)
    }
}

pub(super) struct SecretVisitor;

/// The error for a secret value that is not a string.
pub(super) fn not_a_string<E: serde::de::Error>() -> E {
    E::custom(format!("must be a string {NOT_SHOWN}"))
}

impl<'de> serde::de::Visitor<'de> for SecretVisitor {
    type Value = SecretText;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string")
    }

    fn visit_str<E: serde::de::Error>(self, value: &str) -> Result<SecretText, E> {
        Ok(SecretText(value.to_string()))
    }

    fn visit_string<E: serde::de::Error>(self, value: String) -> Result<SecretText, E> {
        Ok(SecretText(value))
    }

    fn visit_bool<E: serde::de::Error>(self, _: bool) -> Result<SecretText, E> {
        Err(not_a_string())
    }

    fn visit_i64<E: serde::de::Error>(self, _: i64) -> Result<SecretText, E> {
        Err(not_a_string())
    }

    fn visit_i128<E: serde::de::Error>(self, _: i128) -> Result<SecretText, E> {
        Err(not_a_string())
    }

    fn visit_u64<E: serde::de::Error>(self, _: u64) -> Result<SecretText, E> {
        Err(not_a_string())
    }

    fn visit_u128<E: serde::de::Error>(self, _: u128) -> Result<SecretText, E> {
        Err(not_a_string())
    }

    fn visit_f64<E: serde::de::Error>(self, _: f64) -> Result<SecretText, E> {
        Err(not_a_string())
    }

    fn visit_bytes<E: serde::de::Error>(self, _: &[u8]) -> Result<SecretText, E> {
        Err(not_a_string())
    }

    fn visit_none<E: serde::de::Error>(self) -> Result<SecretText, E> {
        Err(not_a_string())
    }

    fn visit_unit<E: serde::de::Error>(self) -> Result<SecretText, E> {
        Err(not_a_string())
    }

    fn visit_some<D: serde::Deserializer<'de>>(self, _: D) -> Result<SecretText, D::Error> {
        Err(not_a_string())
    }

    fn visit_newtype_struct<D: serde::Deserializer<'de>>(
        self,
        _: D,
    ) -> Result<SecretText, D::Error> {
        Err(not_a_string())
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, _: A) -> Result<SecretText, A::Error> {
        Err(not_a_string())
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, _: A) -> Result<SecretText, A::Error> {
        Err(not_a_string())
    }

    fn visit_enum<A: serde::de::EnumAccess<'de>>(self, _: A) -> Result<SecretText, A::Error> {
        Err(not_a_string())
    }
}

/// True when the error at `offset` is about the value of a secret key: the key written at
/// the start of its line says so, or a key before it on the line does (an inline table,
/// `work = { password = 123 }`).
pub(super) fn about_a_secret(text: &str, offset: usize) -> bool {
    let offset = offset.min(text.len());
    let start = text[..offset].rfind('\n').map_or(0, |at| at + 1);
    let end = text[offset..]
        .find('\n')
        .map_or(text.len(), |at| offset + at);
    let line = text[start..end].to_ascii_lowercase();
    let key = line.split_once('=').map_or(line.as_str(), |(key, _)| key);
    let before = &line[..(offset - start).min(line.len())];
    SECRET_WORDS
        .iter()
        .any(|word| key.contains(word) || before.contains(word))
}

/// An error message about a secret key's value, without the value: serde's type and value
/// errors quote it (`invalid type: integer `12345`, expected a string`), so they become
/// `must be a string (the value is not shown)`. The TOML parser's own messages name what
/// it expected, never what it found, and are kept.
pub(super) fn without_value(message: &str) -> String {
    if message.ends_with(NOT_SHOWN) {
        return message.to_string();
    }
    let quotes_the_value = ["invalid type", "invalid value", "invalid length"]
        .iter()
        .any(|start| message.starts_with(start));
    if !quotes_the_value {
        return message.to_string();
    }
    match message.rsplit_once(", expected ") {
        Some((_, expected)) if expected.starts_with("a ") || expected.starts_with("an ") => {
            format!("must be {expected} {NOT_SHOWN}")
        }
        Some((_, expected)) => format!("must be a {expected} {NOT_SHOWN}"),
        None => format!("invalid value {NOT_SHOWN}"),
    }
}
