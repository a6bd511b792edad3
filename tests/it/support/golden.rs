//! Whole-message checks, the way casey/just pins its error messages: a test states the exact
//! stderr a user sees, and the parts that differ from run to run are masked first:
//!
//! | in the output                                  | becomes                 |
//! |------------------------------------------------|-------------------------|
//! | a RequestId the fake gave request number N     | `[request-id #N]`       |
//! | the run's HOME (and the cache inside it)       | `[home]`                |
//! | the fake's endpoint `http://127.0.0.1:PORT`    | `http://[fake]`         |
//! | any other `127.0.0.1:PORT`                     | `127.0.0.1:[port]`      |
//! | other temporary paths `/tmp/NAME`              | `[tmp]`                 |
//! | the binary's path                              | `[bin]`                 |
//! | RFC 3339 times, `2026-01-02T03:04:05Z`         | `[time]`                |
//! | HTTP dates, `Fri, 02 Jan 2026 03:04:05 GMT`    | `[date]`                |
//! | a source's hash, ` #` and 16 hex digits         | ` #[hash]`              |
//! | milliseconds to a tenth, `12.3 ms`             | `[ms]`                  |
//!
//! When a message changes on purpose, `GOLDEN_CAPTURE=DIR cargo test` writes each actual
//! (masked) message [`assert_stderr`], [`assert_masked`] and [`assert_error`] see to
//! `DIR/<test>@<line>`, ready to be pasted in, and still compares it: a test whose message
//! changed fails (at its first changed message, so run again after pasting it in).

use super::plugin::{BIN, Run};

/// Asserts that the run's stderr, masked, is exactly `expected`: the text as users see it, as a
/// raw string that may start on a line of its own (a leading newline is dropped, a trailing one
/// implied).
#[track_caller]
pub fn assert_stderr(run: &Run, expected: &str) {
    assert_masked(run, "stderr", &normalise(run, &run.stderr), expected);
}

/// Asserts that `actual` (a stream of the run, already masked by [`normalise`] and whatever the
/// test masks besides) is exactly `expected`, as [`assert_stderr`] does.
#[track_caller]
pub fn assert_masked(run: &Run, stream: &str, actual: &str, expected: &str) {
    assert_golden(
        run,
        &format!("{stream} is not the golden text"),
        actual,
        expected,
    );
}

/// Asserts that the error the run ended with (stderr from its `ack-credential-plugin: error:`
/// line on, after whatever `-v` printed) is exactly `expected`, masked as [`assert_stderr`]
/// masks.
#[track_caller]
pub fn assert_error(run: &Run, expected: &str) {
    let actual = normalise(run, &run.stderr);
    let error = actual
        .find("ack-credential-plugin: error:")
        .map_or("", |at| &actual[at..]);
    assert_golden(run, "the error is not the golden message", error, expected);
}

/// Asserts that `actual` is the golden text `expected` (a leading newline dropped, a trailing
/// one implied), failing with `headline`, both texts and the run. With `GOLDEN_CAPTURE=DIR`,
/// `actual` is first written to `DIR/<test>@<line of the assertion>`, and still compared: a
/// capture run passes only where the text already was the golden one.
#[track_caller]
fn assert_golden(run: &Run, headline: &str, actual: &str, expected: &str) {
    let expected = expected.strip_prefix('\n').unwrap_or(expected);
    let expected = format!("{}\n", expected.trim_end_matches('\n'));
    // Out here: inside the closure below, the caller would be the closure's line.
    let line = std::panic::Location::caller().line();
    let captured = std::env::var_os("GOLDEN_CAPTURE").map(|dir| {
        let name = std::thread::current()
            .name()
            .unwrap_or("unnamed")
            .to_string();
        std::fs::create_dir_all(&dir).unwrap();
        let path = std::path::Path::new(&dir).join(format!("{name}@{line}"));
        std::fs::write(&path, actual).unwrap();
        format!(" (captured to {})", path.display())
    });
    assert!(
        actual == expected,
        "{headline}{}\n\
         ---- expected (masked)\n{expected}\
         ---- actual (masked)\n{actual}\
         ---- first difference at line {}\n{run}",
        captured.unwrap_or_default(),
        first_difference(&expected, actual)
    );
}

/// `text` with the parts that vary between runs masked (see the module docs).
pub fn normalise(run: &Run, text: &str) -> String {
    let mut out = text.to_string();
    for record in run.fake().requests().iter().rev() {
        out = out.replace(&record.request_id, &format!("[request-id #{}]", record.seq));
    }
    out = out.replace(&run.home.display().to_string(), "[home]");
    out = out.replace(&run.fake().endpoint(), "http://[fake]");
    out = out.replace(BIN, "[bin]");
    if let Ok(canonical) = std::fs::canonicalize(BIN) {
        out = out.replace(&canonical.display().to_string(), "[bin]");
    }
    out = mask_after(&out, "127.0.0.1:", "[port]", |c| c.is_ascii_digit());
    let tmp = std::env::temp_dir().display().to_string();
    out = mask_after(&out, &format!("{}/", tmp.trim_end_matches('/')), "", |c| {
        !c.is_whitespace() && !"/`'\":,)".contains(c)
    })
    .replace(&format!("{}/", tmp.trim_end_matches('/')), "[tmp]");
    out = mask_hashes(&out);
    out = mask_millis(&out);
    out = mask_times(&out);
    out = mask_http_dates(&out);
    out
}

/// Replaces the run of characters matching `part` right after each `prefix` with `mask`.
fn mask_after(text: &str, prefix: &str, mask: &str, part: impl Fn(char) -> bool) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find(prefix) {
        out.push_str(&rest[..at + prefix.len()]);
        rest = &rest[at + prefix.len()..];
        let end = rest.find(|c: char| !part(c)).unwrap_or(rest.len());
        if end > 0 {
            out.push_str(mask);
        }
        rest = &rest[end..];
    }
    out.push_str(rest);
    out
}

/// ` #` and exactly 16 hex digits (a hash the plugin prints beside a path) → ` #[hash]`.
fn mask_hashes(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find(" #") {
        out.push_str(&rest[..at + 2]);
        rest = &rest[at + 2..];
        let hex = rest.bytes().take_while(u8::is_ascii_hexdigit).count();
        if hex == 16 {
            out.push_str("[hash]");
            rest = &rest[16..];
        }
    }
    out.push_str(rest);
    out
}

/// A duration in milliseconds to a tenth, `12.3 ms` → `[ms]`.
fn mask_millis(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find(" ms") {
        let before = &rest[..at];
        let digits = before
            .bytes()
            .rev()
            .take_while(|b| b.is_ascii_digit() || *b == b'.')
            .count();
        let number = &before[before.len() - digits..];
        let is_millis = number.len() >= 3
            && number.as_bytes()[number.len() - 2] == b'.'
            && number.bytes().filter(|b| *b == b'.').count() == 1
            && number.as_bytes()[0].is_ascii_digit();
        if is_millis {
            out.push_str(&before[..before.len() - digits]);
            out.push_str("[ms]");
        } else {
            out.push_str(before);
            out.push_str(" ms");
        }
        rest = &rest[at + " ms".len()..];
    }
    out.push_str(rest);
    out
}

/// `YYYY-MM-DDTHH:MM:SS` with optional fraction and a `Z` or `±HH:MM` zone → `[time]`.
fn mask_times(text: &str) -> String {
    let shape = "dddd-dd-ddTdd:dd:dd";
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < bytes.len() {
        let fits = bytes.len() - i >= shape.len()
            && shape.bytes().zip(&bytes[i..]).all(|(s, b)| match s {
                b'd' => b.is_ascii_digit(),
                other => other == *b,
            });
        if !fits {
            let ch = text[i..].chars().next().expect("a char");
            out.push(ch);
            i += ch.len_utf8();
            continue;
        }
        let mut end = i + shape.len();
        if bytes.get(end) == Some(&b'.') {
            end += 1;
            while bytes.get(end).is_some_and(u8::is_ascii_digit) {
                end += 1;
            }
        }
        match bytes.get(end) {
            Some(b'Z') => end += 1,
            Some(b'+' | b'-')
                if bytes.len() >= end + 6
                    && bytes[end + 1..end + 3].iter().all(u8::is_ascii_digit)
                    && bytes[end + 3] == b':' =>
            {
                end += 6;
            }
            _ => {}
        }
        out.push_str("[time]");
        i = end;
    }
    out
}

/// `Www, DD Mmm YYYY HH:MM:SS GMT` → `[date]`.
fn mask_http_dates(text: &str) -> String {
    let mut out = text.to_string();
    for day in [
        "Mon, ", "Tue, ", "Wed, ", "Thu, ", "Fri, ", "Sat, ", "Sun, ",
    ] {
        while let Some(at) = out.find(day) {
            let Some(len) = out[at..].find(" GMT").map(|end| end + " GMT".len()) else {
                break;
            };
            if len > 32 {
                break;
            }
            out.replace_range(at..at + len, "[date]");
        }
    }
    out
}

fn first_difference(expected: &str, actual: &str) -> usize {
    expected
        .lines()
        .zip(actual.lines())
        .position(|(e, a)| e != a)
        .unwrap_or_else(|| expected.lines().count().min(actual.lines().count()))
        + 1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_times_dates_and_hashes_but_not_request_ids() {
        assert_eq!(
            mask_times("valid until 2026-01-02T03:04:05Z, or 2026-01-02T03:04:05.123+08:00."),
            "valid until [time], or [time]."
        );
        assert_eq!(
            mask_millis("DNS 0.1 ms, connect 12.3 ms, took 5 ms, 1.23 ms"),
            "DNS [ms], connect [ms], took 5 ms, 1.23 ms"
        );
        assert_eq!(
            mask_http_dates("Date: Fri, 02 Jan 2026 03:04:05 GMT ok"),
            "Date: [date] ok"
        );
        assert_eq!(
            mask_hashes("external:/bin/x #3e9cb10b0389dfe6 (RequestId: [request-id #0])"),
            "external:/bin/x #[hash] (RequestId: [request-id #0])"
        );
        assert_eq!(
            mask_after(
                "http://127.0.0.1:41234/x and 127.0.0.1:1",
                "127.0.0.1:",
                "[port]",
                |c| { c.is_ascii_digit() }
            ),
            "http://127.0.0.1:[port]/x and 127.0.0.1:[port]"
        );
    }
}
