//! Kept in one file: most of these tests go through both sides (a write read back).
//! The reader and the writer, mostly as round trips: YAML 1.1 words, styles, tags, aliases,
//! limits, and property tests over generated documents.

use std::fmt::Write as _;

use super::emit::{other_type, plain_is_safe};
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
        Node::Scalar(s) if !s.plain && plain_is_safe(&s.text, false) && !other_type(&s.text) => {
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
        Node::Scalar(s) if !s.plain && plain_is_safe(&s.text, false) && !other_type(&s.text) => {
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

/// A key written twice is read as kubectl reads it (the last copy), and setting it leaves one
/// copy, in the first one's place.
#[test]
fn a_repeated_key_is_its_last_copy_and_set_leaves_one() {
    let mut node = load("server: a\nname: n\nserver: b\n").unwrap().unwrap();
    assert_eq!(node.get("server").and_then(Node::text), Some("b"));
    node.set("server", Node::string("c"));
    assert_eq!(emit(&node), "server: c\nname: n\n");
    node.remove("name");
    node.set("name", Node::string("m"));
    assert_eq!(emit(&node), "server: c\nname: m\n");
}

/// A boolean field (`insecure-skip-tls-verify`) reads as kubectl reads it: every YAML 1.1
/// spelling of true and false when plain, nothing when quoted or another word.
#[test]
fn booleans_are_read_as_yaml_1_1_reads_them() {
    let node = load("[yes, On, Y, TRUE, no, OFF, n, \"true\", 'yes', 1, maybe]")
        .unwrap()
        .unwrap();
    let Node::Sequence(items, _) = node else {
        panic!("a sequence");
    };
    let read: Vec<Option<bool>> = items.iter().map(Node::as_bool).collect();
    assert_eq!(
        read,
        [
            Some(true),
            Some(true),
            Some(true),
            Some(true),
            Some(false),
            Some(false),
            Some(false),
            None,
            None,
            None,
            None
        ]
    );
}
