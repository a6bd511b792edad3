//! The `ack-credential-plugin` binary: everything happens in the library's [`main`].
//!
//! [`main`]: ack_credential_plugin::main

fn main() -> std::process::ExitCode {
    ack_credential_plugin::main()
}
