//! The record as a stored document: postcard, a compact binary serde
//! format, whose first value is the schema version; and the reading of
//! documents of earlier schemas, upgraded in memory.

use super::{v1, v2, v3, Record, SCHEMA_VERSION};
use crate::error::{Error, Result};

impl Record {
    /// The record as a stored document: postcard, a compact binary serde
    /// format, whose first value is the schema version.
    ///
    /// The format follows the declaration order of every field and enum
    /// variant below; reordering any of them is a schema change.
    pub(crate) fn encode(&self) -> Result<Vec<u8>> {
        // Sized for a record with an app, ten recovery codes and a few
        // devices, so that writing one seldom grows the buffer.
        postcard::to_extend(self, Vec::with_capacity(1024))
            .map_err(|e| Error::CorruptRecord(Box::new(e)))
    }

    /// Reads a document written by [`encode`](Self::encode), of this schema
    /// version or an earlier one (upgraded in memory: the next save writes
    /// the current version). A document of an unknown schema version, a
    /// broken one or one with bytes left over is a typed error.
    pub(crate) fn decode(document: &[u8]) -> Result<Self> {
        let (schema, _) = postcard::take_from_bytes::<u32>(document).map_err(corrupt)?;
        match schema {
            SCHEMA_VERSION => whole::<Record>(document),
            3 => whole::<v3::Record>(document).map(Record::from),
            2 => whole::<v2::Record>(document)
                .map(v3::Record::from)
                .map(Record::from),
            1 => whole::<v1::Record>(document)
                .map(v2::Record::from)
                .map(v3::Record::from)
                .map(Record::from),
            0 => Err(Error::CorruptRecord(
                "schema version 0 was never written".into(),
            )),
            newer => Err(Error::UnsupportedSchema(newer)),
        }
    }
}

fn corrupt(e: postcard::Error) -> Error {
    Error::CorruptRecord(Box::new(e))
}

/// `document` as one `T`, with no bytes left over.
fn whole<T: serde::de::DeserializeOwned>(document: &[u8]) -> Result<T> {
    match postcard::take_from_bytes::<T>(document).map_err(corrupt)? {
        (value, []) => Ok(value),
        _ => Err(Error::CorruptRecord("bytes after the record".into())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::keys::KeyId;
    use crate::model::message::Purpose;
    use crate::model::status::Method;
    use crate::model::time::Timestamp;
    use crate::record::{EmailFactor, Entry, Factor, Factors, Guard, OutstandingCode, SendLog};

    #[test]
    fn round_trips() {
        let mut r = Record::default();
        r.guard.failures = 3;
        let back = Record::decode(&r.encode().unwrap()).unwrap();
        assert_eq!(back, r);
    }

    #[test]
    fn broken_and_future_documents_are_typed_errors() {
        let corrupt = |doc: &[u8]| matches!(Record::decode(doc), Err(Error::CorruptRecord(_)));
        assert!(corrupt(b""));
        assert!(corrupt(&[0]), "schema 0 was never written");
        assert!(matches!(
            Record::decode(&[5]),
            Err(Error::UnsupportedSchema(5))
        ));
        assert!(matches!(
            Record::decode(&[0x80, 0x01, 0xff]),
            Err(Error::UnsupportedSchema(128))
        ));
        let mut doc = sample().encode().unwrap();
        for len in 0..doc.len() {
            assert!(corrupt(&doc[..len]), "cut to {len} bytes");
        }
        doc.push(0);
        assert!(corrupt(&doc), "a byte left over");
    }

    /// Any single changed byte decodes to a record or a typed error, in
    /// this schema and the one before.
    #[test]
    fn changed_bytes_never_panic() {
        for doc in [
            sample().encode().unwrap(),
            SCHEMA_3.to_vec(),
            SCHEMA_2.to_vec(),
            SCHEMA_1.to_vec(),
        ] {
            for at in 0..doc.len() {
                for byte in [0x00, 0x01, 0x7f, 0x80, 0xff] {
                    let mut changed = doc.clone();
                    changed[at] = byte;
                    match Record::decode(&changed) {
                        Ok(_) | Err(Error::CorruptRecord(_) | Error::UnsupportedSchema(_)) => {}
                        Err(other) => panic!("{other:?}"),
                    }
                }
            }
        }
    }

    fn sample() -> Record {
        Record {
            factors: Some(Factors {
                primary: Method::Sms,
                since: Timestamp::from_unix_seconds(300),
                all: vec![Entry {
                    id: "email".into(),
                    label: "Email".into(),
                    created: Timestamp::from_unix_seconds(300),
                    last_used: None,
                    factor: Factor::Email(EmailFactor {}),
                }],
                suspended: None,
            }),
            code: Some(OutstandingCode {
                purpose: Purpose::Login,
                method: Method::Email,
                key: KeyId::UNKNOWN,
                mac: vec![0xaa],
                expires: Timestamp::from_unix_seconds(5),
                tries_left: 4,
            }),
            stamp: Some("s".into()),
            guard: Guard {
                failures: 2,
                ..Guard::default()
            },
            ..Record::default()
        }
    }

    /// `sample()` as schema 1 stored it (twofactor 0.1).
    #[rustfmt::skip]
    const SCHEMA_1: [u8; 27] = [
        1, // schema
        1, 2, 0xac, 0x02, 1, 1, 0, // factors: Sms, since 300, [Email], not suspended
        0, // pending
        1, 1, 1, 1, 0xaa, 5, 4, // code: Login, Email, mac, expires 5, 4 tries
        0, 0, 0, // sends, recovery, devices
        1, 1, b's', // stamp
        2, 0, 0, 0, 0, // guard
    ];

    /// `sample()` as schema 2 stored it.
    #[rustfmt::skip]
    const SCHEMA_2: [u8; 29] = [
        2, // schema
        1, 2, 0xac, 0x02, 1, 1, 0, // factors: Sms, since 300, [Email], not suspended
        0, // pending
        1, 1, 1, 1, 0xaa, 5, 4, // code: Login, Email, mac, expires 5, 4 tries
        0, 0, 0, 0, // sends, recovery, devices, grants
        1, 1, b's', // stamp
        2, 0, 0, 0, 0, // guard
        0, // setup required
    ];

    /// `sample()` as schema 3 stored it.
    #[rustfmt::skip]
    const SCHEMA_3: [u8; 30] = [
        3, // schema
        1, 2, 0xac, 0x02, 1, 1, 0, // factors: Sms, since 300, [Email], not suspended
        0, // pending
        1, 1, 1, 0, 1, 0xaa, 5, 4, // code: Login, Email, key 0, mac, expires 5, 4 tries
        0, 0, 0, 0, // sends, recovery, devices, grants
        1, 1, b's', // stamp
        2, 0, 0, 0, 0, // guard
        0, // setup required
    ];

    /// The stored form is postcard in declaration order: fields, then enum
    /// variants by position. Reordering either changes these bytes, and is
    /// a schema change.
    #[test]
    fn the_stored_form_is_fixed() {
        assert_eq!(
            Record::default().encode().unwrap(),
            [4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]
        );
        #[rustfmt::skip]
        let expected = [
            4, // schema
            1, 2, 0xac, 0x02, // factors: Sms, since 300
            1, // one authenticator:
            5, b'e', b'm', b'a', b'i', b'l', // id
            5, b'E', b'm', b'a', b'i', b'l', // label
            0xac, 0x02, 0, 1, // created 300, never used, Email
            0, // not suspended
            0, // pending
            1, 1, 1, 0, 1, 0xaa, 5, 4, // code: Login, Email, key 0, mac, expires 5, 4 tries
            0, 0, 0, 0, // sends, recovery, devices, grants
            1, 1, b's', // stamp
            2, 0, 0, 0, 0, // guard
            0, // setup required
            0, // key challenge
        ];
        assert_eq!(sample().encode().unwrap(), expected);
        assert_eq!(Record::decode(&expected).unwrap(), sample());
        for (schema, old) in [(3, SCHEMA_3.as_slice()), (2, SCHEMA_2.as_slice())] {
            assert_eq!(
                Record::decode(old).unwrap(),
                sample(),
                "schema {schema} reads"
            );
        }
    }

    /// A schema-1 document reads as the same record in this schema (through
    /// schema 2), and is written back as this schema.
    #[test]
    fn schema_1_is_upgraded() {
        let upgraded = Record::decode(&SCHEMA_1).unwrap();
        assert_eq!(upgraded, sample());
        assert_eq!(
            upgraded.encode().unwrap().first(),
            Some(&(SCHEMA_VERSION as u8))
        );
        let mut with_sends = SCHEMA_1;
        with_sends[16] = 1; // one send…
        let mut doc = with_sends[..17].to_vec();
        doc.push(7); // …at 7 s
        doc.extend_from_slice(&with_sends[17..]);
        let r = Record::decode(&doc).unwrap();
        assert_eq!(
            r.sends,
            [SendLog {
                at: Timestamp::from_unix_seconds(7),
                purpose: Purpose::Login
            }]
        );
    }
}
