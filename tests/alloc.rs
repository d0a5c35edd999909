//! The TOTP check allocates nothing: dhat's heap statistics see no new
//! allocation while codes are verified, right or wrong, in any algorithm.
//! This file runs without the test harness (`harness = false`), so that
//! nothing else allocates in the process meanwhile.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use twofactor::methods::totp::Totp;
use twofactor::Algorithm;

#[global_allocator]
static ALLOC: dhat::Alloc = dhat::Alloc;

/// Heap blocks allocated while `f` runs.
fn allocations(f: impl FnOnce()) -> u64 {
    let before = dhat::HeapStats::get().total_blocks;
    f();
    dhat::HeapStats::get().total_blocks - before
}

fn main() {
    let _profiler = dhat::Profiler::builder().testing().build();
    let mut failed = 0;

    // The counter counts: an allocation is seen.
    let n = allocations(|| {
        std::hint::black_box(Vec::<u8>::with_capacity(std::hint::black_box(64)));
    });
    if n == 1 {
        println!("test the_counter_sees_an_allocation ... ok");
    } else {
        println!("test the_counter_sees_an_allocation ... FAILED ({n})");
        failed += 1;
    }

    let secret = [0x5au8; 20];
    for alg in [Algorithm::Sha1, Algorithm::Sha256, Algorithm::Sha512] {
        let totp = Totp::new(alg, 6, 30);
        let right = totp.code_at(&secret, 1_700_000_000).to_string();
        let mut found = 0;
        let n = allocations(|| {
            for i in 0..1000u64 {
                let t = 1_700_000_000 + (i % 3);
                if totp.matching_step(&secret, &right, t, 1, None).is_some() {
                    found += 1;
                }
                let _ = totp.matching_step(&secret, "000000", t, 1, Some(1));
                let _ = totp.matching_step(&secret, "x", t, 1, None);
            }
        });
        if n == 0 && found == 1000 {
            println!("test the_totp_check_allocates_nothing_{alg:?} ... ok");
        } else {
            println!("test the_totp_check_allocates_nothing_{alg:?} ... FAILED ({n} allocations, {found} found)");
            failed += 1;
        }
    }
    let passed = 4 - failed;
    println!("\ntest result: {}. {passed} passed; {failed} failed; 0 ignored; 0 measured; 0 filtered out", if failed == 0 { "ok" } else { "FAILED" });
    if failed > 0 {
        std::process::exit(1);
    }
}
