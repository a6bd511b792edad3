//! Test support: the fake cloud, the fake Kubernetes API server and a builder that runs the binary.

pub mod apiserver;
pub mod fake_cloud;
pub mod kubectl;
pub mod plugin;
pub mod reliability_support;
