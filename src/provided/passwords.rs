//! Account passwords as argon2id PHC strings, for re-authentication.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, RwLock};

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier as _, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use async_trait::async_trait;
use secrecy::{ExposeSecret, SecretString};

use crate::error::{Error, PortError, Result};
use crate::model::account::Account;
use crate::ports::{Offload, PasswordCheck};
use crate::provided::offload::{default_offload, run};

/// A [`PasswordCheck`] over argon2id PHC strings (`$argon2id$v=19$…`)
/// kept by account id; also the host's own sign-in check, with
/// [`check`](Self::check). Cheap to clone: clones share the table.
///
/// Each check is an argon2id computation (about 20 ms, 19 MiB), run
/// through an [`Offload`](crate::Offload): off the async executor, with a
/// bound on how many at once, by default (the `tokio` feature).
///
/// A host whose users table already holds PHC strings can instead implement
/// [`PasswordCheck`] in a few lines around [`verify_phc`].
#[derive(Clone)]
pub struct Argon2Passwords {
    inner: Arc<Inner>,
    offload: Arc<dyn Offload>,
}

struct Inner {
    hashes: RwLock<HashMap<String, String>>,
    argon: Argon2<'static>,
    dummy: String,
}

impl Argon2Passwords {
    /// An empty set, hashing new passwords with argon2id at OWASP's
    /// recommended cost (19 MiB, 2 passes, 1 lane).
    pub fn new() -> Result<Self> {
        Self::with_params(
            Params::DEFAULT_M_COST,
            Params::DEFAULT_T_COST,
            Params::DEFAULT_P_COST,
        )
    }

    /// As [`new`](Self::new) with another cost: memory in KiB, passes, lanes.
    pub fn with_params(m_kib: u32, t: u32, p: u32) -> Result<Self> {
        let params = Params::new(m_kib, t, p, None)
            .map_err(|_| Error::Config("argon2 parameters out of range"))?;
        let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, params);
        let dummy = hash_with(&argon, &SecretString::from("no such account"))?;
        Ok(Self {
            inner: Arc::new(Inner {
                hashes: RwLock::new(HashMap::new()),
                argon,
                dummy,
            }),
            offload: default_offload(),
        })
    }

    /// Runs the checks through `offload` instead of the default.
    pub fn offload(mut self, offload: impl Offload + 'static) -> Self {
        self.offload = Arc::new(offload);
        self
    }

    /// Sets the account's password.
    pub fn set(&self, account_id: &str, password: &SecretString) -> Result<()> {
        let phc = hash_with(&self.inner.argon, password)?;
        self.inner
            .hashes
            .write()
            .map_err(|_| Error::Config("the password table's lock is poisoned"))?
            .insert(account_id.to_owned(), phc);
        Ok(())
    }

    /// Whether `password` is the password of the account with this id; an
    /// unknown account takes as long as a known one and is `false`. For the
    /// host's own sign-in form.
    pub async fn check(&self, account_id: &str, password: &SecretString) -> Result<bool> {
        let phc = self
            .inner
            .hashes
            .read()
            .map_err(|_| Error::Config("the password table's lock is poisoned"))?
            .get(account_id)
            .cloned();
        let password = password.clone();
        let inner = self.inner.clone();
        run(self.offload.as_ref(), move || match phc {
            Some(phc) => verify_phc(&phc, &password),
            None => {
                // As slow as a real check, so timing does not tell who exists.
                let _ = verify_phc(&inner.dummy, &password);
                false
            }
        })
        .await
        .ok_or(Error::Offload)
    }
}

impl fmt::Debug for Argon2Passwords {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Argon2Passwords([REDACTED])")
    }
}

#[async_trait]
impl PasswordCheck for Argon2Passwords {
    async fn verify(&self, account: &Account, password: &SecretString) -> Result<bool, PortError> {
        self.check(account.id(), password)
            .await
            .map_err(|e| match e {
                Error::Offload => PortError::transient("the password check did not complete"),
                _ => PortError::permanent("the password table's lock is poisoned"),
            })
    }
}

/// An argon2id PHC string of `password` at OWASP's recommended cost.
pub fn hash_password(password: &SecretString) -> Result<String> {
    hash_with(&Argon2::default(), password)
}

fn hash_with(argon: &Argon2<'_>, password: &SecretString) -> Result<String> {
    let mut salt = [0u8; 16];
    crate::crypto::random::fill(&mut salt)?;
    let salt = SaltString::encode_b64(&salt).map_err(|_| Error::Random)?;
    argon
        .hash_password(password.expose_secret().as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|_| Error::Config("the password could not be hashed"))
}

/// Whether `password` matches the argon2 PHC string `phc`. A malformed PHC
/// string matches nothing. Parameters are read from the string.
pub fn verify_phc(phc: &str, password: &SecretString) -> bool {
    PasswordHash::new(phc).is_ok_and(|hash| {
        Argon2::default()
            .verify_password(password.expose_secret().as_bytes(), &hash)
            .is_ok()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pw(s: &str) -> SecretString {
        SecretString::from(s)
    }

    #[test]
    fn phc_round_trip() {
        let phc = hash_password(&pw("correct horse")).unwrap();
        assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert!(verify_phc(&phc, &pw("correct horse")));
        assert!(!verify_phc(&phc, &pw("correct horsE")));
        assert!(!verify_phc("not a phc", &pw("x")));
    }

    #[tokio::test]
    async fn verifier_knows_only_its_accounts() {
        let v = Argon2Passwords::with_params(256, 1, 1).unwrap();
        v.set("u1", &pw("s3cret")).unwrap();
        let a = Account::new("u1", "a@example.com");
        assert!(v.verify(&a, &pw("s3cret")).await.unwrap());
        assert!(!v.verify(&a, &pw("wrong")).await.unwrap());
        let stranger = Account::new("u2", "b@example.com");
        assert!(!v.verify(&stranger, &pw("s3cret")).await.unwrap());
        assert_eq!(format!("{v:?}"), "Argon2Passwords([REDACTED])");
        // clones share the table; the host's own check agrees
        let c = v.clone();
        c.set("u3", &pw("other")).unwrap();
        assert!(v.check("u3", &pw("other")).await.unwrap());
        assert!(!v.check("u3", &pw("s3cret")).await.unwrap());
    }
}
