//! Kubernetes Secret values in YAML or JSON text. Which `data:` map belongs to a Secret
//! depends on its sibling keys (`kind: Secret` may come before or after it, as
//! `kubectl -o yaml` sorts keys), so these scanners follow indentation and nesting
//! rather than matching a pattern.

use std::ops::Range;

/// Values of a Kubernetes Secret's `data` and `stringData`, in YAML or JSON text. `None`
/// when the text cannot hold one, which is nearly always and costs two substring scans.
pub(super) fn secret_spans(text: &str) -> Option<Vec<Range<usize>>> {
    let secretish =
        text.contains("Secret") || text.contains("Opaque") || text.contains("kubernetes.io/");
    if !secretish {
        return None;
    }
    let mut out = Vec::new();
    if text.contains("data:") || text.contains("Data:") {
        yaml_secret_values(text, &mut out);
    }
    if text.contains("\"data\"") || text.contains("\"stringData\"") {
        json_secret_values(text, &mut out);
    }
    Some(out)
}

struct YamlLine<'a> {
    start: usize,
    indent: usize,
    /// Column of the key: after `- ` for the first key of a list item.
    key_col: usize,
    dash: bool,
    key: Option<&'a str>,
    value: &'a str,
    /// Byte offset of `value` in the whole text.
    value_at: usize,
    end: usize,
    blank: bool,
}

fn yaml_lines(text: &str) -> Vec<YamlLine<'_>> {
    let mut lines = Vec::new();
    let mut start = 0;
    for raw in text.split_inclusive('\n') {
        let line = raw.trim_end_matches(['\n', '\r']);
        let indent = line.len() - line.trim_start_matches(' ').len();
        let mut rest = &line[indent..];
        let mut key_col = indent;
        let mut dash = false;
        if rest == "-" || rest.starts_with("- ") {
            dash = true;
            let after = &rest[1..];
            let pad = after.len() - after.trim_start_matches(' ').len();
            key_col = indent + 1 + pad;
            rest = &after[pad..];
        }
        let blank = (rest.trim().is_empty() && !dash) || rest.starts_with('#');
        let sep = rest
            .find(": ")
            .or_else(|| rest.ends_with(':').then(|| rest.len() - 1));
        let (key, value, value_at) = match sep {
            Some(i) if i > 0 => {
                let value = rest[i + 1..].trim_start_matches(' ');
                let value_at = start + (line.len() - rest.len()) + (rest.len() - value.len());
                let key = rest[..i].trim_matches(['"', '\'']);
                (Some(key), value.trim_end(), value_at)
            }
            _ => (None, rest.trim_end(), start + key_col),
        };
        lines.push(YamlLine {
            start,
            indent,
            key_col,
            dash,
            key,
            value,
            value_at,
            end: start + line.len(),
            blank,
        });
        start += raw.len();
    }
    lines
}

fn marks_secret(line: &YamlLine<'_>) -> bool {
    let value = line.value.trim_matches(['"', '\'']);
    match line.key {
        Some("kind") => value == "Secret",
        Some("type") => {
            value == "Opaque"
                || value.starts_with("kubernetes.io/")
                || value.starts_with("bootstrap.kubernetes.io/")
        }
        _ => false,
    }
}

fn is_document_marker(line: &YamlLine<'_>) -> bool {
    line.indent == 0 && (line.value.starts_with("---") || line.value.starts_with("..."))
}

/// `data:` / `stringData:` maps whose object has `kind: Secret` (or a Secret `type`)
/// among its siblings, before or after the map as `kubectl -o yaml` sorts keys.
fn yaml_secret_values(text: &str, out: &mut Vec<Range<usize>>) {
    let lines = yaml_lines(text);
    for (i, line) in lines.iter().enumerate() {
        if !matches!(line.key, Some("data" | "stringData")) || !line.value.is_empty() {
            continue;
        }
        let col = line.key_col;
        let mut secret = false;
        if !line.dash {
            for l in lines[..i].iter().rev() {
                if l.blank {
                    continue;
                }
                if is_document_marker(l) {
                    break;
                }
                if l.dash && l.key_col == col {
                    secret |= marks_secret(l);
                    break;
                }
                if l.indent < col {
                    break;
                }
                if l.indent == col && !l.dash {
                    secret |= marks_secret(l);
                }
            }
        }
        for l in &lines[i + 1..] {
            if l.blank {
                continue;
            }
            if is_document_marker(l) || l.indent < col {
                break;
            }
            if l.indent == col && !l.dash {
                secret |= marks_secret(l);
            }
        }
        if secret {
            yaml_map_values(&lines[i + 1..], col, out);
        }
    }
}

/// Values of the map whose entries follow, indented deeper than `parent_col`.
fn yaml_map_values(lines: &[YamlLine<'_>], parent_col: usize, out: &mut Vec<Range<usize>>) {
    let mut child_col = None;
    let mut j = 0;
    while j < lines.len() {
        let l = &lines[j];
        j += 1;
        if l.blank {
            continue;
        }
        if l.indent <= parent_col || is_document_marker(l) {
            break;
        }
        let col = *child_col.get_or_insert(l.indent);
        if l.indent != col || l.key.is_none() {
            continue;
        }
        let block = l.value.is_empty() || l.value.starts_with('|') || l.value.starts_with('>');
        if !block {
            let value = l.value;
            let quoted = value.len() >= 2
                && (value.starts_with('"') && value.ends_with('"')
                    || value.starts_with('\'') && value.ends_with('\''));
            let range = if quoted {
                l.value_at + 1..l.value_at + value.len() - 1
            } else {
                l.value_at..l.value_at + value.len()
            };
            if !range.is_empty() {
                out.push(range);
            }
            continue;
        }
        // A block scalar: every deeper line belongs to the value, as one secret.
        let mut first = None;
        let mut last = None;
        while j < lines.len() {
            let c = &lines[j];
            if !c.blank && c.indent <= col {
                break;
            }
            if !c.blank {
                first.get_or_insert(c.start + c.indent);
                last = Some(c.end);
            }
            j += 1;
        }
        if let (Some(a), Some(b)) = (first, last) {
            out.push(a..b);
        }
    }
}

enum Frame {
    Object {
        expect_key: bool,
        key: Option<Range<usize>>,
        secret: bool,
        /// This object is the value of a `data` or `stringData` key.
        data_map: bool,
        pending: Vec<Range<usize>>,
    },
    Array,
}

/// Walks JSON nesting (leniently: text around and between JSON objects is skipped) and
/// reports the string values of `data`/`stringData` in objects with `"kind": "Secret"`.
/// A string holding a whole escaped Secret (the last-applied-configuration annotation)
/// is reported whole.
#[allow(clippy::too_many_lines)] // a single-pass scanner over the JSON text
fn json_secret_values(text: &str, out: &mut Vec<Range<usize>>) {
    let bytes = text.as_bytes();
    let mut stack: Vec<Frame> = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'{' => {
                let data_map = match stack.last() {
                    Some(Frame::Object {
                        expect_key: false,
                        key: Some(k),
                        ..
                    }) => matches!(&text[k.clone()], "data" | "stringData"),
                    _ => false,
                };
                stack.push(Frame::Object {
                    expect_key: true,
                    key: None,
                    secret: false,
                    data_map,
                    pending: Vec::new(),
                });
            }
            b'}' => {
                if let Some(Frame::Object {
                    secret,
                    data_map,
                    pending,
                    ..
                }) = stack.pop()
                {
                    if secret {
                        out.extend(pending);
                    } else if data_map
                        && let Some(Frame::Object {
                            pending: parent, ..
                        }) = stack.last_mut()
                    {
                        parent.extend(pending);
                    }
                }
            }
            b'[' => stack.push(Frame::Array),
            b']' => {
                if matches!(stack.last(), Some(Frame::Array)) {
                    stack.pop();
                }
            }
            b',' => {
                if let Some(Frame::Object {
                    expect_key, key, ..
                }) = stack.last_mut()
                {
                    *expect_key = true;
                    *key = None;
                }
            }
            b'"' if !stack.is_empty() => {
                let start = i + 1;
                let mut j = start;
                while j < bytes.len() && bytes[j] != b'"' {
                    j += if bytes[j] == b'\\' { 2 } else { 1 };
                }
                let end = j.min(bytes.len());
                let inner = &text[start..end];
                let embedded_secret = (inner.contains(r#"\"kind\":\"Secret\""#)
                    || inner.contains(r#"\"kind\": \"Secret\""#))
                    && (inner.contains(r#"\"data\""#) || inner.contains(r#"\"stringData\""#));
                match stack.last_mut() {
                    Some(Frame::Object {
                        expect_key: true,
                        key,
                        ..
                    }) => {
                        *key = Some(start..end);
                    }
                    Some(Frame::Object {
                        expect_key,
                        key,
                        secret,
                        data_map,
                        pending,
                    }) => {
                        if embedded_secret {
                            out.push(start..end);
                        } else if *data_map && start < end {
                            pending.push(start..end);
                        } else if key.as_ref().is_some_and(|k| &text[k.clone()] == "kind")
                            && inner == "Secret"
                        {
                            *secret = true;
                        }
                        *expect_key = false;
                    }
                    _ => {
                        if embedded_secret {
                            out.push(start..end);
                        }
                    }
                }
                i = end + 1;
                continue;
            }
            b':' => {
                if let Some(Frame::Object {
                    expect_key, key, ..
                }) = stack.last_mut()
                    && key.is_some()
                {
                    *expect_key = false;
                }
            }
            _ => {}
        }
        i += 1;
    }
}

/// Values of container environment variables whose names look secret, in pod specs as
/// YAML (`- name: DB_PASSWORD` then `value: …` in the same list item) or JSON text
/// (`"name": "DB_PASSWORD", "value": "…"`, either order; `pair` matches that).
pub(super) fn env_spans(
    text: &str,
    pair: &regex::Regex,
    secret_name: fn(&str) -> bool,
) -> Vec<Range<usize>> {
    let mut out = Vec::new();
    if !text.contains("name") || !text.contains("value") {
        return out;
    }
    if text.contains("value\"") || text.contains("value\\\"") {
        for caps in pair.captures_iter(text) {
            let (name, value) = match (caps.name("n1"), caps.name("v1")) {
                (Some(n), Some(v)) => (n, v),
                _ => match (caps.name("n2"), caps.name("v2")) {
                    (Some(n), Some(v)) => (n, v),
                    _ => continue,
                },
            };
            if secret_name(name.as_str()) && !value.as_str().is_empty() {
                out.push(value.range());
            }
        }
    }
    if text.contains("value:") {
        let lines = yaml_lines(text);
        for (i, line) in lines.iter().enumerate() {
            let named = line.dash
                && line.key == Some("name")
                && secret_name(line.value.trim_matches(['"', '\'']));
            if !named {
                continue;
            }
            for l in &lines[i + 1..] {
                if l.blank {
                    continue;
                }
                if l.dash || l.key_col != line.key_col {
                    break;
                }
                if l.key == Some("value") {
                    let v = l.value.trim_matches(['"', '\'']);
                    if !v.is_empty() {
                        let start = l.value_at
                            + (l.value.len() - l.value.trim_start_matches(['"', '\'']).len());
                        out.push(start..start + v.len());
                    }
                    break;
                }
            }
        }
    }
    out
}
