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

use std::collections::HashMap;
use std::fmt::Write as _;

use saphyr_parser::{Event, Parser, ScalarStyle};

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

    /// An untagged plain scalar that every reader takes for null (also an empty value).
    pub(crate) fn is_null(&self) -> bool {
        matches!(self, Node::Scalar(Scalar { text, plain: true, tag: None })
            if matches!(text.as_str(), "" | "~" | "null" | "Null" | "NULL"))
    }

    /// The value of `key` in a mapping.
    pub(crate) fn get(&self, key: &str) -> Option<&Node> {
        match self {
            Node::Mapping(entries, _) => entries
                .iter()
                .find(|(k, _)| k.text() == Some(key))
                .map(|(_, v)| v),
            _ => None,
        }
    }

    /// The value of `key` in a mapping, for changing it.
    pub(crate) fn get_mut(&mut self, key: &str) -> Option<&mut Node> {
        match self {
            Node::Mapping(entries, _) => entries
                .iter_mut()
                .find(|(k, _)| k.text() == Some(key))
                .map(|(_, v)| v),
            _ => None,
        }
    }

    /// Sets `key` in a mapping: in place when it is there, else at the end. No-op on anything
    /// but a mapping.
    pub(crate) fn set(&mut self, key: &str, value: Node) {
        if let Some(slot) = self.get_mut(key) {
            *slot = value;
        } else if let Node::Mapping(entries, _) = self {
            entries.push((Node::string(key), value));
        }
    }
}

/// The most nesting a document may have (kubeconfigs need about ten).
const MAX_DEPTH: usize = 200;
/// The most nodes a document may have once its aliases are expanded (a kubeconfig of a thousand
/// contexts has some tens of thousands): a billion-laughs document is refused, not expanded.
const MAX_NODES: usize = 1_000_000;

/// Reads a document. Empty (or only comments): `None`. More than one document is an error:
/// writing back only the first would drop the rest.
///
/// # Errors
/// Where the YAML is malformed, without quoting it (a kubeconfig holds keys).
pub(crate) fn load(text: &str) -> Result<Option<Node>, String> {
    let mut loader = Loader {
        events: Parser::new_from_str(text),
        anchors: HashMap::new(),
        nodes: 0,
    };
    let mut document = None;
    loop {
        match loader.next()? {
            Event::StreamEnd => return Ok(document),
            Event::DocumentStart(_) => {
                if document.is_some() {
                    return Err("it holds more than one YAML document".to_string());
                }
                let first = loader.next()?;
                document = Some(loader.node(first, 0)?);
            }
            _ => {}
        }
    }
}

struct Loader<'a> {
    events: Parser<'a, saphyr_parser::StrInput<'a>>,
    anchors: HashMap<usize, Node>,
    nodes: usize,
}

impl<'a> Loader<'a> {
    fn next(&mut self) -> Result<Event<'a>, String> {
        match self.events.next_event() {
            Some(Ok((event, _))) => Ok(event),
            Some(Err(e)) => Err(format!(
                "is not valid YAML (line {}, column {})",
                e.marker().line(),
                e.marker().col() + 1
            )),
            None => Err("is not valid YAML (it ends too early)".to_string()),
        }
    }

    fn node(&mut self, event: Event<'a>, depth: usize) -> Result<Node, String> {
        if depth > MAX_DEPTH {
            return Err(format!("is nested more than {MAX_DEPTH} levels deep"));
        }
        self.nodes += 1;
        if self.nodes > MAX_NODES {
            return Err(format!(
                "has more than {MAX_NODES} values once its aliases are expanded"
            ));
        }
        let (node, anchor) = match event {
            Event::Scalar(text, style, anchor, tag) => (
                Node::Scalar(Scalar {
                    text: text.into_owned(),
                    plain: style == ScalarStyle::Plain,
                    tag: tag.map(|t| tag_text(&t.handle, &t.suffix)),
                }),
                anchor,
            ),
            Event::SequenceStart(anchor, tag) => {
                let mut items = Vec::new();
                loop {
                    match self.next()? {
                        Event::SequenceEnd => break,
                        event => items.push(self.node(event, depth + 1)?),
                    }
                }
                (
                    Node::Sequence(items, tag.map(|t| tag_text(&t.handle, &t.suffix))),
                    anchor,
                )
            }
            Event::MappingStart(anchor, tag) => {
                let mut entries = Vec::new();
                loop {
                    match self.next()? {
                        Event::MappingEnd => break,
                        event => {
                            let key = self.node(event, depth + 1)?;
                            let value = self.next()?;
                            let value = self.node(value, depth + 1)?;
                            entries.push((key, value));
                        }
                    }
                }
                (
                    Node::Mapping(entries, tag.map(|t| tag_text(&t.handle, &t.suffix))),
                    anchor,
                )
            }
            Event::Alias(id) => {
                let node = self
                    .anchors
                    .get(&id)
                    .cloned()
                    .ok_or("is not valid YAML (an alias names no anchor)")?;
                self.nodes += count(&node);
                if self.nodes > MAX_NODES {
                    return Err(format!(
                        "has more than {MAX_NODES} values once its aliases are expanded"
                    ));
                }
                return Ok(node);
            }
            _ => return Err("is not valid YAML (a value is missing)".to_string()),
        };
        if anchor != 0 {
            self.anchors.insert(anchor, node.clone());
        }
        Ok(node)
    }
}

fn count(node: &Node) -> usize {
    match node {
        Node::Scalar(_) => 1,
        Node::Sequence(items, _) => 1 + items.iter().map(count).sum::<usize>(),
        Node::Mapping(entries, _) => {
            1 + entries
                .iter()
                .map(|(k, v)| count(k) + count(v))
                .sum::<usize>()
        }
    }
}

/// A tag as it is written: `!!str` for the YAML tags, `!foo` for local ones, `!<...>` for the rest.
fn tag_text(handle: &str, suffix: &str) -> String {
    let full = format!("{handle}{suffix}");
    if let Some(name) = full.strip_prefix("tag:yaml.org,2002:") {
        format!("!!{name}")
    } else if full.starts_with('!') {
        full
    } else {
        format!("!<{full}>")
    }
}

/// Writes a document: block style, ending in a newline.
pub(crate) fn emit(root: &Node) -> String {
    let mut out = String::new();
    match root {
        Node::Scalar(_) => {
            write_scalar(&mut out, root, true);
            out.push('\n');
        }
        _ if is_empty_collection(root) => {
            out.push_str("---");
            after_indicator(&mut out, root, 0, 0);
        }
        Node::Sequence(items, tag) => {
            if let Some(tag) = tag {
                let _ = writeln!(out, "--- {tag}");
            }
            write_sequence(&mut out, items, 0, false);
        }
        Node::Mapping(entries, tag) => {
            if let Some(tag) = tag {
                let _ = writeln!(out, "--- {tag}");
            }
            write_mapping(&mut out, entries, 0, false);
        }
    }
    out
}

fn is_empty_collection(node: &Node) -> bool {
    match node {
        Node::Sequence(items, _) => items.is_empty(),
        Node::Mapping(entries, _) => entries.is_empty(),
        Node::Scalar(_) => false,
    }
}

fn indent(out: &mut String, width: usize) {
    out.extend(std::iter::repeat_n(' ', width));
}

/// The entries of a block mapping at `width`; with `inline` the first goes on the current line
/// (after `- `).
fn write_mapping(out: &mut String, entries: &[(Node, Node)], width: usize, inline: bool) {
    for (i, (key, value)) in entries.iter().enumerate() {
        if i > 0 || !inline {
            indent(out, width);
        }
        if simple_key(key) {
            write_scalar(out, key, true);
            out.push(':');
            // A block sequence may sit flush with its key, as kubectl writes it.
            after_indicator(out, value, width + 2, width);
        } else {
            // `? key` / `: value` for a key that cannot be written on one line before `:`.
            out.push('?');
            after_indicator(out, key, width + 2, width + 2);
            indent(out, width);
            out.push(':');
            after_indicator(out, value, width + 2, width + 2);
        }
    }
}

/// The items of a block sequence at `width`; with `inline` the first `-` goes on the current line.
fn write_sequence(out: &mut String, items: &[Node], width: usize, inline: bool) {
    for (i, item) in items.iter().enumerate() {
        if i > 0 || !inline {
            indent(out, width);
        }
        out.push('-');
        match item {
            Node::Mapping(entries, None) if !entries.is_empty() => {
                out.push(' ');
                write_mapping(out, entries, width + 2, true);
            }
            _ => after_indicator(out, item, width + 2, width + 2),
        }
    }
}

/// The value after a `key:`, `-`, `?` or `---`: a scalar or an empty collection on the same
/// line, a block collection on the next lines (a mapping at `width`, a sequence at
/// `sequence_width`).
fn after_indicator(out: &mut String, value: &Node, width: usize, sequence_width: usize) {
    let tag = match value {
        Node::Scalar(scalar) => scalar.tag.as_deref(),
        Node::Sequence(_, tag) | Node::Mapping(_, tag) => tag.as_deref(),
    };
    if let Some(tag) = tag {
        out.push(' ');
        out.push_str(tag);
    }
    match value {
        Node::Scalar(scalar) => {
            if !(scalar.plain && scalar.text.is_empty()) {
                out.push(' ');
                write_scalar(out, value, false);
            }
            out.push('\n');
        }
        Node::Sequence(items, _) if items.is_empty() => out.push_str(" []\n"),
        Node::Mapping(entries, _) if entries.is_empty() => out.push_str(" {}\n"),
        Node::Sequence(items, _) => {
            out.push('\n');
            write_sequence(out, items, sequence_width, false);
        }
        Node::Mapping(entries, _) => {
            out.push('\n');
            write_mapping(out, entries, width, false);
        }
    }
}

/// Whether a key can be written as `key: value` (an untagged-or-tagged scalar that fits on one
/// line; readers limit implicit keys to 1024 characters).
fn simple_key(key: &Node) -> bool {
    match key {
        Node::Scalar(scalar) => {
            let mut text = String::new();
            write_scalar(&mut text, key, true);
            text.len() < 1000 && !(scalar.plain && scalar.text.is_empty() && scalar.tag.is_some())
        }
        _ => false,
    }
}

/// A scalar (its tag too when `with_tag`).
fn write_scalar(out: &mut String, node: &Node, with_tag: bool) {
    let Node::Scalar(scalar) = node else {
        return;
    };
    let text = scalar.text.as_str();
    // An empty plain scalar: nothing after a tag (`!`, `!!null`), else `~`, which reads the same.
    let empty = scalar.plain && text.is_empty();
    if with_tag && let Some(tag) = &scalar.tag {
        out.push_str(tag);
        if empty {
            return;
        }
        out.push(' ');
    }
    if empty {
        out.push('~');
    } else if plain_is_safe(text, scalar.plain) && (scalar.plain || !other_type(text)) {
        out.push_str(text);
    } else {
        double_quoted(out, text);
    }
}

/// Whether `text` reads back as itself when written unquoted in block context, in YAML 1.1 and
/// 1.2 alike (the syntax only; [`other_type`] is the type). `lenient_start` allows what a plain
/// scalar read from a file may start with (`-1`, `:x`, `?x`); for our own strings only `-` before
/// a non-space is allowed (`--cluster-id`).
fn plain_is_safe(text: &str, lenient_start: bool) -> bool {
    let mut chars = text.chars();
    let Some(first) = chars.next() else {
        return false;
    };
    let second = chars.next();
    let starts_ok = match first {
        '-' => second.is_some_and(|c| c != ' '),
        '?' | ':' => lenient_start && second.is_some_and(|c| c != ' '),
        ',' | '[' | ']' | '{' | '}' | '#' | '&' | '*' | '!' | '|' | '>' | '\'' | '"' | '%'
        | '@' | '`' | ' ' => false,
        _ => true,
    };
    starts_ok
        && !text.ends_with([' ', ':'])
        && !text.contains(": ")
        && !text.contains(" #")
        && !text.starts_with("---")
        && !text.starts_with("...")
        && text.chars().all(|c| printable(c) && c != '\t')
}

/// Characters YAML 1.1 and 1.2 both allow in a document as they are, line breaks excepted.
fn printable(c: char) -> bool {
    matches!(c, ' '..='~' | '\u{A0}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
        && c != '\u{FEFF}'
        && c != '\u{2028}'
        && c != '\u{2029}'
}

/// Whether a YAML 1.1 reader (kubectl's go-yaml v2, `PyYAML`, the 1.1 type repository) or a YAML
/// 1.2 reader would resolve `text`, unquoted, to anything but this string: a boolean
/// (`y`, `no`, `on`, `False`...), null (`~`, `null`), a merge or value key (`<<`, `=`), infinity
/// or NaN, or anything that begins like a number. The YAML 1.1 number and date forms are many
/// (`0x1f`, `0o17`, `0b101`, `1_000`, `1e3`, base 60 `1:20`, `2001-12-14`, and by the 1.1
/// float pattern even `1.2.3` and `10.0.0.1`), so every string that starts with a digit, after
/// a sign (and underscores, which go-yaml v2 drops) or a dot, is quoted: quotes never change a
/// string's meaning.
pub(crate) fn other_type(text: &str) -> bool {
    const WORDS: &[&str] = &[
        "y", "Y", "yes", "Yes", "YES", "n", "N", "no", "No", "NO", "true", "True", "TRUE", "false",
        "False", "FALSE", "on", "On", "ON", "off", "Off", "OFF", "null", "Null", "NULL", "~", "<<",
        "=",
    ];
    if WORDS.contains(&text) {
        return true;
    }
    let unsigned = text.strip_prefix(['+', '-']).unwrap_or(text);
    let lower = unsigned.to_ascii_lowercase();
    if [".inf", ".nan"].contains(&lower.as_str())
        || (unsigned.len() < text.len() && ["inf", "infinity", "nan"].contains(&lower.as_str()))
    {
        return true;
    }
    // go-yaml v2 drops every `_` before reading a number, so `+_1` is 1.
    let digits = if unsigned.len() < text.len() {
        unsigned.trim_start_matches('_')
    } else {
        unsigned
    };
    let mut chars = digits.chars();
    match chars.next() {
        Some(c) if c.is_ascii_digit() => true,
        Some('.') => chars
            .next()
            .is_none_or(|c| c.is_ascii_digit() || c == '.' || c == '_'),
        _ => false,
    }
}

/// `text` double-quoted, every character that is not printable escaped.
fn double_quoted(out: &mut String, text: &str) {
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\0' => out.push_str("\\0"),
            '\u{7}' => out.push_str("\\a"),
            '\u{8}' => out.push_str("\\b"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\u{B}' => out.push_str("\\v"),
            '\u{C}' => out.push_str("\\f"),
            '\r' => out.push_str("\\r"),
            '\u{1B}' => out.push_str("\\e"),
            c if printable(c) => out.push(c),
            c if u32::from(c) <= 0xFF => {
                let _ = write!(out, "\\x{:02X}", u32::from(c));
            }
            c if u32::from(c) <= 0xFFFF => {
                let _ = write!(out, "\\u{:04X}", u32::from(c));
            }
            c => {
                let _ = write!(out, "\\U{:08X}", u32::from(c));
            }
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn emitted(text: &str) -> String {
        emit(&Node::mapping([("k", Node::string(text))]))
    }

    /// Every form a YAML 1.1 reader (kubectl's go-yaml v2, `PyYAML`, the 1.1 type repository) or a
    /// YAML 1.2 reader takes for something other than a string is quoted, and reads back as the
    /// same string.
    #[test]
    #[allow(clippy::too_many_lines, reason = "one list of words")]
    fn strings_another_reader_would_retype_are_quoted() {
        let retyped = [
            // YAML 1.1 booleans, every spelling go-yaml v2 knows.
            "y",
            "Y",
            "yes",
            "Yes",
            "YES",
            "n",
            "N",
            "no",
            "No",
            "NO",
            "true",
            "True",
            "TRUE",
            "false",
            "False",
            "FALSE",
            "on",
            "On",
            "ON",
            "off",
            "Off",
            "OFF",
            // Null, merge and value keys.
            "~",
            "null",
            "Null",
            "NULL",
            "<<",
            "=",
            // Integers: decimal, signs, octal, hex, binary, underscores, base 60, huge.
            "0",
            "7",
            "-1",
            "+1",
            "012",
            "0o17",
            "0O17",
            "0x1f",
            "0X1F",
            "0b101",
            "-0b101",
            "1_000",
            "+_1",
            "0x_1F",
            "1:20",
            "190:20:30",
            "99999999999999999999999",
            // Floats: exponents, dots, YAML 1.1's loose pattern, infinities, NaN.
            "1e3",
            "1E3",
            "1.5",
            ".5",
            "-.5",
            "+.5",
            "1.",
            "1.2.3",
            "10.0.0.1",
            "685_230.15",
            "190:20:30.15",
            "6.8523015e+5",
            ".",
            "..",
            "._5",
            ".inf",
            ".Inf",
            ".INF",
            "-.inf",
            "+.inf",
            ".nan",
            ".NaN",
            ".NAN",
            ".iNf",
            "+inf",
            "-Infinity",
            "+NaN",
            // Timestamps.
            "2001-12-14",
            "2001-12-14t21:59:43.10-05:00",
            "2001-12-14 21:59:43.10 -5",
            "2002-12-14T00:00:00Z",
            "2001-1-2",
        ];
        for word in retyped {
            assert!(other_type(word), "{word}");
            let text = emitted(word);
            assert!(text.starts_with("k: \""), "{word}: {text}");
            assert_eq!(
                load(&text).unwrap(),
                Some(Node::Mapping(
                    vec![(
                        Node::plain("k"),
                        Node::Scalar(Scalar {
                            text: word.to_string(),
                            plain: false,
                            tag: None
                        })
                    )],
                    None
                )),
                "{word}"
            );
            let read: serde_yaml_ng::Value = serde_yaml_ng::from_str(&text).unwrap();
            assert_eq!(read["k"].as_str(), Some(word), "{text}");
        }
    }

    /// Strings that cannot be read as anything else, or that YAML syntax needs quoted.
    #[test]
    fn plain_only_where_plain_reads_back_the_same() {
        for text in [
            "prod",
            "https://198.51.100.7:6443",
            "client.authentication.k8s.io/v1",
            "--cluster-id",
            "Never",
            "arn:aws:eks:eu-west-1:123456789012:cluster/prod",
            "名前 with spaces",
            "a,b[c]{d}",
            "a#b",
            "a:b",
            "yes please",
            "nope",
            "onward",
            "x1",
            "_1",
            "-x",
            "LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCk1JSUJrVENCK3dJSkFLSEJmcFZrOXZLTkE=",
        ] {
            assert!(!other_type(text), "{text}");
            assert_eq!(emitted(text), format!("k: {text}\n"));
        }
        for (text, written) in [
            ("", r#""""#),
            (" lead", r#"" lead""#),
            ("trail ", r#""trail ""#),
            ("a: b", r#""a: b""#),
            ("ends:", r#""ends:""#),
            ("a #b", r#""a #b""#),
            ("- x", r#""- x""#),
            ("-", r#""-""#),
            ("?x", r#""?x""#),
            (":x", r#"":x""#),
            ("#x", r##""#x""##),
            ("&a", r#""&a""#),
            ("*a", r#""*a""#),
            ("!a", r#""!a""#),
            ("|", r#""|""#),
            (">", r#"">""#),
            ("'q'", r#""'q'""#),
            ("\"q\"", r#""\"q\"""#),
            ("%x", r#""%x""#),
            ("@x", r#""@x""#),
            ("`x", r#""`x""#),
            ("[x]", r#""[x]""#),
            ("{x}", r#""{x}""#),
            (",x", r#"",x""#),
            ("---", r#""---""#),
            ("...", r#""...""#),
            ("a\tb", r#""a\tb""#),
            ("two\nlines", r#""two\nlines""#),
            ("cr\r", r#""cr\r""#),
            ("nul\0", r#""nul\0""#),
            ("bell\u{7}", r#""bell\a""#),
            ("esc\u{1b}", r#""esc\e""#),
            ("del\u{7f}", r#""del\x7F""#),
            ("nel\u{85}", r#""nel\x85""#),
            ("ls\u{2028}", r#""ls\u2028""#),
            ("ps\u{2029}", r#""ps\u2029""#),
            ("bom\u{feff}", r#""bom\uFEFF""#),
            ("back\\slash: x", r#""back\\slash: x""#),
        ] {
            let text_out = emitted(text);
            assert_eq!(text_out, format!("k: {written}\n"), "{text:?}");
            let read: serde_yaml_ng::Value = serde_yaml_ng::from_str(&text_out).unwrap();
            assert_eq!(read["k"].as_str(), Some(text), "{text_out}");
            let Some(Node::Mapping(entries, None)) = load(&text_out).unwrap() else {
                panic!("{text_out}")
            };
            assert_eq!(entries[0].1, Node::string(text), "{text_out}");
        }
    }

    /// Unquoted scalars are written back unquoted, so each reader resolves them as before:
    /// kubectl's `yes` stays true and `1_000` stays 1000; quoted ones stay strings.
    #[test]
    fn plain_scalars_keep_their_text_and_quoted_ones_stay_strings() {
        let input = "a: yes\nb: \"yes\"\nc: 1_000\nd: '1_000'\ne: -1\nf:\ng: ~\nh: !!str on\n\
                     i: !custom {x: 1}\nj: [1, -.inf, 'n']\nk: {n: N}\nl: >\n  folded\n  text\n\
                     m: |\n  literal\n  text\n";
        let node = load(input).unwrap().unwrap();
        assert_eq!(
            emit(&node),
            "a: yes\nb: \"yes\"\nc: 1_000\nd: \"1_000\"\ne: -1\nf:\ng: ~\nh: !!str on\n\
             i: !custom\n  x: 1\nj:\n- 1\n- -.inf\n- \"n\"\nk:\n  n: N\nl: \"folded text\\n\"\n\
             m: \"literal\\ntext\\n\"\n"
        );
        assert_eq!(load(&emit(&node)).unwrap().unwrap(), node);
    }

    #[test]
    fn layout_is_kubectls_block_style() {
        let doc = "apiVersion: v1\nclusters:\n- cluster:\n    server: https://x\n  name: c\n\
                   contexts: []\npreferences: {}\nusers:\n- name: u\n  user:\n    exec:\n      \
                   args:\n      - get-credential\n      - --cluster-id\n      - \"2761\"\n";
        let node = load(doc).unwrap().unwrap();
        assert_eq!(emit(&node), doc);
        // Nested sequences, long keys, sequences of sequences.
        let long = "k".repeat(1200);
        let odd = Node::Mapping(
            vec![
                (Node::plain(long.clone()), Node::plain("1")),
                (
                    Node::Sequence(vec![Node::plain("a")], None),
                    Node::Sequence(vec![Node::Sequence(vec![Node::plain("b")], None)], None),
                ),
            ],
            None,
        );
        let text = emit(&odd);
        assert!(text.starts_with(&format!("? {long}\n: 1\n")), "{text}");
        assert_eq!(load(&text).unwrap().unwrap(), odd, "{text}");
    }

    #[test]
    fn aliases_are_expanded_and_documents_counted() {
        let node = load("a: &x {k: v}\nb: *x\n").unwrap().unwrap();
        assert_eq!(node.get("b"), node.get("a"));
        assert_eq!(emit(&node), "a:\n  k: v\nb:\n  k: v\n");
        assert_eq!(load("").unwrap(), None);
        assert_eq!(load("# only a comment\n").unwrap(), None);
        assert_eq!(
            load("a: 1\n---\nb: 2\n").unwrap_err(),
            "it holds more than one YAML document"
        );
        assert_eq!(
            load("a: [1\n").unwrap_err(),
            "is not valid YAML (line 2, column 1)"
        );
        // A billion laughs is refused, not expanded.
        let mut laughs = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..10 {
            let p = i - 1;
            let _ = writeln!(
                laughs,
                "a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]"
            );
        }
        assert!(load(&laughs).unwrap_err().contains("aliases are expanded"));
        let mut deep = String::new();
        for i in 0..300 {
            let _ = writeln!(deep, "{}- ", " ".repeat(2 * i));
        }
        assert_eq!(
            load(&deep).unwrap_err(),
            "is nested more than 200 levels deep"
        );
        assert!(load(&("[".repeat(5000) + &"]".repeat(5000))).is_err());
    }

    /// Strings: some from the YAML 1.1 word list and number forms, some syntax, some anything.
    fn any_string() -> impl Strategy<Value = String> {
        prop_oneof![
            prop::sample::select(vec![
                "no",
                "on",
                "y",
                "~",
                "1_000",
                "0x1f",
                "1e3",
                "1:20",
                ".inf",
                "2001-12-14",
                "",
                " ",
                "a: b",
                "- x",
                "#",
                "名前",
                "\u{85}",
                "\u{2028}",
                "\"'",
                "\\",
                "null",
                "<<",
            ])
            .prop_map(String::from),
            "[a-z0-9 :#.\\-]{0,12}",
            any::<String>(),
        ]
    }

    fn any_tree() -> impl Strategy<Value = Node> {
        let leaf = any_string().prop_map(Node::string);
        leaf.prop_recursive(4, 48, 6, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..5).prop_map(|v| Node::Sequence(v, None)),
                prop::collection::vec((any_string(), inner), 0..5).prop_map(|entries| {
                    let mut seen = std::collections::HashSet::new();
                    Node::Mapping(
                        entries
                            .into_iter()
                            .filter(|(k, _)| seen.insert(k.clone()))
                            .map(|(k, v)| (Node::string(k), v))
                            .collect(),
                        None,
                    )
                }),
            ]
        })
    }

    /// What the tree reads back as: a string written unquoted comes back as a plain scalar
    /// with the same text.
    fn as_read(node: &Node) -> Node {
        match node {
            Node::Scalar(s)
                if !s.plain && plain_is_safe(&s.text, false) && !other_type(&s.text) =>
            {
                Node::plain(s.text.clone())
            }
            Node::Scalar(_) => node.clone(),
            Node::Sequence(items, tag) => {
                Node::Sequence(items.iter().map(as_read).collect(), tag.clone())
            }
            Node::Mapping(entries, tag) => Node::Mapping(
                entries
                    .iter()
                    .map(|(k, v)| (as_read(k), as_read(v)))
                    .collect(),
                tag.clone(),
            ),
        }
    }

    /// Null spelt one way (an empty plain scalar is written `~` where it cannot be empty), and
    /// a plain scalar that cannot be written unquoted (a multi-line one, say: a string to every
    /// reader) as the string it is.
    fn null_as_tilde(node: &Node) -> Node {
        match node {
            Node::Scalar(s) if s.plain && s.tag.is_none() && s.text.is_empty() => Node::plain("~"),
            Node::Scalar(s) if s.plain && !s.text.is_empty() && !plain_is_safe(&s.text, true) => {
                Node::Scalar(Scalar {
                    plain: false,
                    ..s.clone()
                })
            }
            Node::Scalar(s)
                if !s.plain && plain_is_safe(&s.text, false) && !other_type(&s.text) =>
            {
                Node::Scalar(Scalar {
                    plain: true,
                    ..s.clone()
                })
            }
            Node::Scalar(_) => node.clone(),
            Node::Sequence(items, tag) => {
                Node::Sequence(items.iter().map(null_as_tilde).collect(), tag.clone())
            }
            Node::Mapping(entries, tag) => Node::Mapping(
                entries
                    .iter()
                    .map(|(k, v)| (null_as_tilde(k), null_as_tilde(v)))
                    .collect(),
                tag.clone(),
            ),
        }
    }

    /// The same tree as `serde_yaml_ng`'s value, every scalar a string.
    fn as_value(node: &Node) -> serde_yaml_ng::Value {
        match node {
            Node::Scalar(s) => serde_yaml_ng::Value::String(s.text.clone()),
            Node::Sequence(items, _) => {
                serde_yaml_ng::Value::Sequence(items.iter().map(as_value).collect())
            }
            Node::Mapping(entries, _) => serde_yaml_ng::Value::Mapping(
                entries
                    .iter()
                    .map(|(k, v)| (as_value(k), as_value(v)))
                    .collect(),
            ),
        }
    }

    proptest! {
        /// parse(emit(v)) == v, by this module's reader (styles and all) and by serde_yaml_ng,
        /// an independent YAML 1.2 reader (every string a string).
        #[test]
        fn emit_then_load_gives_the_tree_back(tree in any_tree()) {
            let root = Node::mapping([("root", tree)]);
            let text = emit(&root);
            prop_assert_eq!(load(&text).unwrap(), Some(as_read(&root)), "{}", text);
            let value: serde_yaml_ng::Value = serde_yaml_ng::from_str(&text).unwrap();
            prop_assert_eq!(value, as_value(&root), "{}", text);
            prop_assert_eq!(emit(&load(&text).unwrap().unwrap()), text);
        }

        /// Whatever the input, loading never panics, and what loads writes out and loads back
        /// the same.
        #[test]
        fn anything_that_loads_round_trips(text in any::<String>()) {
            if let Ok(Some(node)) = load(&text) {
                let written = emit(&node);
                let again = load(&written).unwrap().unwrap();
                prop_assert_eq!(null_as_tilde(&again), null_as_tilde(&node), "{}", written);
                prop_assert_eq!(emit(&again), written);
            }
        }
    }
}
