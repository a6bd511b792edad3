//! Kubeconfigs: the one the API returns ([`issued`]: which cluster and user it holds, and that
//! user's credential), and the ones the `kubeconfig` command writes ([`write`]: a context whose
//! user runs this plugin; [`files`]: merged into the user's files as kubectl would, under
//! kubectl's [`lock`]; [`yaml`]: read and written without changing what any value means to
//! kubectl), and the user's files read as kubectl merges them ([`contexts`]: the contexts that
//! run an exec plugin, for `doctor`).

pub(crate) mod contexts;
mod files;
mod issued;
mod lock;
mod write;
pub(crate) mod yaml;

pub(crate) use files::{Current, merge, replace};
pub(crate) use issued::Kubeconfig;
pub(crate) use write::{ExecUser, NewContext, standalone};
