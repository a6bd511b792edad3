//! The checks, printed: one aligned line per check for people (a detail's further lines and
//! the hint indented under it), or `{"checks": [{"name", "status", "detail", "hint"}]}` for
//! scripts.

use serde::Serialize;

use super::{Check, Status};
use crate::cli::OutputFormat;

pub(super) fn render(checks: &[Check], format: OutputFormat) -> String {
    match format {
        OutputFormat::Text => text(checks),
        OutputFormat::Json => json(checks),
    }
}

/// ```text
/// ok   credentials  AccessKey LTAI... from the environment (ALIBABA_CLOUD_ACCESS_KEY_ID)
/// fail endpoints    cs http://127.0.0.1:1: DNS 0.1 ms, connect failed: ...
///                   hint: nothing accepts connections there: ...
/// ```
fn text(checks: &[Check]) -> String {
    let status_width = [Status::Ok, Status::Warn, Status::Fail, Status::Skip]
        .iter()
        .map(|s| s.as_str().len())
        .max()
        .unwrap_or(0);
    let name_width = checks.iter().map(|c| c.name.len()).max().unwrap_or(0);
    let indent = " ".repeat(status_width + 1 + name_width + 2);
    let mut out = String::new();
    for check in checks {
        let mut lines = check.detail.lines();
        let first = lines.next().unwrap_or("");
        let head = format!(
            "{:status_width$} {:name_width$}  {first}",
            check.status.as_str(),
            check.name
        );
        out.push_str(head.trim_end());
        out.push('\n');
        for line in lines {
            out.push_str(&indent);
            out.push_str(line);
            out.push('\n');
        }
        for line in check.hint.iter().flat_map(|hint| hint.lines()) {
            out.push_str(&indent);
            out.push_str("hint: ");
            out.push_str(line);
            out.push('\n');
        }
    }
    out
}

#[derive(Serialize)]
struct Report<'a> {
    checks: Vec<Entry<'a>>,
}

#[derive(Serialize)]
struct Entry<'a> {
    name: &'a str,
    status: &'a str,
    detail: &'a str,
    hint: Option<&'a str>,
}

fn json(checks: &[Check]) -> String {
    let report = Report {
        checks: checks
            .iter()
            .map(|check| Entry {
                name: check.name,
                status: check.status.as_str(),
                detail: &check.detail,
                hint: check.hint.as_deref(),
            })
            .collect(),
    };
    let mut text = serde_json::to_string_pretty(&report).unwrap_or_default();
    text.push('\n');
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn checks() -> Vec<Check> {
        vec![
            Check::new(
                "credentials",
                Status::Ok,
                "AccessKey LTAI1 from the environment",
            ),
            Check::new(
                "endpoints",
                Status::Fail,
                "cs http://x: refused\nsts http://y: ok",
            )
            .hint("check it\nand this"),
            Check::new("apiserver", Status::Skip, ""),
        ]
    }

    #[test]
    fn text_is_one_aligned_line_per_check_with_indented_continuations() {
        assert_eq!(
            render(&checks(), OutputFormat::Text),
            "ok   credentials  AccessKey LTAI1 from the environment\n\
             fail endpoints    cs http://x: refused\n\
             \x20                 sts http://y: ok\n\
             \x20                 hint: check it\n\
             \x20                 hint: and this\n\
             skip apiserver\n"
        );
    }

    #[test]
    fn json_has_the_contracts_shape() {
        let value: serde_json::Value =
            serde_json::from_str(&render(&checks(), OutputFormat::Json)).unwrap();
        assert_eq!(
            value,
            serde_json::json!({"checks": [
                {"name": "credentials", "status": "ok",
                 "detail": "AccessKey LTAI1 from the environment", "hint": null},
                {"name": "endpoints", "status": "fail",
                 "detail": "cs http://x: refused\nsts http://y: ok", "hint": "check it\nand this"},
                {"name": "apiserver", "status": "skip", "detail": "", "hint": null},
            ]})
        );
    }
}
