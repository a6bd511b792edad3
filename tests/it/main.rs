//! One integration-test binary: the real `ack-credential-plugin` binary run against an in-process
//! fake of the Alibaba Cloud APIs and, end to end, real kubectl against a TLS API server.

mod support;

mod credential_chain;
mod get_credential;
mod kubeconfig_cmd;
mod kubectl_e2e;
mod network;
mod reliability;
