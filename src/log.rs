//! `-v` logging: diagnostic lines on stderr, silent unless asked for.
//!
//! stdout belongs to the ExecCredential, and k9s shows whatever lands on stderr, so nothing is
//! printed on success without `-v`. Never pass a secret to [`verbose!`]: callers log ids, paths,
//! status codes and request ids only.

use std::sync::atomic::{AtomicBool, Ordering};

static VERBOSE: AtomicBool = AtomicBool::new(false);

pub(crate) fn set_verbose(on: bool) {
    VERBOSE.store(on, Ordering::Relaxed);
}

pub(crate) fn is_verbose() -> bool {
    VERBOSE.load(Ordering::Relaxed)
}

/// Print a diagnostic line on stderr when `-v` was given.
macro_rules! verbose {
    ($($arg:tt)*) => {
        if $crate::log::is_verbose() {
            eprintln!("ack-credential-plugin: {}", format_args!($($arg)*));
        }
    };
}
pub(crate) use verbose;

/// Print a warning on stderr, always: for the rare case that succeeds but needs the user's eye
/// (a stale certificate served because a refresh failed, a cache that could not be written).
pub(crate) fn warn(message: &str) {
    eprintln!("ack-credential-plugin: warning: {message}");
}
