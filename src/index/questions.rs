//! Synthetic "what would lead here" questions: for each definition, the questions a
//! user or an issue might ask that this code answers. Offline they are derived from
//! identifiers, doc comments, error and log strings, CLI flags, environment and config
//! keys, and HTTP routes. They are indexed on their own so a short, focused match can
//! outrank a long chunk that mentions the same words in passing.

use std::sync::LazyLock;

use regex::Regex;

use super::rows::ChunkRow;
pub use super::rows::QuestionRow;
use super::search::split_identifier;

/// At most this many questions per chunk.
const MAX_PER_CHUNK: usize = 4;

static STRING_RE: LazyLock<Option<Regex>> =
    LazyLock::new(|| Regex::new(r#""([^"\\\n]{6,120})"|'([^'\\\n]{6,120})'"#).ok());

/// Questions for one chunk (none for file-level chunks without symbols).
pub fn for_chunk(c: &ChunkRow, doc: Option<&str>) -> Vec<QuestionRow> {
    let mut qs: Vec<String> = Vec::new();
    let Some(symbol) = c.symbol.as_deref() else {
        return Vec::new();
    };
    if c.kind == "section" {
        qs.push(format!(
            "where are the docs about {}?",
            symbol.to_lowercase()
        ));
    } else {
        let words = split_identifier(symbol).join(" ");
        let owner = c
            .parent
            .as_deref()
            .map(|p| format!(" of {}", split_identifier(p).join(" ")))
            .unwrap_or_default();
        qs.push(format!(
            "where is the {words} {}{owner} implemented?",
            c.kind
        ));
        if let Some(doc) = doc {
            let first = doc.split(['.', '\n']).next().unwrap_or(doc).trim();
            if first.split_whitespace().count() >= 3 {
                qs.push(format!("what code does this: {}?", first.to_lowercase()));
            }
        }
    }
    if let Some(re) = STRING_RE.as_ref() {
        for cap in re.captures_iter(&c.text) {
            let lit = cap
                .get(1)
                .or_else(|| cap.get(2))
                .map(|m| m.as_str().trim())
                .unwrap_or("");
            if let Some(q) = question_for_literal(lit)
                && !qs.contains(&q)
            {
                qs.push(q);
            }
            if qs.len() >= MAX_PER_CHUNK {
                break;
            }
        }
    }
    qs.truncate(MAX_PER_CHUNK);
    qs.into_iter()
        .map(|question| QuestionRow {
            chunk_id: c.id.clone(),
            path: c.path.clone(),
            symbol: c.symbol.clone(),
            start_line: c.start_line,
            end_line: c.end_line,
            question,
        })
        .collect()
}

fn question_for_literal(lit: &str) -> Option<String> {
    if lit.starts_with("--") && lit.len() > 3 && !lit.contains(' ') {
        return Some(format!("what does the {lit} option do?"));
    }
    if lit.starts_with('/') && !lit.contains(' ') && lit.len() > 1 && !lit.contains("//") {
        return Some(format!("which handler serves {lit}?"));
    }
    let upper_key = lit.len() >= 4
        && lit
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
        && lit.contains('_');
    if upper_key {
        return Some(format!("what is {lit} used for and where is it read?"));
    }
    let words = lit.split_whitespace().count();
    let lettered = lit.chars().filter(|c| c.is_alphabetic()).count() * 2 > lit.len();
    if words >= 3 && lettered && !lit.contains("{{") {
        return Some(format!("why do I get \"{lit}\"?"));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chunk(symbol: &str, kind: &str, text: &str) -> ChunkRow {
        ChunkRow {
            id: "c1".into(),
            path: "a.py".into(),
            lang: "python".into(),
            symbol: Some(symbol.into()),
            symbols: symbol.into(),
            kind: kind.into(),
            parent: Some("PaymentClient".into()),
            start_line: 1,
            end_line: 9,
            text: text.into(),
            search_text: String::new(),
        }
    }

    #[test]
    fn questions_from_names_docs_and_literals() {
        let c = chunk(
            "chargeCard",
            "method",
            r#"if not ok: raise RuntimeError("payment processor unavailable")
url = "/v1/charges"
os.environ["PAYMENT_API_KEY"]
parser.add_argument("--dry-run")"#,
        );
        let qs: Vec<String> = for_chunk(
            &c,
            Some("Send the charge to the processor. Retries are up to you."),
        )
        .into_iter()
        .map(|q| q.question)
        .collect();
        assert_eq!(
            qs[0],
            "where is the charge card method of payment client implemented?"
        );
        assert_eq!(
            qs[1],
            "what code does this: send the charge to the processor?"
        );
        assert!(
            qs.contains(&"why do I get \"payment processor unavailable\"?".to_string()),
            "{qs:?}"
        );
        assert!(
            qs.contains(&"which handler serves /v1/charges?".to_string()),
            "{qs:?}"
        );
        assert_eq!(qs.len(), MAX_PER_CHUNK);
        let c = chunk("main", "function", r#"env("QUEUE_URL"); flag("--dry-run")"#);
        let qs: Vec<String> = for_chunk(&c, None)
            .into_iter()
            .map(|q| q.question)
            .collect();
        assert!(
            qs.contains(&"what is QUEUE_URL used for and where is it read?".to_string()),
            "{qs:?}"
        );
        assert!(
            qs.contains(&"what does the --dry-run option do?".to_string()),
            "{qs:?}"
        );
    }

    #[test]
    fn file_chunks_get_none() {
        let mut c = chunk("x", "file", "import os");
        c.symbol = None;
        assert!(for_chunk(&c, None).is_empty());
    }
}
