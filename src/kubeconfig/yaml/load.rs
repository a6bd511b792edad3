//! Reading a document into [`Node`]s: block and flow collections, every scalar style, tags,
//! anchors and aliases (expanded, with limits), one document only.

use std::collections::HashMap;

use saphyr_parser::{Event, Parser, ScalarStyle};

use super::{Node, Scalar};

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
