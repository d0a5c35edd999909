//! What the checks do with the heap, seen by dhat's statistics: the emailed
//! or texted code check and the remembered-device check allocate nothing;
//! the TOTP check (totp-rs underneath, which copies the secret and writes
//! each code into a `String`, both zeroed when dropped) frees all it
//! allocates, so no copy of a secret outlives the call. This file runs
//! without the test harness (`harness = false`), so that nothing else
//! allocates in the process meanwhile.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use twofactor::__internal::Totp;
use twofactor::__internal::{CodeCheck, DeviceCheck};
use twofactor::Algorithm;

#[global_allocator]
static ALLOC: dhat::Alloc = dhat::Alloc;

/// Heap blocks allocated while `f` runs, and blocks still live after it.
fn allocations(f: impl FnOnce()) -> (u64, i64) {
    let before = dhat::HeapStats::get();
    f();
    let after = dhat::HeapStats::get();
    (
        after.total_blocks - before.total_blocks,
        after.curr_blocks as i64 - before.curr_blocks as i64,
    )
}

fn report(name: &str, ok: bool, detail: String, failed: &mut u32) {
    if ok {
        println!("test {name} ... ok");
    } else {
        println!("test {name} ... FAILED ({detail})");
        *failed += 1;
    }
}

fn main() {
    let _profiler = dhat::Profiler::builder().testing().build();
    let mut failed = 0;
    let mut run = 0;

    // The counter counts: an allocation is seen, and its freeing.
    let (n, live) = allocations(|| {
        std::hint::black_box(Vec::<u8>::with_capacity(std::hint::black_box(64)));
    });
    run += 1;
    report(
        "the_counter_sees_an_allocation",
        n == 1 && live == 0,
        format!("{n} allocated, {live} live"),
        &mut failed,
    );

    let code = CodeCheck::new("402917", "alice@example.com");
    let devices = DeviceCheck::new().unwrap();
    let token = DeviceCheck::token(19);
    let (n, _) = allocations(|| {
        for _ in 0..1000 {
            assert!(code.verify("402917", "alice@example.com"));
            assert!(!code.verify("000000", "alice@example.com"));
            assert!(!code.verify("x", "alice@example.com"));
            assert_eq!(devices.verify(&token), Some(19));
        }
    });
    run += 1;
    report(
        "the_code_and_device_checks_allocate_nothing",
        n == 0,
        format!("{n} allocations"),
        &mut failed,
    );

    let secret = [0x5au8; 20];
    for alg in [Algorithm::Sha1, Algorithm::Sha256, Algorithm::Sha512] {
        let totp = Totp::new(alg, 6, 30);
        let right = totp.code_at(&secret, 1_700_000_000).to_string();
        let mut found = 0;
        let (n, live) = allocations(|| {
            for i in 0..1000u64 {
                let t = 1_700_000_000 + (i % 3);
                if totp.matching_step(&secret, &right, t, 1, None).is_some() {
                    found += 1;
                }
                let _ = totp.matching_step(&secret, "000000", t, 1, Some(1));
                let _ = totp.matching_step(&secret, "x", t, 1, None);
            }
        });
        run += 1;
        report(
            &format!("the_totp_check_frees_all_it_allocates_{alg:?}"),
            live == 0 && n > 0 && found == 1000,
            format!("{n} allocated, {live} live, {found} found"),
            &mut failed,
        );
    }
    let passed = run - failed;
    println!(
        "\ntest result: {}. {passed} passed; {failed} failed; 0 ignored; 0 measured; 0 filtered out",
        if failed == 0 { "ok" } else { "FAILED" }
    );
    if failed > 0 {
        std::process::exit(1);
    }
}
