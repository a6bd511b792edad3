//! One integration-test binary: the real `ack-credential-plugin` binary run against an in-process
//! fake of the Alibaba Cloud APIs and, end to end, real kubectl against a TLS API server.
//!
//! `support/` owns what the tests share (the fake, the `Plugin` builder with its leak check,
//! kubectl, goldens); each other module is one topic, and `golden_errors/` pins the whole message
//! of every main error path.

mod support;

mod budgets;
mod cache_cmd;
mod cli;
mod credential_chain;
mod get_credential;
mod golden_errors;
mod kubeconfig_cmd;
mod kubectl_e2e;
mod mesh;
mod network;
mod reliability;
