//! A credential request, the part `get-credential` and `kubeconfig` share: worked out without
//! network (who is asking, which API endpoint, which cache entry), then, on a miss, fetched
//! under the entry's lock.
//!
//! The miss path is a type: [`CredentialRequest::lock`] hands back a [`Miss`], and only through
//! it can the entry be re-read after the wait, fetched and stored.

use std::convert::Infallible;
use std::fmt::Write as _;
use std::fs::File;
use std::path::PathBuf;

use crate::aliyun::cs::{self, UserKubeconfigRequest};
use crate::aliyun::{Client, Credentials, IssuedKubeconfig, adcp, servicemesh};
use crate::cache::{self, Cache, CacheKey, Entry, KeyInput, Note};
use crate::cert;
use crate::config::{Access, Settings, Target};
use crate::credentials::session::SessionStore;
use crate::credentials::{Provider, chain, context};
use crate::env::Env;
use crate::error::Error;
use crate::kubeconfig::Kubeconfig;
use crate::log::verbose;
use crate::log::warn;

mod miss;
pub(crate) use miss::{Miss, Wait};

/// A request made ready without network: the credential source, the API endpoint, the cache
/// entry's key.
pub(crate) struct CredentialRequest {
    provider: Box<dyn Provider>,
    endpoint: String,
    key: CacheKey,
    cache: Cache,
}

/// A fresh credential and the kubeconfig it came in.
pub(crate) struct Fetched {
    pub(crate) entry: Entry,
    pub(crate) kubeconfig: Kubeconfig,
}

impl CredentialRequest {
    /// Find the credential source and the cache key: local files and variables only.
    /// `fresh_sessions` (`--force-refresh`): do not reuse kept STS sessions either.
    pub(crate) fn resolve(
        settings: &Settings,
        env: &Env,
        fresh_sessions: bool,
    ) -> Result<Self, Error> {
        let session = SessionStore::new(settings.cache_dir.clone(), !fresh_sessions);
        let provider = chain::discover(
            &chain_context(&settings.access, env, Some(session)),
            settings.access.profile.as_deref(),
            settings.access.role_arn.as_deref(),
        )?;
        Self::with_provider(settings, provider)
    }

    /// The request for a source already found: its endpoint and cache key.
    pub(crate) fn with_provider(
        settings: &Settings,
        provider: Box<dyn Provider>,
    ) -> Result<Self, Error> {
        let endpoint = settings.api_endpoint(provider.region())?;
        let identity = provider.identity();
        let key = CacheKey::new(&KeyInput {
            api: settings.target.action(),
            id: settings.target.id(),
            uid: settings.target.uid(),
            private_ip: settings.private_ip,
            minutes: settings.minutes,
            endpoint: &endpoint,
            identity: identity.value(),
        });
        Ok(CredentialRequest {
            provider,
            endpoint,
            key,
            cache: Cache::new(settings.cache_dir.clone()),
        })
    }

    /// The cached entry, if there is a sound one: the hit path.
    pub(crate) fn load(&self) -> Option<Entry> {
        self.cache.load(&self.key)
    }

    /// Where the entry lives, for `-v`.
    pub(crate) fn entry_path(&self) -> std::path::PathBuf {
        self.cache.entry_path(&self.key)
    }

    /// What decides how a fetch goes, beyond what decides the certificate (the key): the
    /// source as configured (the plugin's and the SDKs' variables, and when the credentials
    /// files last changed), the STS and metadata endpoints, the budget, proxies and trust roots,
    /// as a digest. A failure note stands only for the same route, so that a user who changes
    /// one of these (a proxy, an endpoint, a profile) is not shown the old error. Worked out only
    /// when it is needed, never on a hit. (The digest covers secrets among the variables too;
    /// it is 128 bits of SHA-256 in a 0600 file, and tells nothing of them.)
    pub(crate) fn route(&self, settings: &Settings, env: &Env) -> String {
        let mut text = format!(
            "{}\n{:?}\n{}\n{}",
            self.provider.describe(),
            settings.access.sts,
            settings.access.ecs_endpoint,
            settings.access.api_timeout.as_millis()
        );
        for (name, value) in env.with_prefixes(ROUTE_VARIABLES) {
            let _ = write!(text, "\n{name}={value}");
        }
        let home = env.home();
        let files = [
            env.get("ALIBABA_CLOUD_CONFIG_FILE").map(PathBuf::from),
            home.as_ref().map(|h| h.join(".aliyun/config.json")),
            env.get("ALIBABA_CLOUD_CREDENTIALS_FILE").map(PathBuf::from),
            home.as_ref().map(|h| h.join(".alibabacloud/credentials")),
            home.as_ref()
                .map(|h| h.join(".alibabacloud/credentials.ini")),
            env.get("ALIBABA_CLOUD_OIDC_TOKEN_FILE").map(PathBuf::from),
        ];
        for path in files.iter().flatten() {
            if let Ok(metadata) = std::fs::metadata(path) {
                let _ = write!(
                    text,
                    "\n{} {} {:?}",
                    path.display(),
                    metadata.len(),
                    metadata.modified().ok()
                );
            }
        }
        crate::digest::name_hash(&text)
    }

    /// The note of a fetch of this credential, along `route`, that failed a moment ago, if one
    /// stands.
    pub(crate) fn note(&self, route: &str) -> Option<Note> {
        self.cache.note(&self.key, route)
    }

    /// Start a miss: take the key's lock. While another process holds it (fetching the same
    /// credential), re-read the entry between tries: an entry that is `wanted`, or a note that
    /// the other fetch along `notes_for` (a route) failed, ends the wait.
    pub(crate) fn wait(
        &self,
        settings: &Settings,
        wanted: impl Fn(&Entry) -> bool,
        notes_for: Option<&str>,
    ) -> Wait<'_> {
        let found = self.lock_polling(settings, |view: &cache::View| {
            if let Some(entry) = view.load().filter(|entry| wanted(entry)) {
                return Some(Wait::Found(entry));
            }
            view.note(notes_for?).map(Wait::Failed)
        });
        match found {
            Ok(miss) => Wait::Miss(miss),
            Err(wait) => wait,
        }
    }

    /// Take the key's lock if nobody holds it, without waiting (to start a background refresh):
    /// `None` when someone does, or the cache cannot be used.
    pub(crate) fn try_lock(&self) -> Option<cache::Guard<'_>> {
        self.cache.try_lock(&self.key)
    }

    /// As the detached refresher, take over the key's lock, handed down as `file`, and start
    /// the miss under it: `None` if `file` is not that lock.
    pub(crate) fn adopt(&self, file: File) -> Option<Miss<'_>> {
        let guard = self.cache.adopt(&self.key, file)?;
        Some(Miss::new(self, Some(guard)))
    }

    /// Start a miss that fetches whatever happens (`kubeconfig`): take the key's lock.
    pub(crate) fn lock(&self, settings: &Settings) -> Miss<'_> {
        match self.lock_polling(settings, |_| None::<Infallible>) {
            Ok(miss) => miss,
            Err(never) => match never {},
        }
    }

    /// Take the key's lock, calling `poll` between tries. After the bounded wait, go on
    /// without it rather than hang kubectl; if the cache directory cannot be used at all
    /// (read-only, another user's, a folder of other files), go on without the cache: a
    /// credential is still better than none.
    fn lock_polling<T>(
        &self,
        settings: &Settings,
        poll: impl FnMut(&cache::View) -> Option<T>,
    ) -> Result<Miss<'_>, T> {
        let guard = match self.cache.lock(&self.key, settings.lock_timeout, poll) {
            Ok(cache::Locking::Polled(found)) => return Err(found),
            Ok(cache::Locking::Guard(guard)) => {
                if !guard.is_locked() {
                    warn(&format!(
                        "gave up waiting {} s for another process fetching the same credential; fetching it here",
                        settings.lock_timeout.as_secs()
                    ));
                }
                Some(guard)
            }
            Err(error) => {
                warn(&format!("{error}\ngoing on without the cache"));
                None
            }
        };
        Ok(Miss::new(self, guard))
    }
}

impl CredentialRequest {
    /// One call of the API that issues the target's kubeconfig.
    fn issue(
        &self,
        settings: &Settings,
        client: &Client,
        credentials: &Credentials,
    ) -> Result<IssuedKubeconfig, Error> {
        match &settings.target {
            Target::Cluster { id, uid } => cs::describe_user_kubeconfig(
                client,
                &self.endpoint,
                credentials,
                &UserKubeconfigRequest {
                    cluster_id: id,
                    uid: uid.as_deref(),
                    private_ip: settings.private_ip,
                    minutes: settings.minutes,
                },
            ),
            Target::Mesh { id } => servicemesh::describe_kubeconfig(
                client,
                &self.endpoint,
                credentials,
                id,
                settings.private_ip,
            ),
            Target::Fleet { id } => adcp::describe_hub_kubeconfig(
                client,
                &self.endpoint,
                credentials,
                id,
                settings.private_ip,
            ),
        }
    }

    /// Ask the API for a kubeconfig with `credentials` (the source's, already asked for) and
    /// turn its user into a cache entry, without the key's lock and without storing it: a
    /// miss's fetch, and `doctor`'s certificate, held in memory only. (Storing takes a
    /// [`Miss`].)
    pub(crate) fn fetch_with(
        &self,
        settings: &Settings,
        client: &Client,
        credentials: &Credentials,
    ) -> Result<Fetched, Error> {
        let issued = self.issue(settings, client, credentials)?;
        let action = settings.target.action();
        let bad = |detail: String| Error::BadResponse {
            action,
            request_id: issued.request_id.clone(),
            detail,
        };
        let kubeconfig = Kubeconfig::parse(&issued.config).map_err(bad)?;
        let credential = kubeconfig.credential().map_err(bad)?;
        let validity = match (
            &credential.client_certificate_data,
            &credential.client_key_data,
        ) {
            (Some(cert), Some(key)) => {
                let validity = cert::check_pair(cert, key).map_err(bad)?;
                verbose!(
                    "certificate valid from {} to {}",
                    crate::time::rfc3339(validity.not_before),
                    crate::time::rfc3339(validity.not_after)
                );
                Some(validity)
            }
            _ => None,
        };
        // A mesh or fleet asks for no lifetime; without a certificate or an expiry, assume an
        // hour.
        let fallback_minutes = if settings.minutes == 0 {
            60
        } else {
            settings.minutes
        };
        let entry = Entry::new(
            self.key.canonical.clone(),
            &credential,
            crate::time::now(),
            validity,
            issued.expiration,
            i64::from(fallback_minutes) * 60,
        )
        .map_err(bad)?;
        Ok(Fetched { entry, kubeconfig })
    }
}

/// What the credential sources need to know about their surroundings, from the access
/// settings; `session` keeps STS sessions between runs (`None`: none is read or written).
pub(crate) fn chain_context<'a>(
    access: &'a Access,
    env: &'a Env,
    session: Option<SessionStore>,
) -> context::Context<'a> {
    context::Context {
        env,
        home: env.home(),
        sts: &access.sts,
        ecs_endpoint: access.ecs_endpoint.clone(),
        imds_v1_disabled: access.imds_v1_disabled,
        dmi_dir: context::DMI_DIR.into(),
        session,
    }
}

/// The variables, by prefix, that change how a fetch goes (see [`CredentialRequest::route`]):
/// the credential chain's, the plugin's, proxies and trust roots.
const ROUTE_VARIABLES: &[&str] = &[
    "ALIBABA_CLOUD_",
    "ALIBABACLOUD_",
    "ALICLOUD_",
    "ACK_",
    // The aliyun CLI's bare spellings, read after the others.
    "ACCESS_KEY_ID",
    "ACCESS_KEY_SECRET",
    "SECURITY_TOKEN",
    "REGION",
    "ENDPOINT_TYPE",
    "HTTPS_PROXY",
    "https_proxy",
    "HTTP_PROXY",
    "http_proxy",
    "ALL_PROXY",
    "all_proxy",
    "NO_PROXY",
    "no_proxy",
    "SSL_CERT_",
];

/// Whether a failed fetch is an outage of the API or the network (what a retry is for), as
/// opposed to an answer another try would only repeat.
fn is_outage(error: &Error) -> bool {
    match error {
        Error::Unreachable { .. } => true,
        Error::Api(api) => crate::aliyun::error::is_retryable(api.status, &api.code),
        Error::Source { error, .. } => is_outage(error),
        _ => false,
    }
}
