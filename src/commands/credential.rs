//! The steps `get-credential` and `kubeconfig` share: who is asking and which cache entry is
//! theirs (no network), and fetching a fresh credential from the cs or servicemesh API.

use std::cell::Cell;
use std::time::Duration;

use crate::aliyun::cs::{self, UserKubeconfigRequest};
use crate::aliyun::{Client, IssuedKubeconfig, servicemesh};
use crate::cache::{Cache, CacheKey, Entry, KeyInput, Lock};
use crate::config::{Env, Settings, Target};
use crate::credentials::{Provider, chain};
use crate::error::Error;
use crate::kubeconfig::Kubeconfig;
use crate::log::warn;
use crate::{cert, verbose};

/// A request made ready without network: the credential source, the API endpoint, the cache
/// entry's key.
pub struct Prepared {
    pub provider: Box<dyn Provider>,
    pub endpoint: String,
    pub key: CacheKey,
    pub cache: Cache,
    /// Set when the cache directory turned out unusable: the run goes on without it.
    cache_unusable: Cell<bool>,
}

/// A fresh credential and the kubeconfig it came in.
pub struct Fetched {
    pub entry: Entry,
    pub kubeconfig: Kubeconfig,
}

/// The API that issues credentials for `target`.
pub fn api_name(target: &Target) -> &'static str {
    match target {
        Target::Cluster { uid, .. } => cs::action(uid.is_some()),
        Target::Mesh { .. } => servicemesh::ACTION,
    }
}

/// Find the credential source and the cache key: local files and variables only.
pub fn prepare(settings: &Settings, env: &Env) -> Result<Prepared, Error> {
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
    Ok(Prepared {
        provider,
        endpoint,
        key,
        cache: Cache::new(settings.cache_dir.clone()),
        cache_unusable: Cell::new(false),
    })
}

impl Prepared {
    /// Take the key's lock. After the bounded wait, go on without it rather than hang kubectl;
    /// if the cache directory cannot be used at all (read-only, another user's), go on without
    /// the cache: a credential is still better than none.
    pub fn lock(&self, settings: &Settings) -> Option<Lock> {
        match self.cache.lock(&self.key, settings.lock_timeout) {
            Ok(Some(lock)) => Some(lock),
            Ok(None) => {
                warn(&format!(
                    "gave up waiting {} s for another process fetching the same credential; fetching it here",
                    settings.lock_timeout.as_secs()
                ));
                None
            }
            Err(error) => {
                warn(&format!("{error}\ngoing on without the cache"));
                self.cache_unusable.set(true);
                None
            }
        }
    }

    /// Ask the API for a kubeconfig and turn its user into a cache entry, within `budget`.
    pub fn fetch(&self, settings: &Settings, budget: Duration) -> Result<Fetched, Error> {
        verbose!("credentials: {}", self.provider.describe());
        let client = Client::new(budget)?;
        let credentials = self
            .provider
            .credentials(&client)
            .map_err(|e| e.from_source(self.provider.describe()))?;
        let action = api_name(&settings.target);
        let issued: IssuedKubeconfig = match &settings.target {
            Target::Cluster { id, uid } => cs::describe_user_kubeconfig(
                &client,
                &self.endpoint,
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
                &self.endpoint,
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
        let validity = match &credential.client_certificate_data {
            Some(pem) => Some(cert::validity(pem).map_err(bad)?),
            None => None,
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
            self.key.canonical.clone(),
            credential,
            crate::time::now(),
            validity,
            issued.expiration,
            i64::from(fallback_minutes) * 60,
        )
        .map_err(bad)?;
        Ok(Fetched { entry, kubeconfig })
    }

    /// Cache a fresh entry; a failure only costs the next call a fetch, so it is a warning.
    pub fn store(&self, entry: &Entry) {
        if self.cache_unusable.get() {
            return;
        }
        if let Err(e) = self.cache.store(&self.key, entry) {
            warn(&format!(
                "could not cache the credential in {}: {e}",
                self.cache.dir().display()
            ));
        }
    }
}
