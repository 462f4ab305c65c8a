//! The keys an account may have, read off the parser itself (serde's field names), for the man page and error messages.

use super::*;

/// A deserializer that only asks a struct for its field names.
pub(super) struct FieldNames;

/// The field names a struct gave, carried out as the "error".
#[derive(Debug)]
pub(super) struct FieldList(pub(super) &'static [&'static str]);

impl fmt::Display for FieldList {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0.join(", "))
    }
}

impl std::error::Error for FieldList {}

impl serde::de::Error for FieldList {
    fn custom<T: fmt::Display>(_: T) -> Self {
        FieldList(&[])
    }
}

impl<'de> serde::Deserializer<'de> for FieldNames {
    type Error = FieldList;

    fn deserialize_any<V: serde::de::Visitor<'de>>(self, _: V) -> Result<V::Value, FieldList> {
        Err(FieldList(&[]))
    }

    fn deserialize_struct<V: serde::de::Visitor<'de>>(
        self,
        _: &'static str,
        fields: &'static [&'static str],
        _: V,
    ) -> Result<V::Value, FieldList> {
        Err(FieldList(fields))
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        option unit unit_struct newtype_struct seq tuple tuple_struct map enum identifier
        ignored_any
    }
}
