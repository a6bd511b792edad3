//! A miss in progress: the one way to re-read an entry after waiting for its lock, fetch it,
//! and store it or note the failure.

use std::time::Duration;

use super::{CredentialRequest, Fetched, is_outage};
use crate::aliyun::error::refuses_credentials;
use crate::aliyun::{Client, Credentials};
use crate::cache::{self, Entry, Note, RefreshFailure};
use crate::config::Settings;
use crate::error::Error;
use crate::log::{verbose, warn};

/// How the wait for the key's lock ended.
pub(crate) enum Wait<'a> {
    /// Our turn to fetch.
    Miss(Miss<'a>),
    /// Another process stored the entry we wanted while we waited.
    Found(Entry),
    /// Another process's fetch of it failed a moment ago.
    Failed(Note),
}

/// A miss in progress, under the entry's lock when it could be taken.
pub(crate) struct Miss<'a> {
    request: &'a CredentialRequest,
    /// `None` when the cache directory cannot be used: nothing is read or written then.
    guard: Option<cache::Guard<'a>>,
}

impl<'a> Miss<'a> {
    /// Made only by [`CredentialRequest::lock`] and its variants, which took the lock (or
    /// found the directory unusable: `guard` is `None`).
    pub(super) fn new(request: &'a CredentialRequest, guard: Option<cache::Guard<'a>>) -> Self {
        Miss { request, guard }
    }
}

impl Miss<'_> {
    /// The entry as it is now, after the wait for the lock.
    pub(crate) fn reload(&self) -> Option<Entry> {
        self.guard.as_ref().and_then(cache::Guard::load)
    }

    /// The failure note along `route` as it is now, after the wait for the lock.
    pub(crate) fn note(&self, route: &str) -> Option<Note> {
        self.guard.as_ref().and_then(|guard| guard.note(route))
    }

    /// Cache a fresh entry; a failure only costs the next call a fetch, so it is a warning.
    pub(crate) fn store(&self, entry: &Entry) {
        let Some(guard) = &self.guard else {
            return;
        };
        if let Err(e) = guard.store(entry) {
            warn(&format!(
                "could not cache the credential in {}: {e}",
                self.request.cache.dir().display()
            ));
        }
    }

    /// Record a failed fetch. The cached entry that is `kept` (still served) is marked with the
    /// failure, for `cache list`. And the failure is noted for a few seconds when it is the
    /// API's or the network's (an outage, throttling), or `always` (a background refresh, whose
    /// error nobody saw): the calls waiting on this one, and those right after, then fail at
    /// once with the same error, or serve the kept entry without starting another refresh. A
    /// failure in the foreground that another try could not change (a wrong secret, a missing
    /// permission) is not noted: the user who fixes it and tries again at once must not be told
    /// the old error.
    pub(crate) fn record_failure(
        &self,
        error: &Error,
        route: String,
        kept: Option<&Entry>,
        always: bool,
    ) {
        let Some(guard) = &self.guard else {
            return;
        };
        if let Some(kept) = kept {
            let mut marked = kept.clone();
            marked.refresh_failed = Some(RefreshFailure {
                at: crate::time::now(),
                message: error.to_string(),
            });
            if let Err(e) = guard.store(&marked) {
                verbose!("could not record the failed refresh: {e}");
            }
        }
        if !always && !is_outage(error) {
            return;
        }
        let note = Note::new(
            self.request.key.canonical.clone(),
            route,
            crate::time::now(),
            error.to_string(),
            error.exit_code(),
        );
        if let Err(e) = guard.store_note(&note) {
            verbose!("could not note the failure: {e}");
        }
    }

    /// The source's credentials, the error naming the source.
    fn credentials(&self, client: &Client) -> Result<Credentials, Error> {
        let provider = &self.request.provider;
        provider
            .credentials(client)
            .map_err(|e| e.with_source(provider.describe()))
    }

    /// Ask the API for a kubeconfig and turn its user into a cache entry, within `budget`.
    pub(crate) fn fetch(&self, settings: &Settings, budget: Duration) -> Result<Fetched, Error> {
        let request = self.request;
        verbose!("credentials: {}", request.provider.describe());
        let client = Client::new(budget, &settings.access.client);
        let credentials = self.credentials(&client)?;
        match request.fetch_with(settings, &client, &credentials) {
            // Kept session credentials that the API refuses (revoked, say) are dropped, and
            // the call is made once more with new ones.
            Err(error) if refuses_credentials(&error) && request.provider.forget_session() => {
                verbose!("the API refused the kept session credentials; getting new ones");
                let credentials = self.credentials(&client)?;
                request.fetch_with(settings, &client, &credentials)
            }
            result => result,
        }
    }
}
