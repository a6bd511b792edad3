//! Writing [`Node`]s: block style, two spaces, sequences flush with their key, each scalar on one
//! line, quoted exactly when a YAML 1.1 or 1.2 reader would take its text for something else.

use std::fmt::Write as _;

use super::{FALSE_WORDS, Node, TRUE_WORDS};

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
pub(super) fn plain_is_safe(text: &str, lenient_start: bool) -> bool {
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
pub(super) fn other_type(text: &str) -> bool {
    const OTHER_WORDS: &[&str] = &["null", "Null", "NULL", "~", "<<", "="];
    if TRUE_WORDS.contains(&text) || FALSE_WORDS.contains(&text) || OTHER_WORDS.contains(&text) {
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
