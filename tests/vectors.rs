//! Known answers from RFC 4226, RFC 6238 and the key-URI format, through
//! the crate's TOTP code (totp-rs underneath), and its window around them.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use data_encoding::{BASE32_NOPAD, HEXLOWER_PERMISSIVE as HEX};
use secrecy::ExposeSecret;
use serde_json::Value;
use twofactor::__internal::{hotp, key_uri, Totp};
use twofactor::Algorithm;

fn vectors() -> Value {
    serde_json::from_str(include_str!("data/otp.json")).unwrap()
}

fn s<'a>(v: &'a Value, key: &str) -> &'a str {
    v[key].as_str().unwrap_or_else(|| panic!("{key} missing"))
}

fn n(v: &Value, key: &str) -> u64 {
    v[key].as_u64().unwrap_or_else(|| panic!("{key} missing"))
}

/// RFC 4226 section 5.3, dynamic truncation, as the RFC writes it: the
/// 31-bit number at the offset the last nibble gives.
fn dynamic_truncation(mac: &[u8]) -> u32 {
    let offset = usize::from(mac[mac.len() - 1] & 0xf);
    u32::from_be_bytes(mac[offset..offset + 4].try_into().unwrap()) & 0x7fff_ffff
}

const ALGORITHMS: [(&str, Algorithm); 3] = [
    ("SHA1", Algorithm::Sha1),
    ("SHA256", Algorithm::Sha256),
    ("SHA512", Algorithm::Sha512),
];

#[test]
fn rfc4226_hotp() {
    let all = vectors();
    let h = &all["hotp_rfc4226"];
    let secret = s(h, "secret_ascii").as_bytes();
    assert_eq!(HEX.decode(s(h, "secret_hex").as_bytes()).unwrap(), secret);
    assert_eq!(
        BASE32_NOPAD
            .decode(s(h, "secret_base32").as_bytes())
            .unwrap(),
        secret
    );
    let rows = h["vectors"].as_array().unwrap();
    assert_eq!(rows.len(), 10);
    for v in rows {
        let counter = n(v, "counter");
        let mac = HEX.decode(s(v, "hmac").as_bytes()).unwrap();
        // the HMAC underneath is the RFC's
        let engine =
            totp_rs::TOTP::new_unchecked(totp_rs::Algorithm::SHA1, 6, 0, 1, secret.to_vec());
        assert_eq!(engine.sign(counter), mac, "counter {counter}");
        assert_eq!(
            u64::from(dynamic_truncation(&mac)),
            n(v, "dbc"),
            "counter {counter}"
        );
        let otp = hotp(Algorithm::Sha1, secret, counter, 6);
        assert_eq!(format!("{otp:06}"), s(v, "otp"), "counter {counter}");
    }
    let t = &h["truncation_example_rfc4226_5_4"];
    let mac = HEX.decode(s(t, "hmac").as_bytes()).unwrap();
    assert_eq!(usize::from(mac[19] & 0xf), n(t, "offset") as usize);
    let dbc = dynamic_truncation(&mac);
    assert_eq!(format!("{dbc:08x}"), s(t, "dbc_hex"));
    assert_eq!(u64::from(dbc), n(t, "dbc"));
    assert_eq!(format!("{:06}", dbc % 1_000_000), s(t, "otp6"));
    assert_eq!(format!("{:08}", dbc % 100_000_000), s(t, "otp8"));
}

#[test]
fn rfc6238_totp_8_digits_every_algorithm() {
    let all = vectors();
    let t = &all["totp_rfc6238"];
    assert_eq!((n(t, "t0"), n(t, "period"), n(t, "digits")), (0, 30, 8));
    let rows = t["vectors"].as_array().unwrap();
    assert_eq!(rows.len(), 6);
    for (name, alg) in ALGORITHMS {
        let seed = s(&t["seeds_ascii"], name).as_bytes();
        let totp = Totp::new(alg, 8, 30);
        for v in rows {
            let time = n(v, "time");
            let want = s(v, name);
            assert_eq!(format!("{:016X}", totp.step_at(time)), s(v, "t_hex"));
            assert_eq!(
                totp.code_at(seed, time).to_string(),
                want,
                "{name} at {time}"
            );
            // and the verifier finds exactly that step
            assert_eq!(
                totp.matching_step(seed, want, time, 1, None),
                Some(totp.step_at(time)),
                "{name} at {time}"
            );
        }
    }
}

#[test]
fn rfc6238_totp_6_digits() {
    let all = vectors();
    let t = &all["totp_rfc6238"];
    for (name, alg) in ALGORITHMS {
        let seed = s(&t["seeds_ascii"], name).as_bytes();
        let totp = Totp::new(alg, 6, 30);
        for v in t["derived_6_digit"].as_array().unwrap() {
            let time = n(v, "time");
            assert_eq!(
                totp.code_at(seed, time).to_string(),
                s(v, name),
                "{name} at {time}"
            );
        }
    }
}

/// The seed length matters: the 20-byte seed gives other codes under
/// SHA-256 and SHA-512, and those are not the RFC's.
#[test]
fn rfc6238_wrong_seed_length_gives_other_codes() {
    let all = vectors();
    let t = &all["totp_rfc6238"];
    let short = s(&t["seeds_ascii"], "SHA1").as_bytes();
    let rows = t["vectors"].as_array().unwrap();
    for (i, v) in t["negative_wrong_seed_20_bytes_8_digit"]
        .as_array()
        .unwrap()
        .iter()
        .enumerate()
    {
        let time = n(v, "time");
        for (name, alg) in &ALGORITHMS[1..] {
            let got = Totp::new(*alg, 8, 30).code_at(short, time).to_string();
            assert_eq!(got, s(v, name), "{name} at {time}");
            assert_ne!(got, s(&rows[i], name));
            let right_seed = s(&t["seeds_ascii"], name).as_bytes();
            assert_eq!(
                Totp::new(*alg, 8, 30).matching_step(right_seed, &got, time, 1, None),
                None
            );
        }
    }
}

#[test]
fn key_uri_examples() {
    let all = vectors();
    let k = &all["key_uri"];
    let totp = Totp::new(Algorithm::Sha1, 6, 30);

    let secret2 = HEX
        .decode(s(k, "wiki_example_2_secret_hex").as_bytes())
        .unwrap();
    let uri2 = key_uri("ACME Co", "john.doe@email.com", &secret2, &totp).unwrap();
    assert_eq!(uri2.expose_secret(), s(k, "wiki_example_2"));

    // Example 1 leaves the defaults out; this crate always spells them out.
    let secret1 = HEX
        .decode(s(k, "wiki_example_1_secret_hex").as_bytes())
        .unwrap();
    let uri1 = key_uri("Example", "alice@google.com", &secret1, &totp).unwrap();
    assert_eq!(
        uri1.expose_secret(),
        format!(
            "{}&algorithm=SHA1&digits=6&period=30",
            s(k, "wiki_example_1")
        )
    );

    for (secret, codes) in [
        (&secret1, &k["wiki_example_1_codes_sha1_6_30"]),
        (&secret2, &k["wiki_example_2_codes_sha1_6_30"]),
    ] {
        let codes = codes.as_object().unwrap();
        assert_eq!(codes.len(), 5);
        for (time, code) in codes {
            let time: u64 = time.parse().unwrap();
            assert_eq!(
                totp.code_at(secret, time).to_string(),
                code.as_str().unwrap()
            );
        }
    }
}

/// The window finds every code totp-rs makes for the steps around a time,
/// and only within the skew, on thousands of secrets and times.
#[test]
fn the_window_finds_totp_rs_codes_around_now() {
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    for i in 0..3000 {
        let (alg, rs_alg) = [
            (Algorithm::Sha1, totp_rs::Algorithm::SHA1),
            (Algorithm::Sha256, totp_rs::Algorithm::SHA256),
            (Algorithm::Sha512, totp_rs::Algorithm::SHA512),
        ][i % 3];
        let digits = 6 + (i % 3);
        let secret: Vec<u8> = (0..20 + i % 45).map(|_| next() as u8).collect();
        let time = next() % 4_000_000_000;
        let engine = totp_rs::TOTP::new_unchecked(rs_alg, digits, 1, 30, secret.clone());
        let ours = Totp::new(alg, digits as u8, 30);
        let step = time / 30;
        for delta in [-1i64, 0, 1] {
            let at = (time as i64 + delta * 30) as u64;
            let theirs = engine.generate(at);
            assert_eq!(ours.code_at(&secret, at).to_string(), theirs);
            assert_eq!(
                ours.matching_step(&secret, &theirs, time, 1, None),
                Some((step as i64 + delta) as u64)
            );
        }
        let far = engine.generate(time + 90);
        let near: Vec<String> = [-30i64, 0, 30]
            .iter()
            .map(|d| engine.generate((time as i64 + d) as u64))
            .collect();
        if !near.contains(&far) {
            assert_eq!(ours.matching_step(&secret, &far, time, 1, None), None);
        }
    }
}
