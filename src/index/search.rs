//! Hybrid retrieval: LanceDB full-text (BM25) and vector search fused with reciprocal
//! rank fusion, plus exact symbol-name and path boosts; results grouped by file, each
//! with the reasons it matched.

use std::collections::HashMap;
use std::time::Instant;

use anyhow::Result;
use serde::Serialize;

use super::store::ChunkMatch;
use super::store::Store;
use crate::llm::embed::Embedder;

/// Rank constant of reciprocal rank fusion.
const RRF_K: f32 = 60.0;
/// Candidates taken from each retriever.
const CANDIDATES: usize = 100;
#[derive(Debug, Clone, Serialize)]
pub struct SearchResult {
    pub query: String,
    /// `hybrid` (full-text + vectors) or `lexical`.
    pub mode: &'static str,
    pub files: Vec<FileHit>,
    /// Things the user should know about these results (e.g. embeddings still pending).
    pub notes: Vec<String>,
    pub elapsed_ms: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct FileHit {
    pub path: String,
    pub score: f32,
    pub reasons: Vec<String>,
    pub chunks: Vec<ChunkHit>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ChunkHit {
    pub symbol: Option<String>,
    pub kind: String,
    pub start_line: u32,
    pub end_line: u32,
    pub score: f32,
    pub reasons: Vec<String>,
}

#[derive(Debug, Clone, Default)]
struct Candidate {
    path: String,
    symbol: Option<String>,
    kind: String,
    start_line: u32,
    end_line: u32,
    text_lc: String,
    score: f32,
    reasons: Vec<String>,
}

#[allow(clippy::too_many_lines)] // the retrievers and their fusion in one place
pub async fn search(
    store: &Store,
    embedder: Option<&Embedder>,
    query: &str,
    top: usize,
) -> Result<SearchResult> {
    let t = Instant::now();
    let mut notes = Vec::new();
    let mut cands: HashMap<String, Candidate> = HashMap::new();
    let words = query_words(query);

    if store.count_chunks().await? == 0 {
        notes.push("the index is empty".into());
        return Ok(SearchResult {
            query: query.to_string(),
            mode: "lexical",
            files: Vec::new(),
            notes,
            elapsed_ms: 0.0,
        });
    }

    // The three lookups are independent: run them side by side, then fuse in a fixed
    // order (full text, vectors, symbols) so the result does not depend on timing.
    let full_text = async { anyhow::Ok(store.chunks_matching(query, CANDIDATES).await?) };
    let vectors = async {
        let mut notes = Vec::new();
        let hits = match embedder {
            Some(embedder) if store.has_vectors() => {
                let pending = store.count_pending_vectors().await?;
                if pending > 0 {
                    notes.push(format!(
                        "{pending} chunks have no embedding yet; run `triage index` to finish"
                    ));
                }
                let v = embedder.embed(vec![query.to_string()]).await?;
                match v.into_iter().next() {
                    Some(v) => Some(store.nearest_chunks(v, CANDIDATES).await?),
                    None => None,
                }
            }
            _ if store.has_vectors() => {
                notes.push("embedding model not available: lexical search only".into());
                None
            }
            _ => {
                notes.push("no embeddings in this index: lexical search only".into());
                None
            }
        };
        anyhow::Ok((hits, notes))
    };
    // Exact symbol names.
    let idents = identifiers(query);
    let symbols = async {
        if idents.is_empty() {
            return anyhow::Ok(Vec::new());
        }
        anyhow::Ok(store.symbols_named(&idents, true, 200).await?)
    };
    let (fts, (vector_hits, vector_notes), symbol_rows) =
        tokio::try_join!(full_text, vectors, symbols)?;

    for (i, m) in fts.into_iter().enumerate() {
        let rank = i + 1;
        let (id, c) = candidate(m);
        let matched: Vec<&str> = words
            .iter()
            .filter(|w| {
                c.text_lc.contains(w.as_str()) || c.path.to_lowercase().contains(w.as_str())
            })
            .map(String::as_str)
            .collect();
        let e = cands.entry(id).or_insert(c);
        e.score += 1.0 / (RRF_K + rank as f32);
        if !matched.is_empty() {
            e.reasons
                .push(format!("text: {} (bm25 #{rank})", matched.join(", ")));
        } else {
            e.reasons.push(format!("text match (bm25 #{rank})"));
        }
    }

    notes.extend(vector_notes);
    let mut mode = "lexical";
    if let Some(hits) = vector_hits {
        mode = "hybrid";
        for (i, m) in hits.into_iter().enumerate() {
            let rank = i + 1;
            let sim = m.distance.map(|d| 1.0 - d).unwrap_or(0.0);
            let (id, c) = candidate(m);
            let e = cands.entry(id).or_insert(c);
            e.score += 1.0 / (RRF_K + rank as f32);
            e.reasons
                .push(format!("semantic: similarity {sim:.2} (#{rank})"));
        }
    }

    let mut symbol_files: HashMap<String, Vec<(String, String, u32, u32)>> = HashMap::new();
    for r in symbol_rows {
        symbol_files
            .entry(r.path)
            .or_default()
            .push((r.name, r.kind, r.start_line, r.end_line));
    }
    let boost = 2.0 / (RRF_K + 1.0);
    for (path, defs) in &symbol_files {
        for (name, kind, s, e) in defs {
            // Boost the chunk holding the definition (the tightest: a file-level chunk
            // of imports and top-level code can span it too), or add one for it.
            let hit = cands
                .values_mut()
                .filter(|c| &c.path == path && c.start_line <= *s && c.end_line >= *s)
                .min_by_key(|c| (c.end_line - c.start_line, c.start_line));
            let reason = format!("symbol: {name} ({kind}, lines {s}-{e})");
            match hit {
                Some(c) => {
                    c.score += boost;
                    c.reasons.push(reason);
                }
                None => {
                    cands.insert(
                        format!("{path}:{s}:{name}"),
                        Candidate {
                            path: path.clone(),
                            symbol: Some(name.clone()),
                            kind: kind.clone(),
                            start_line: *s,
                            end_line: *e,
                            score: boost,
                            reasons: vec![reason],
                            ..Default::default()
                        },
                    );
                }
            }
        }
    }

    // Paths named in the query.
    let mentioned: Vec<String> = query
        .split_whitespace()
        .map(|w| w.trim_matches(|c: char| "`'\"(),:;".contains(c)))
        .filter(|w| w.contains('/') || (w.contains('.') && w.len() > 3 && !w.ends_with('.')))
        .map(|w| w.trim_start_matches("./").to_string())
        .collect();

    // Group by file.
    let mut files: HashMap<String, FileHit> = HashMap::new();
    for c in cands.into_values() {
        let f = files.entry(c.path.clone()).or_insert_with(|| FileHit {
            path: c.path.clone(),
            score: 0.0,
            reasons: Vec::new(),
            chunks: Vec::new(),
        });
        f.chunks.push(ChunkHit {
            symbol: c.symbol,
            kind: c.kind,
            start_line: c.start_line,
            end_line: c.end_line,
            score: c.score,
            reasons: c.reasons,
        });
    }
    for f in files.values_mut() {
        f.chunks.sort_by(|a, b| {
            b.score
                .total_cmp(&a.score)
                .then(a.start_line.cmp(&b.start_line))
        });
        // The best chunk decides; more matching chunks only break near-ties, so a
        // long file does not outrank a precise one by sheer size.
        f.score = f
            .chunks
            .iter()
            .zip([1.0, 0.1, 0.05])
            .map(|(c, w)| c.score * w)
            .sum();
        if mentioned
            .iter()
            .any(|m| f.path.ends_with(m.as_str()) || m.ends_with(f.path.as_str()))
        {
            f.score += boost;
            f.reasons.push("path named in the query".into());
        }
        // One reason of each kind (from the best chunk), every distinct symbol.
        let mut seen = std::collections::HashSet::new();
        for c in &f.chunks {
            for r in &c.reasons {
                let kind = r.split(':').next().unwrap_or(r);
                let key = if kind == "symbol" { r.as_str() } else { kind };
                if seen.insert(key.to_string()) {
                    f.reasons.push(r.clone());
                }
            }
        }
        f.chunks.truncate(5);
    }
    let mut files: Vec<FileHit> = files.into_values().collect();
    files.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.path.cmp(&b.path)));
    files.truncate(top);
    Ok(SearchResult {
        query: query.to_string(),
        mode,
        files,
        notes,
        elapsed_ms: (t.elapsed().as_secs_f64() * 1000.0 * 10.0).round() / 10.0,
    })
}

fn candidate(m: ChunkMatch) -> (String, Candidate) {
    (
        m.id,
        Candidate {
            path: m.path,
            symbol: m.symbol,
            kind: m.kind,
            start_line: m.start_line,
            end_line: m.end_line,
            text_lc: m.text.to_lowercase(),
            score: 0.0,
            reasons: Vec::new(),
        },
    )
}

/// Lower-cased words of the query, identifiers split into their parts, for explaining
/// which terms matched.
pub fn query_words(query: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for token in query.split(|c: char| !c.is_alphanumeric() && c != '_') {
        for w in split_identifier(token) {
            if w.len() >= 3 && !STOP.contains(&w.as_str()) && !out.contains(&w) {
                out.push(w);
            }
        }
    }
    out
}

/// Tokens of the query that look like identifiers (lower-cased), for exact symbol hits:
/// `parse_config`, `Server.start` → `start`, `crate::foo::bar` → `bar`.
pub fn identifiers(query: &str) -> Vec<String> {
    let mut out = Vec::new();
    for raw in query.split(|c: char| c.is_whitespace() || "`'\"(),;[]{}<>".contains(c)) {
        for part in raw.split([':', '.', '/', '#']) {
            let part = part.trim_matches(|c: char| !c.is_alphanumeric() && c != '_');
            let ident = part.len() >= 3
                && part
                    .chars()
                    .next()
                    .is_some_and(|c| c.is_alphabetic() || c == '_')
                && part.chars().all(|c| c.is_alphanumeric() || c == '_');
            let lc = part.to_lowercase();
            if ident && !STOP.contains(&lc.as_str()) && !out.contains(&lc) {
                out.push(lc);
            }
        }
    }
    out.truncate(64);
    out
}

/// `parseHTTPConfig_v2` → `parse`, `http`, `config`, `v2`.
pub fn split_identifier(token: &str) -> Vec<String> {
    let mut out = Vec::new();
    for part in token.split('_').filter(|p| !p.is_empty()) {
        let chars: Vec<char> = part.chars().collect();
        let mut cur = String::new();
        for (i, &c) in chars.iter().enumerate() {
            let boundary = i > 0
                && c.is_uppercase()
                && (chars[i - 1].is_lowercase()
                    || chars.get(i + 1).is_some_and(|n| n.is_lowercase())
                        && chars[i - 1].is_uppercase());
            if boundary && !cur.is_empty() {
                out.push(std::mem::take(&mut cur).to_lowercase());
            }
            cur.push(c);
        }
        if !cur.is_empty() {
            out.push(cur.to_lowercase());
        }
    }
    out
}

const STOP: &[&str] = &[
    "the", "and", "for", "with", "that", "this", "from", "when", "what", "where", "which", "does",
    "not", "are", "was", "were", "has", "have", "how", "why", "into", "after", "before", "since",
    "there", "then", "than", "but", "all", "any", "can", "will", "should", "would", "could", "its",
    "our", "you", "your",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifier_splitting() {
        assert_eq!(
            split_identifier("parseHTTPConfig_v2"),
            vec!["parse", "http", "config", "v2"]
        );
        assert_eq!(
            split_identifier("max_file_size"),
            vec!["max", "file", "size"]
        );
        assert_eq!(
            query_words("Where is parseConfig called?"),
            vec!["where", "parse", "config", "called"]
                .into_iter()
                .filter(|w| *w != "where")
                .collect::<Vec<_>>()
        );
    }

    #[test]
    fn identifiers_from_queries_and_traces() {
        let ids = identifiers("panic in `Server::start` at src/server.rs:42, see parse_config()");
        for want in ["server", "start", "src", "parse_config", "panic"] {
            assert!(ids.contains(&want.to_string()), "{want}: {ids:?}");
        }
        assert!(!ids.contains(&"42".to_string()));
    }
}
