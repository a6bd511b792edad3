//! A credential request, the part `get-credential` and `kubeconfig` share: worked out without
//! network (who is asking, which API endpoint, which cache entry), then, on a miss, fetched
//! under the entry's lock.
//!
//! The miss path is a type: [`CredentialRequest::lock`] hands back a [`Miss`], and only through
//! it can the entry be re-read after the wait, fetched and stored.

use std::time::Duration;

use crate::aliyun::cs::{self, UserKubeconfigRequest};
use crate::aliyun::{Client, IssuedKubeconfig, servicemesh};
use crate::cache::{self, Cache, CacheKey, Entry, KeyInput};
use crate::cert;
use crate::config::{Settings, Target};
use crate::credentials::{Provider, chain};
use crate::env::Env;
use crate::error::Error;
use crate::kubeconfig::Kubeconfig;
use crate::log::verbose;
use crate::log::warn;

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

/// The API that issues credentials for `target`.
pub(crate) fn api_name(target: &Target) -> &'static str {
    match target {
        Target::Cluster { uid, .. } => cs::action(uid.is_some()),
        Target::Mesh { .. } => servicemesh::ACTION,
    }
}

impl CredentialRequest {
    /// Find the credential source and the cache key: local files and variables only.
    pub(crate) fn resolve(settings: &Settings, env: &Env) -> Result<Self, Error> {
        let context = chain::Context {
            env,
            home: env.home(),
            sts: &settings.sts,
            ecs_endpoint: settings.ecs_endpoint.clone(),
            imds_v1_disabled: settings.imds_v1_disabled,
            dmi_dir: chain::DMI_DIR.into(),
        };
        let provider = chain::discover(
            &context,
            settings.profile.as_deref(),
            settings.role_arn.as_deref(),
        )?;
        let endpoint = settings.api_endpoint(provider.region())?;
        let identity = provider.identity();
        let key = CacheKey::new(&KeyInput {
            api: api_name(&settings.target),
            id: settings.target.id(),
            uid: settings.target.uid(),
            private_ip: settings.private_ip,
            minutes: settings.minutes,
            endpoint: &endpoint,
            identity: &identity,
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

    /// Start a miss: take the key's lock. After the bounded wait, go on without it rather than
    /// hang kubectl; if the cache directory cannot be used at all (read-only, another user's),
    /// go on without the cache: a credential is still better than none.
    pub(crate) fn lock(&self, settings: &Settings) -> Miss<'_> {
        let guard = match self.cache.lock(&self.key, settings.lock_timeout) {
            Ok(guard) => {
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
        Miss {
            request: self,
            guard,
        }
    }
}

/// A miss in progress, under the entry's lock when it could be taken.
pub(crate) struct Miss<'a> {
    request: &'a CredentialRequest,
    /// `None` when the cache directory cannot be used: nothing is read or written then.
    guard: Option<cache::Guard<'a>>,
}

impl Miss<'_> {
    /// The entry as it is now, after the wait for the lock.
    pub(crate) fn reload(&self) -> Option<Entry> {
        self.guard.as_ref().and_then(cache::Guard::load)
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

    /// Ask the API for a kubeconfig and turn its user into a cache entry, within `budget`.
    pub(crate) fn fetch(&self, settings: &Settings, budget: Duration) -> Result<Fetched, Error> {
        let request = self.request;
        verbose!("credentials: {}", request.provider.describe());
        let client = Client::new(budget, &settings.client);
        let credentials = request
            .provider
            .credentials(&client)
            .map_err(|e| e.with_source(request.provider.describe()))?;
        let action = api_name(&settings.target);
        let issued: IssuedKubeconfig = match &settings.target {
            Target::Cluster { id, uid } => cs::describe_user_kubeconfig(
                &client,
                &request.endpoint,
                &credentials,
                &UserKubeconfigRequest {
                    cluster_id: id,
                    uid: uid.as_deref(),
                    private_ip: settings.private_ip,
                    minutes: settings.minutes,
                },
            )?,
            Target::Mesh { id } => servicemesh::describe_kubeconfig(
                &client,
                &request.endpoint,
                &credentials,
                id,
                settings.private_ip,
            )?,
        };
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
            (Some(cert), Some(key)) => Some(cert::check_pair(cert, key).map_err(bad)?),
            _ => None,
        };
        if let Some(validity) = validity {
            verbose!(
                "certificate valid from {} to {}",
                crate::time::rfc3339(validity.not_before),
                crate::time::rfc3339(validity.not_after)
            );
        }
        // A mesh asks for no lifetime; without a certificate or an expiry, assume an hour.
        let fallback_minutes = if settings.minutes == 0 {
            60
        } else {
            settings.minutes
        };
        let entry = Entry::new(
            request.key.canonical.clone(),
            credential,
            crate::time::now(),
            validity,
            issued.expiration,
            i64::from(fallback_minutes) * 60,
        )
        .map_err(bad)?;
        Ok(Fetched { entry, kubeconfig })
    }
}
