//! A stand-alone fake of the Alibaba Cloud Container Service API, for benchmarks and manual runs.
//!
//! It is the test suite's fake (`tests/it/support/fake_cloud/`, included below, not copied):
//! it listens on 127.0.0.1 only, checks every request's ROA signature and issues real client
//! certificates.
//!
//! ```text
//! cargo run --example fake_cloud -- [ACCESS_KEY_ID [ACCESS_KEY_SECRET [CLUSTER_ID]]]
//! ```
//!
//! It registers the access key (a RAM user) and the cluster (defaults: `BENCHAKID`,
//! `bench-secret`, `c-bench`), prints its endpoint (`http://127.0.0.1:PORT`) as the first and
//! only line of stdout, and serves until stdin reaches end of file or the process is killed.
//! Each line read from stdin is answered on stdout with the counters so far, e.g.
//! `requests=1 successes=1 server_us=1830`, so a script can check that a run made no request
//! and subtract the fake's own time (`server_us`, summed over the requests answered). A line may
//! first change how the fake behaves (benchmarks of slow APIs, outages and refreshes):
//! - `latency MS`: answer every request MS milliseconds late (0: at once);
//! - `fail`: answer everything with HTTP 503 `ServiceUnavailable` until `ok`;
//! - `lifetime SECONDS`: issue certificates valid for that long from now on;
//! - anything else (an empty line): just the counters.
//!
//! Several clusters can be given, separated by commas. On exit the counters go to stderr.

#![allow(dead_code)]
#![allow(
    clippy::cast_possible_truncation,
    clippy::cast_possible_wrap,
    clippy::needless_pass_by_value,
    clippy::too_many_lines,
    reason = "the test suite's fake, included as it is: tests/it/main.rs says why it allows these"
)]

#[path = "../tests/it/support/fake_cloud/mod.rs"]
mod fake_cloud;

use std::io::{self, BufRead, Write};

use std::time::Duration;

use fake_cloud::{FakeCloud, Fault};

const DEFAULT_KEY_ID: &str = "BENCHAKID";
const DEFAULT_KEY_SECRET: &str = "bench-secret";
const DEFAULT_CLUSTER_ID: &str = "c-bench";

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|a| a == "-h" || a == "--help") || args.len() > 3 {
        eprintln!(
            "usage: fake_cloud [ACCESS_KEY_ID [ACCESS_KEY_SECRET [CLUSTER_ID[,CLUSTER_ID...]]]]\n\
             defaults: {DEFAULT_KEY_ID} {DEFAULT_KEY_SECRET} {DEFAULT_CLUSTER_ID}"
        );
        std::process::exit(if args.len() > 3 { 2 } else { 0 });
    }
    let arg = |i: usize, default: &str| args.get(i).cloned().unwrap_or_else(|| default.to_string());
    let (key_id, key_secret, cluster_id) = (
        arg(0, DEFAULT_KEY_ID),
        arg(1, DEFAULT_KEY_SECRET),
        arg(2, DEFAULT_CLUSTER_ID),
    );

    let fake = FakeCloud::start();
    let principal = fake.add_access_key(&key_id, &key_secret);
    for cluster in cluster_id.split(',') {
        fake.add_cluster_with_defaults(cluster);
    }
    eprintln!(
        "fake_cloud: serving cluster {cluster_id} to access key {key_id} (uid {}) at {}",
        principal.uid,
        fake.endpoint()
    );

    let mut stdout = io::stdout().lock();
    writeln!(stdout, "{}", fake.endpoint()).expect("fake_cloud: write stdout");
    stdout.flush().expect("fake_cloud: flush stdout");

    // Serve until stdin closes; answer every line with the counters.
    for line in io::stdin().lock().lines() {
        let Ok(line) = line else {
            break;
        };
        let mut words = line.split_whitespace();
        let number = |word: Option<&str>| word.and_then(|w| w.parse::<u64>().ok());
        match words.next() {
            Some("latency") => {
                fake.set_latency(Duration::from_millis(number(words.next()).unwrap_or(0)));
            }
            Some("fail") => fake.fail_always(Fault::ServiceUnavailable),
            Some("ok") => fake.clear_faults(),
            Some("lifetime") => {
                fake.set_cert_lifetime(Duration::from_secs(number(words.next()).unwrap_or(3600)));
            }
            _ => {}
        }
        let reply = writeln!(
            stdout,
            "requests={} successes={} server_us={}",
            fake.count(),
            fake.successes(),
            server_time(&fake).as_micros()
        )
        .and_then(|()| stdout.flush());
        if reply.is_err() {
            break;
        }
    }
    eprintln!(
        "fake_cloud: stopping after requests={} successes={}",
        fake.count(),
        fake.successes()
    );
}

/// The time the fake itself spent on the requests it answered (from reading a request to having
/// its answer ready), for benchmarks that subtract it from the plugin's time.
fn server_time(fake: &FakeCloud) -> std::time::Duration {
    fake.requests()
        .iter()
        .filter_map(|r| Some(r.answered?.saturating_duration_since(r.received)))
        .sum()
}
