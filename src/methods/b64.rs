//! Byte strings in stored documents as unpadded base64url text.

use data_encoding::BASE64URL_NOPAD;
use serde::{Deserialize, Deserializer, Serializer};

pub(crate) fn serialize<S: Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&BASE64URL_NOPAD.encode(bytes))
}

pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
    let text = <std::borrow::Cow<'de, str>>::deserialize(d)?;
    BASE64URL_NOPAD
        .decode(text.as_bytes())
        .map_err(serde::de::Error::custom)
}
