//! Administration with authority: an administrator acts with their own
//! second factor, a reason, and the host's permission, never on their own
//! account, and is audited; the user is told. Reset leaves the account off
//! or asks for a new setup at the next login, by policy; unlock lifts a
//! lockout without deleting anything.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use common::*;
use twofactor::{
    AfterReset, Change, Error, EventKind, LoginStep, Reauth, Rejection, State, Status, TwoFactor,
    Verdict,
};

#[tokio::test]
async fn nobody_is_an_administrator_unless_the_host_says_so() {
    let h = Harness::new();
    // the builder's default policy: no administrators at all
    let tf = h.bare();
    let (root, _, proof) = h.admin(&tf, "root").await;
    let alice = h.account("alice");
    h.set_up_app(&tf, &alice).await;
    assert!(matches!(
        tf.admin_reset(&root, &proof, &alice, "lost phone").await,
        Err(Error::NotPermitted)
    ));
    assert!(tf.status(&alice).await.unwrap().is_on());
}

#[tokio::test]
async fn an_administrator_proves_it_is_them_with_their_own_factor() {
    let h = Harness::new();
    let tf = h.instance();
    let alice = h.account("alice");
    let alice_app = h.set_up_app(&tf, &alice).await;
    let root = h.account("root");
    let root_app = h.set_up_app(&tf, &root).await;
    let pw = password();

    // the administrator's password alone is refused before it is looked at
    assert!(matches!(
        tf.admin_reset(&root, &pw, &alice, "lost phone").await,
        Err(Error::StepUpRequired)
    ));
    // a wrong code is the administrator's failure, counted on their account
    h.advance(30);
    assert_eq!(
        tf.admin_reset(
            &root,
            Reauth::with_code(&pw, "000000"),
            &alice,
            "lost phone"
        )
        .await
        .unwrap(),
        wrong(4)
    );
    // the user's own code does not serve the administrator
    let alices = alice_app.code(h.now());
    assert_eq!(
        tf.admin_reset(&root, Reauth::with_code(&pw, &alices), &alice, "lost phone")
            .await
            .unwrap(),
        wrong(3)
    );
    // nor does the user's grant
    let alice_grant = h.grant(&tf, &alice, &alice_app).await;
    assert!(matches!(
        tf.admin_reset(&root, &alice_grant, &alice, "lost phone")
            .await,
        Err(Error::StepUpRequired)
    ));
    assert!(tf.status(&alice).await.unwrap().is_on());
    assert_eq!(h.events.count(EventKind::StepUpRejected), 2);
    // their own current code does
    let code = root_app.code(h.now());
    assert!(tf
        .admin_reset(&root, Reauth::with_code(&pw, &code), &alice, "lost phone")
        .await
        .unwrap()
        .is_accepted());
    assert_eq!(tf.status(&alice).await.unwrap(), Status::Off);
}

#[tokio::test]
async fn no_administrator_acts_on_another_or_on_themselves_or_without_a_factor() {
    let h = Harness::new();
    let tf = h.instance();
    let (root, _, root_grant) = h.admin(&tf, "root").await;
    let (support, _, _) = h.admin(&tf, "support-7").await;
    // one administrator on another: refused by the default list policy
    assert!(matches!(
        tf.admin_reset(&root, &root_grant, &support, "lost phone")
            .await,
        Err(Error::NotPermitted)
    ));
    // on their own account: use disable instead
    assert!(matches!(
        tf.admin_reset(&root, &root_grant, &root, "lost phone")
            .await,
        Err(Error::NotPermitted)
    ));
    // not an administrator at all
    let alice = h.account("alice");
    let alice_app = h.set_up_app(&tf, &alice).await;
    let alice_grant = h.grant(&tf, &alice, &alice_app).await;
    let bob = h.account("bob");
    h.set_up_app(&tf, &bob).await;
    assert!(matches!(
        tf.admin_reset(&alice, &alice_grant, &bob, "because").await,
        Err(Error::NotPermitted)
    ));
    // an administrator whose own second factor is off may not act: refused
    // before their password is even checked
    let h2 = Harness::new();
    let checked = Arc::new(AtomicUsize::new(0));
    let tf2 = h2
        .builder()
        .store(h2.store.clone())
        .passwords(Counting(h2.passwords.clone(), checked.clone()))
        .admins(twofactor::Admins::new(ADMINS))
        .policy(policy())
        .build()
        .unwrap();
    let bare_root = h2.account("root");
    let carol = h2.account("carol");
    h2.set_up_app(&tf2, &carol).await;
    let before = checked.load(Ordering::SeqCst);
    let pw = password();
    assert!(matches!(
        tf2.admin_reset(&bare_root, Reauth::with_code(&pw, "123456"), &carol, "x")
            .await,
        Err(Error::NotPermitted)
    ));
    assert_eq!(checked.load(Ordering::SeqCst), before);
    assert!(tf2.status(&carol).await.unwrap().is_on());
}

/// A password check that counts its calls.
struct Counting(twofactor::Argon2Passwords, Arc<AtomicUsize>);

#[twofactor::async_trait]
impl twofactor::PasswordCheck for Counting {
    async fn verify(
        &self,
        account: &twofactor::Account,
        password: &secrecy::SecretString,
    ) -> Result<bool, twofactor::PortError> {
        self.1.fetch_add(1, Ordering::SeqCst);
        self.0.verify(account, password).await
    }
}

#[tokio::test]
async fn a_reason_is_required_and_audited_with_the_administrator() {
    let h = Harness::new();
    let tf = h.instance();
    let (root, _, grant) = h.admin(&tf, "root").await;
    let alice = h.account("alice");
    h.set_up_app(&tf, &alice).await;
    for blank in ["", "   ", "\n\t"] {
        assert!(matches!(
            tf.admin_reset(&root, &grant, &alice, blank).await,
            Err(Error::InvalidReason)
        ));
    }
    assert!(matches!(
        tf.admin_reset(&root, &grant, &alice, &"x".repeat(501))
            .await,
        Err(Error::InvalidReason)
    ));
    assert!(tf.status(&alice).await.unwrap().is_on());
    assert!(tf
        .admin_reset(&root, &grant, &alice, "ticket 42:\nlost phone")
        .await
        .unwrap()
        .is_accepted());
    let events = h.events.0.lock().unwrap().clone();
    let reset = events
        .iter()
        .find(|e| e.kind == EventKind::AdminReset)
        .unwrap();
    assert_eq!(reset.account, "alice");
    assert_eq!(reset.actor.as_deref(), Some("root"));
    assert_eq!(reset.reason.as_deref(), Some("ticket 42: lost phone"));
    assert!(h.notices().contains(&Change::AdminReset));
}

#[tokio::test]
async fn a_reset_can_require_a_new_setup_at_the_next_login() {
    let h = Harness::new();
    let mut p = policy();
    p.after_admin_reset = AfterReset::SetupRequired;
    let tf = h.instance_with(p);
    let (root, _, grant) = h.admin(&tf, "root").await;
    let alice = h.account("alice");
    h.set_up_app(&tf, &alice).await;
    assert!(tf
        .admin_reset(&root, &grant, &alice, "lost phone")
        .await
        .unwrap()
        .is_accepted());
    assert_eq!(
        tf.begin_login(&alice, None).await.unwrap(),
        LoginStep::SetupRequired {
            strength: twofactor::Strength::Any,
            grace_until: None
        }
    );
    assert!(matches!(
        tf.status(&alice).await.unwrap(),
        Status::SetupRequired { .. }
    ));
    let page = tf.admin_list(None, 10).await.unwrap();
    let line = page.accounts.iter().find(|a| a.user == "alice").unwrap();
    assert_eq!(line.state, State::SetupRequired);
    // the password alone sets it up, as the first time
    h.advance(30);
    let app = h.set_up_app(&tf, &alice).await;
    assert!(matches!(
        tf.begin_login(&alice, None).await.unwrap(),
        LoginStep::Challenge { .. }
    ));
    h.advance(30);
    assert!(logs_in(&tf, &alice, &app.code(h.now())).await);
}

#[tokio::test]
async fn unlock_lifts_a_lockout_and_deletes_nothing() {
    let h = Harness::new();
    let tf = h.instance();
    let (support, _, grant) = h.admin(&tf, "support-7").await;
    let alice = h.account("alice");
    let app = h.set_up_app(&tf, &alice).await;
    for _ in 0..5 {
        let _ = tf.verify_login(&alice, "000000", None).await.unwrap();
    }
    h.advance(30);
    assert!(matches!(
        tf.verify_login(&alice, &app.code(h.now()), None)
            .await
            .unwrap(),
        Verdict::LockedOut { .. }
    ));
    assert!(matches!(
        tf.admin_unlock(&support, &grant, &alice, "").await,
        Err(Error::InvalidReason)
    ));
    assert!(tf
        .admin_unlock(&support, &grant, &alice, "locked out by someone guessing")
        .await
        .unwrap()
        .is_accepted());
    assert!(tf.status(&alice).await.unwrap().is_on(), "nothing deleted");
    assert!(logs_in(&tf, &alice, &app.code(h.now())).await);
    assert!(h.notices().contains(&Change::Unlocked));
    assert_eq!(h.events.count(EventKind::AdminUnlock), 1);
    // the day's count stays: failures now lock again as before
    assert_eq!(
        tf.verify_login(&alice, "000000", None).await.unwrap(),
        rejected(4, Rejection::WrongCode)
    );
}

/// A reset of an account with nothing set up is an error before the
/// administrator's proof is evaluated.
#[tokio::test]
async fn nothing_to_reset_is_an_error_and_costs_the_administrator_nothing() {
    let h = Harness::new();
    let tf: TwoFactor = h.instance();
    let root = h.account("root");
    h.set_up_app(&tf, &root).await;
    let nobody = h.account("nobody");
    let pw = password();
    assert!(matches!(
        tf.admin_reset(&root, Reauth::with_code(&pw, "000000"), &nobody, "x")
            .await,
        Err(Error::NotEnabled)
    ));
    assert_eq!(h.events.count(EventKind::StepUpRejected), 0);
}
