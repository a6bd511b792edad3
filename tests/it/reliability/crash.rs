//! Crash safety: a forced refresh `SIGKILLed` at any moment leaves the old cache entry or the new
//! one, never a torn one, and the next call succeeds from it.
//!
//! The trial aims its kills so that each moment that matters is hit, and counts where each kill
//! really landed (judged afterwards from the fake's log and the entry file, not from the aim):
//!
//! - before the answer: the request had not reached the fake (killed right after the start), or
//!   the fake was still holding it (a hung answer);
//! - during: the fake had answered, but the new entry was not renamed into place yet (killed a
//!   random few hundred microseconds after the answer; the window adapts to this machine);
//! - after the write: the new entry was in place (the child blocks writing its ExecCredential
//!   to a stdout that accepts nothing, which `get-credential` does only after storing it).

use super::*;
use crate::support::background::{Background, Finished};
use crate::support::rng::Rng;
use crate::support::wait::wait_until;

/// Where a kill landed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Moment {
    /// The fake had not answered (the request had not arrived, or was being held).
    BeforeTheAnswer,
    /// The fake had answered; the entry file was still the old one.
    BeforeTheRename,
    /// The new entry was in place.
    AfterTheRename,
}

/// How a trial aims its kill.
#[derive(Clone, Copy, Debug)]
enum Aim {
    /// SIGKILL right after the start, a random 0–2 ms in.
    AtStart,
    /// The fake holds the request (a hung answer); SIGKILL once it has arrived.
    WhileTheRequestIsHeld,
    /// SIGKILL a random moment after the fake has sent its answer.
    AfterTheAnswer,
    /// Start with a stdout that accepts nothing; SIGKILL once the entry file has changed.
    WhilePrinting,
}

#[derive(Debug, Default)]
struct Tally {
    trials: usize,
    /// Exited on its own before the kill.
    finished: usize,
    /// Killed before its request reached the fake.
    before_the_request: usize,
    /// Killed while the fake held its request, unanswered.
    while_the_request_was_held: usize,
    /// Killed after the answer, before the new entry was renamed into place.
    before_the_rename: usize,
    /// Killed after the new entry was in place.
    after_the_rename: usize,
}

impl Tally {
    fn before_the_answer(&self) -> usize {
        self.before_the_request + self.while_the_request_was_held
    }
}

/// Kills needed in each of the three moments before the trial may stop.
const ENOUGH: usize = 6;
/// The trial stops once every moment has ENOUGH kills and this many trials ran...
const MIN_TRIALS: usize = 60;
/// ... or when this long has passed (and then fails if a moment was never hit).
const BUDGET: Duration = Duration::from_secs(40);

#[test]
fn sigkill_during_a_forced_refresh_never_leaves_a_broken_cache() {
    let (mut rng, seed) = Rng::from_env_or_clock();
    println!("crash safety: seed {seed} (replay with RELIABILITY_SEED={seed})");
    let (fake, me) = cloud();
    let plugin = get_credential(&fake);
    plugin.run_ok();
    let entry = only_entry(plugin.cache_path());
    let refresh = plugin.clone().arg("--force-refresh");
    let mut tally = Tally::default();
    // The upper end of the random wait after the answer, adapted as kills land.
    let mut window = Duration::from_millis(3);
    let started = Instant::now();

    while started.elapsed() < BUDGET {
        let enough = tally
            .before_the_request
            .min(tally.while_the_request_was_held)
            * 2
            >= ENOUGH
            && tally.before_the_rename >= ENOUGH
            && tally.after_the_rename >= ENOUGH;
        if enough && tally.trials >= MIN_TRIALS {
            break;
        }
        let aim = match tally.trials % 5 {
            0 => Aim::AtStart,
            1 => Aim::WhileTheRequestIsHeld,
            3 => Aim::WhilePrinting,
            _ => Aim::AfterTheAnswer,
        };
        let trial = tally.trials;
        tally.trials += 1;
        let before = fs::read(&entry).expect("the entry before the trial");
        let seq = fake.count();
        let delay = Duration::from_micros(rng.up_to(window.as_micros() as u64));
        let context = format!(
            "trial {trial} (seed {seed}, replay with RELIABILITY_SEED={seed}), aimed {aim:?}, \
             delay {delay:?}"
        );

        let (finished, kill_at) = match aim {
            Aim::AtStart => {
                let child = refresh.spawn();
                thread::sleep(Duration::from_micros(rng.up_to(2000)));
                kill_now(child)
            }
            Aim::WhileTheRequestIsHeld => {
                fake.fail_next(1, Fault::Hang);
                let child = refresh.spawn();
                fake.wait_for("the request arrived", Duration::from_secs(20), |log| {
                    log.len() > seq
                });
                kill_now(child)
            }
            Aim::AfterTheAnswer => {
                let child = refresh.spawn();
                fake.wait_for("the answer was sent", Duration::from_secs(20), |log| {
                    log.get(seq).is_some_and(|r| r.answered.is_some())
                });
                // Part of the experiment, not synchronisation: where after the answer to kill.
                thread::sleep(delay);
                kill_now(child)
            }
            Aim::WhilePrinting => {
                let child = refresh.spawn_with_stdout_blocked();
                wait_until("the new entry is in place", Duration::from_secs(20), || {
                    fs::read(&entry).is_ok_and(|now| now != before)
                });
                kill_now(child)
            }
        };

        // The killed child's request may still be queued or half read: let the fake finish with
        // it before counting, or the next call would seem to have fetched.
        fake.settle();
        let after = fs::read(&entry)
            .unwrap_or_else(|e| panic!("{context}: the entry is gone after the kill: {e}"));
        let record = fake.requests().get(seq).cloned();
        let answered = record
            .as_ref()
            .and_then(|r| r.answered)
            .is_some_and(|at| at < kill_at);
        let moment = if after != before {
            Moment::AfterTheRename
        } else if answered {
            Moment::BeforeTheRename
        } else {
            Moment::BeforeTheAnswer
        };
        if finished.killed {
            match moment {
                Moment::BeforeTheAnswer if record.is_none() => tally.before_the_request += 1,
                Moment::BeforeTheAnswer => tally.while_the_request_was_held += 1,
                Moment::BeforeTheRename => tally.before_the_rename += 1,
                Moment::AfterTheRename => tally.after_the_rename += 1,
            }
        } else {
            assert!(finished.status.success(), "{context}\n{finished}");
            assert_eq!(moment, Moment::AfterTheRename, "{context}\n{finished}");
            tally.finished += 1;
        }
        if let Aim::AfterTheAnswer = aim {
            // Landing after the rename (or not at all): aim earlier; before it: a little later.
            window = if moment == Moment::AfterTheRename {
                (window / 2).max(Duration::from_micros(100))
            } else {
                (window * 5 / 4).min(Duration::from_millis(50))
            };
        }

        // The entry is the old one or a complete new one, never a torn one.
        if moment == Moment::AfterTheRename {
            assert!(
                answered || !finished.killed,
                "{context}: a new entry without an answer"
            );
            let issued = record
                .and_then(|r| r.issued)
                .unwrap_or_else(|| panic!("{context}: no certificate issued\n{}", fake.dump()));
            let new: serde_json::Value = serde_json::from_slice(&after).unwrap_or_else(|e| {
                panic!(
                    "{context}: the new entry is torn ({e}): {}",
                    String::from_utf8_lossy(&after)
                )
            });
            assert_eq!(
                new["credential"]["clientCertificateData"].as_str(),
                issued.certificate_pem.as_deref(),
                "{context}: the new entry does not hold the certificate just issued"
            );
        }

        // The next call succeeds from that entry: no fetch, no waiting on a lock, no warning.
        let requests = fake.count();
        let next = plugin.run_ok();
        assert_eq!(next.stderr, "", "{context}\n{next}");
        assert_eq!(
            fake.count(),
            requests,
            "{context}: the next call had to fetch again: the entry left by the kill was \
             unusable\n{next}"
        );
        assert_eq!(
            fs::read(&entry).unwrap(),
            after,
            "{context}: the next call rewrote the entry\n{next}"
        );
        let credential = next.credential();
        let cert_pem = credential.client_certificate_data.clone().unwrap();
        let key_pem = credential.client_key_data.clone().unwrap();
        if let Err(problem) = key_matches_certificate(&cert_pem, &key_pem) {
            panic!("{context}: {problem}\n{next}");
        }
        let cert = CertInfo::parse(&cert_pem).unwrap();
        assert_eq!(cert.common_name, me.uid, "{context}\n{next}");
        assert_eq!(
            cert.issuer_common_name, FAKE_CLIENT_CA_CN,
            "{context}\n{next}"
        );
        // (Plugin::run has checked that the certificate and key are a pair the fake issued.)
    }

    let leftovers: Vec<PathBuf> = files_in(plugin.cache_path())
        .into_iter()
        .filter(|p| p.to_string_lossy().ends_with(".tmp"))
        .collect();
    println!(
        "crash safety: {} trials in {:?}: {} finished before the kill; killed {} times before \
         the answer ({} before the request reached the fake, {} while it held the request), {} \
         times after the answer but before the rename, {} times after the rename; every next \
         call OK; {} leftover .tmp file(s) in the cache dir",
        tally.trials,
        started.elapsed(),
        tally.finished,
        tally.before_the_answer(),
        tally.before_the_request,
        tally.while_the_request_was_held,
        tally.before_the_rename,
        tally.after_the_rename,
        leftovers.len()
    );
    assert!(
        tally.before_the_request > 0 && tally.while_the_request_was_held > 0,
        "no kill landed before the answer in one of its ways: {tally:?} (seed {seed})"
    );
    assert!(
        tally.before_the_rename > 0,
        "no kill landed between the answer and the rename: {tally:?} (seed {seed})"
    );
    assert!(
        tally.after_the_rename > 0,
        "no kill landed after the rename: {tally:?} (seed {seed})"
    );

    // No lock outlived the killed processes: a forced refresh with the default lock wait
    // (45 s) neither waits nor warns.
    let last = refresh.run_ok();
    assert_eq!(last.stderr, "", "{last}");
}

/// SIGKILLs the child; returns how it ended and the instant just before the kill.
fn kill_now(child: Background<'_>) -> (Finished, Instant) {
    let kill_at = Instant::now();
    (child.kill(), kill_at)
}
