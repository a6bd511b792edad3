//! SHA-256 and the crate's one hex encoder: cache file names, hashed identity parts, nonces.

use sha2::{Digest, Sha256};

/// Lower-case hex of `bytes`.
pub(crate) fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut text = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        text.push(char::from(DIGITS[usize::from(byte >> 4)]));
        text.push(char::from(DIGITS[usize::from(byte & 0x0f)]));
    }
    text
}

/// The SHA-256 of `bytes`.
pub(crate) fn sha256(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

/// A short, stable hash of `text` (16 hex digits of SHA-256): for identity parts that are long
/// or may hold something that should not be shown (a policy, a URI's query, a command line).
pub(crate) fn short_hash(text: &str) -> String {
    hex(&sha256(text.as_bytes())[..8])
}

/// How long a [`name_hash`] is: 32 hex digits.
pub(crate) const NAME_HASH_LEN: usize = 32;

/// The hash a file name carries (32 hex digits of SHA-256 of `text`): a cache entry's key, a
/// session's identity, a route. Long enough that two names never meet.
pub(crate) fn name_hash(text: &str) -> String {
    hex(&sha256(text.as_bytes())[..NAME_HASH_LEN / 2])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_and_hashes_are_the_usual_ones() {
        assert_eq!(hex(&[0x00, 0x0f, 0xa5, 0xff]), "000fa5ff");
        assert_eq!(
            hex(&sha256(b"abc")),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(short_hash("abc"), "ba7816bf8f01cfea");
        assert_eq!(name_hash("abc"), "ba7816bf8f01cfea414140de5dae2223");
    }
}
