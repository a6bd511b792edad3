//! Kubeconfig documents as kubectl reads them, read and written without changing what any value
//! means.
//!
//! kubectl reads YAML 1.1 (go-yaml v2, through sigs.k8s.io/yaml): there an unquoted `no`, `on`,
//! `y`, `~`, `1_000`, `0x1f`, `1e3` or `2001-12-14` is not a string, while a YAML 1.2 reader
//! (`serde_yaml_ng`, say) takes most of them for strings. A kubeconfig read with one and written
//! with the other changes meaning: a context's `namespace: "no"` written back as `namespace: no`
//! is a boolean to kubectl, which then refuses the whole file. So this module keeps what a
//! YAML 1.2 data model loses:
//! - a *plain* (unquoted) scalar keeps its text and is written back unquoted, so every reader
//!   resolves it as it did before (`yes` stays kubectl's `true`, `1_000` its 1000);
//! - a quoted or block scalar is a *string*, written plain only when no YAML 1.1 or 1.2 reader
//!   could take it for anything else, and double-quoted otherwise.
//!
//! Mappings keep their order, tags are kept, aliases are expanded (an entry we replace may hold
//! an anchor used elsewhere). Comments are not kept, as `kubectl config` keeps none.
//! The output is block style, two spaces, sequences flush with their key (as kubectl writes),
//! every scalar on one line: long base64 stays one line.
//!
//! [`load`] reads (with `saphyr-parser`'s events), [`emit`] writes; `tests.rs` holds both
//! sides' tests, which are mostly round trips.

mod emit;
mod load;
#[cfg(test)]
mod tests;

pub(crate) use emit::emit;
pub(crate) use load::load;

/// The plain scalars YAML 1.1 (kubectl's reader) takes for `true`...
const TRUE_WORDS: &[&str] = &[
    "y", "Y", "yes", "Yes", "YES", "true", "True", "TRUE", "on", "On", "ON",
];

/// ...and for `false`.
const FALSE_WORDS: &[&str] = &[
    "n", "N", "no", "No", "NO", "false", "False", "FALSE", "off", "Off", "OFF",
];

/// A YAML node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Node {
    Scalar(Scalar),
    Sequence(Vec<Node>, Option<String>),
    Mapping(Vec<(Node, Node)>, Option<String>),
}

/// A scalar: its text, whether it was written unquoted, and its tag (`!!str`, `!foo`), if any.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Scalar {
    pub(crate) text: String,
    pub(crate) plain: bool,
    pub(crate) tag: Option<String>,
}

impl Node {
    /// A string: written quoted if a reader could take it for anything else.
    pub(crate) fn string(text: impl Into<String>) -> Node {
        Node::Scalar(Scalar {
            text: text.into(),
            plain: false,
            tag: None,
        })
    }

    /// A plain scalar, resolved by each reader (`false`, `42`): for values that are not strings.
    pub(crate) fn plain(text: impl Into<String>) -> Node {
        Node::Scalar(Scalar {
            text: text.into(),
            plain: true,
            tag: None,
        })
    }

    /// A mapping of string keys.
    pub(crate) fn mapping<'a>(entries: impl IntoIterator<Item = (&'a str, Node)>) -> Node {
        Node::Mapping(
            entries
                .into_iter()
                .map(|(key, value)| (Node::string(key), value))
                .collect(),
            None,
        )
    }

    /// The scalar's text, whatever its style.
    pub(crate) fn text(&self) -> Option<&str> {
        match self {
            Node::Scalar(scalar) => Some(&scalar.text),
            _ => None,
        }
    }

    /// The scalar's text when it says something: neither null nor empty, both of which kubectl
    /// takes for a setting left unset.
    pub(crate) fn value_text(&self) -> Option<&str> {
        Some(self)
            .filter(|node| !node.is_null())
            .and_then(Node::text)
            .filter(|text| !text.is_empty())
    }

    /// An untagged plain scalar's YAML 1.1 boolean, as kubectl's reader (go-yaml v2) takes it:
    /// `yes`, `On`, `Y`, ... as well as `true`; `None` for anything else (a quoted `"true"` is
    /// a string, which kubectl refuses for a boolean field).
    pub(crate) fn as_bool(&self) -> Option<bool> {
        match self {
            Node::Scalar(Scalar {
                text,
                plain: true,
                tag: None,
            }) => {
                if TRUE_WORDS.contains(&text.as_str()) {
                    Some(true)
                } else if FALSE_WORDS.contains(&text.as_str()) {
                    Some(false)
                } else {
                    None
                }
            }
            _ => None,
        }
    }

    /// An untagged plain scalar that every reader takes for null (also an empty value).
    pub(crate) fn is_null(&self) -> bool {
        matches!(self, Node::Scalar(Scalar { text, plain: true, tag: None })
            if matches!(text.as_str(), "" | "~" | "null" | "Null" | "NULL"))
    }

    /// The value of `key` in a mapping. A key written twice is the last copy, as for kubectl
    /// (go-yaml v2 lets a later copy overwrite an earlier one).
    pub(crate) fn get(&self, key: &str) -> Option<&Node> {
        match self {
            Node::Mapping(entries, _) => entries
                .iter()
                .rev()
                .find(|(k, _)| k.text() == Some(key))
                .map(|(_, v)| v),
            _ => None,
        }
    }

    /// The value of `key` in a mapping, for changing it (the last copy, as [`Node::get`]).
    pub(crate) fn get_mut(&mut self, key: &str) -> Option<&mut Node> {
        match self {
            Node::Mapping(entries, _) => entries
                .iter_mut()
                .rev()
                .find(|(k, _)| k.text() == Some(key))
                .map(|(_, v)| v),
            _ => None,
        }
    }

    /// Removes `key` from a mapping. No-op on anything else.
    pub(crate) fn remove(&mut self, key: &str) {
        if let Node::Mapping(entries, _) = self {
            entries.retain(|(k, _)| k.text() != Some(key));
        }
    }

    /// Sets `key` in a mapping: in place of its first copy when it is there (any later copy,
    /// which kubectl would have read instead, goes), else at the end. No-op on anything but a
    /// mapping.
    pub(crate) fn set(&mut self, key: &str, value: Node) {
        let Node::Mapping(entries, _) = self else {
            return;
        };
        match entries.iter().position(|(k, _)| k.text() == Some(key)) {
            Some(first) => {
                entries[first].1 = value;
                let mut kept = false;
                entries
                    .retain(|(k, _)| k.text() != Some(key) || !std::mem::replace(&mut kept, true));
            }
            None => entries.push((Node::string(key), value)),
        }
    }
}
