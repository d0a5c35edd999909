//! Byte strings in stored records as serde bytes: in postcard a length and
//! the bytes, read and written in one copy rather than byte by byte.

use std::fmt;

use serde::de::{Error, SeqAccess, Visitor};
use serde::{Deserializer, Serializer};

pub(crate) fn serialize<S: Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
    s.serialize_bytes(bytes)
}

pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
    d.deserialize_bytes(Bytes(Vec::new()))
}

/// Fixed-size byte arrays, which must have exactly their length.
pub(crate) mod array {
    use super::*;

    pub(crate) fn serialize<S: Serializer, const N: usize>(
        bytes: &[u8; N],
        s: S,
    ) -> Result<S::Ok, S::Error> {
        super::serialize(bytes, s)
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>, const N: usize>(
        d: D,
    ) -> Result<[u8; N], D::Error> {
        let fill = d.deserialize_bytes(Bytes(Fill {
            out: [0; N],
            filled: 0,
        }))?;
        if fill.filled == N {
            Ok(fill.out)
        } else {
            Err(D::Error::invalid_length(fill.filled, &"the array's length"))
        }
    }

    /// An array being filled, and how many bytes it has.
    pub(super) struct Fill<const N: usize> {
        pub(super) out: [u8; N],
        pub(super) filled: usize,
    }
}

/// Something bytes can be put into, in one go or one at a time.
trait Sink {
    fn put_all(&mut self, bytes: &[u8]) -> bool;

    fn put(&mut self, byte: u8) -> bool {
        self.put_all(&[byte])
    }
}

impl Sink for Vec<u8> {
    fn put_all(&mut self, bytes: &[u8]) -> bool {
        self.extend_from_slice(bytes);
        true
    }
}

impl<const N: usize> Sink for array::Fill<N> {
    fn put_all(&mut self, bytes: &[u8]) -> bool {
        match self.out.get_mut(self.filled..self.filled + bytes.len()) {
            Some(room) => {
                room.copy_from_slice(bytes);
                self.filled += bytes.len();
                true
            }
            None => false,
        }
    }
}

/// Takes bytes (postcard) or a sequence of numbers (self-describing
/// formats such as JSON) into its sink.
struct Bytes<T>(T);

impl<'de, T: Sink> Visitor<'de> for Bytes<T> {
    type Value = T;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a byte string")
    }

    fn visit_bytes<E: Error>(self, bytes: &[u8]) -> Result<T, E> {
        let mut sink = self.0;
        if sink.put_all(bytes) {
            Ok(sink)
        } else {
            Err(E::invalid_length(bytes.len(), &"no more bytes than fit"))
        }
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<T, A::Error> {
        let mut sink = self.0;
        while let Some(byte) = seq.next_element::<u8>()? {
            if !sink.put(byte) {
                return Err(A::Error::custom("too many bytes"));
            }
        }
        Ok(sink)
    }
}

#[cfg(test)]
mod tests {
    use serde::{Deserialize, Serialize};

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Both {
        #[serde(with = "super")]
        any: Vec<u8>,
        #[serde(with = "super::array")]
        four: [u8; 4],
    }

    #[test]
    fn round_trip_in_postcard_and_json() {
        let both = Both {
            any: vec![0, 1, 255, 7],
            four: [9, 8, 7, 6],
        };
        let stored = postcard::to_allocvec(&both).unwrap();
        assert_eq!(stored, [4, 0, 1, 255, 7, 4, 9, 8, 7, 6]);
        assert_eq!(postcard::from_bytes::<Both>(&stored).unwrap(), both);
        let json = serde_json::to_string(&both).unwrap();
        assert_eq!(json, r#"{"any":[0,1,255,7],"four":[9,8,7,6]}"#);
        assert_eq!(serde_json::from_str::<Both>(&json).unwrap(), both);
    }

    #[test]
    fn arrays_must_have_their_length() {
        for wrong in [&[3u8, 1, 2, 3][..], &[5, 1, 2, 3, 4, 5]] {
            let mut doc = vec![0];
            doc.extend_from_slice(wrong);
            assert!(postcard::from_bytes::<Both>(&doc).is_err(), "{wrong:?}");
        }
        assert!(serde_json::from_str::<Both>(r#"{"any":[],"four":[1,2,3,4,5]}"#).is_err());
        assert!(serde_json::from_str::<Both>(r#"{"any":[],"four":[1,2,3]}"#).is_err());
    }
}
