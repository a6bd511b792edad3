//! One use case per file.

pub mod get_credential;
