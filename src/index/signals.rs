//! One retriever per signal of issue ranking. Each returns its files best first, one
//! hit per file, with the reason it was found; `fusion` weighs them into one ranking,
//! and `search` uses the same full-text and vector retrievers.

use std::collections::{HashMap, HashSet};

use anyhow::Result;

use super::ranking::{IssueParse, RankedSymbol};
use super::store::Store;
use super::store::{ChunkMatch, CommitFilter, IndexTable, QuestionSource};
use crate::llm::embed::Embedder;

/// Chunks read per full-text or question query.
pub const CANDIDATES: usize = 60;
/// Nearest chunks that count as semantic evidence: sentence-model similarity on code
/// is noisy, so only the closest few vote (see docs/benchmarks.md).
pub const VECTOR_CANDIDATES: usize = 10;
/// Similar past commits read per query.
const PAST_CHANGES: usize = 20;

/// One file found by one signal.
#[derive(Debug, Clone, PartialEq)]
pub struct Hit {
    pub path: String,
    /// How much this hit counts within its signal (1 for most; less for a symbol
    /// defined in many files, more for a file that several past changes touched).
    pub strength: f32,
    pub reason: String,
    pub symbols: Vec<RankedSymbol>,
}

impl Hit {
    fn new(path: &str, strength: f32, reason: String) -> Hit {
        Hit {
            path: path.to_string(),
            strength,
            reason,
            symbols: Vec::new(),
        }
    }
}

/// Stack frames → the files they name (by path suffix) and the function at the line.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn frames(store: &Store, parsed: &IssueParse, all: &[String]) -> Result<Vec<Hit>> {
    let mut out: Vec<Hit> = Vec::new();
    for f in &parsed.frames {
        for p in match_paths(all, &f.path) {
            let at = f.line.map(|l| format!(":{l}")).unwrap_or_default();
            let mut hit = Hit::new(&p, 1.0, format!("stack frame: {}{at}", f.path));
            if let Some(line) = f.line
                && let Some(d) = store.definition_at(&p, line).await?
            {
                hit.symbols.push(RankedSymbol::from(d));
            }
            push_unique(&mut out, hit);
        }
    }
    Ok(out)
}

/// Paths written in the issue.
pub fn paths_named(parsed: &IssueParse, all: &[String]) -> Vec<Hit> {
    let mut out = Vec::new();
    for path in &parsed.paths {
        for p in match_paths(all, path) {
            push_unique(&mut out, Hit::new(&p, 1.0, format!("path named: {path}")));
        }
    }
    out
}

/// Definitions of the code-like names in the issue; a name defined in many files is
/// weak evidence for each.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn symbol_definitions(store: &Store, parsed: &IssueParse) -> Result<Vec<Hit>> {
    let lc: Vec<String> = parsed.symbols.iter().map(|s| s.to_lowercase()).collect();
    let rows = store.symbols_named(&lc, true, 300).await?;
    let mut per_name: HashMap<String, usize> = HashMap::new();
    for r in &rows {
        *per_name.entry(r.name.to_lowercase()).or_default() += 1;
    }
    let mut scored: Vec<(usize, Hit)> = Vec::new();
    for r in rows {
        let name_lc = r.name.to_lowercase();
        let n = per_name[&name_lc];
        let order = lc.iter().position(|x| *x == name_lc).unwrap_or(0) + n;
        let reason = format!("symbol: {} ({})", r.name, r.kind);
        let path = r.path.clone();
        match scored.iter_mut().find(|(_, h)| h.path == path) {
            Some((o, h)) => {
                *o = (*o).min(order);
                h.strength = h.strength.max(1.0 / n.min(4) as f32);
                h.symbols.push(RankedSymbol::from(r));
            }
            None => {
                let mut h = Hit::new(&path, 1.0 / n.min(4) as f32, reason);
                h.symbols.push(RankedSymbol::from(r));
                scored.push((order, h));
            }
        }
    }
    scored.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.path.cmp(&b.1.path)));
    Ok(scored.into_iter().map(|(_, h)| h).collect())
}

/// Full text over chunks: each file at the rank of its best chunk.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn fulltext(store: &Store, query: &str, words: &[String]) -> Result<Vec<Hit>> {
    let rows = store.chunks_matching(query, CANDIDATES).await?;
    Ok(chunk_files(&rows, |c, rank| {
        let lc = c.text.to_lowercase();
        let matched: Vec<&str> = words
            .iter()
            .filter(|w| lc.contains(w.as_str()))
            .map(String::as_str)
            .take(6)
            .collect();
        if matched.is_empty() {
            format!("text match (#{rank})")
        } else {
            format!("text: {}", matched.join(", "))
        }
    }))
}

/// Whole files ranked by full text, each file one document: many weak matches in a
/// long file count less than a few in a short one.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn whole_files(store: &Store, query: &str) -> Result<Vec<Hit>> {
    let paths = store.files_matching(query, CANDIDATES).await?;
    Ok(paths
        .iter()
        .enumerate()
        .map(|(i, p)| Hit::new(p, 1.0, format!("file text match (#{})", i + 1)))
        .collect())
}

/// The chunks nearest the issue text.
pub async fn vectors(store: &Store, embedder: &Embedder, query: &str) -> Result<Vec<Hit>> {
    let Some(v) = embedder.embed(vec![query.to_string()]).await?.pop() else {
        return Ok(Vec::new());
    };
    let rows = store.nearest_chunks(v, VECTOR_CANDIDATES).await?;
    Ok(chunk_files(&rows, |_, rank| {
        format!("semantic match (#{rank})")
    }))
}

/// Synthetic "what question leads here" entries matching the issue.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn questions(store: &Store, query: &str, source: QuestionSource) -> Result<Vec<Hit>> {
    // The whole table's count is kept with it; counting one source's rows would scan.
    if store.count_where_all(IndexTable::Questions).await? == 0 {
        return Ok(Vec::new());
    }
    let label = match source {
        QuestionSource::Offline => "question",
        QuestionSource::Model => "model question",
    };
    let mut out = Vec::new();
    for q in store.questions_matching(query, source, CANDIDATES).await? {
        push_unique(
            &mut out,
            Hit::new(&q.path, 1.0, format!("{label}: {}", q.question)),
        );
    }
    Ok(out)
}

/// "Past changes like this one touched these files": commits whose message matches
/// the issue (only those before `before`, when given), each passing a share of its
/// rank to the indexed files it changed.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn past_changes(
    store: &Store,
    query: &str,
    before: Option<i64>,
    indexed: &HashSet<&str>,
) -> Result<Vec<Hit>> {
    let filter = CommitFilter {
        before,
        ..Default::default()
    };
    if store.count_commits().await? == 0 {
        return Ok(Vec::new());
    }
    let commits = store
        .commits_matching(Some(query), &filter, PAST_CHANGES)
        .await?;
    let mut score: HashMap<String, (f32, String)> = HashMap::new();
    for (rank, c) in commits.iter().enumerate() {
        let touched: Vec<&String> = c
            .files
            .iter()
            .filter(|f| indexed.contains(f.as_str()))
            .collect();
        if touched.is_empty() || touched.len() > 20 {
            continue;
        }
        let share = 1.0 / ((rank + 1) as f32 * (touched.len() as f32).sqrt());
        let pr = c.pr.map(|p| format!(" #{p}")).unwrap_or_default();
        let short = &c.id[..c.id.len().min(8)];
        let summary: String = c.summary.chars().take(72).collect();
        for f in touched {
            let e = score
                .entry(f.clone())
                .or_insert_with(|| (0.0, format!("similar past change {short}{pr}: {summary}")));
            e.0 += share;
        }
    }
    let mut out: Vec<Hit> = score
        .into_iter()
        .map(|(p, (s, why))| Hit::new(&p, 1.0, why).with_score(s))
        .collect();
    sort_by_score(&mut out);
    Ok(out)
}

/// Files whose path words (folders and file name, split like identifiers) are words
/// of the issue, weighted by how rare each word is among the paths.
pub fn path_words(words: &[String], all: &[String]) -> Vec<Hit> {
    let issue: HashSet<&str> = words.iter().map(String::as_str).collect();
    let split: Vec<Vec<String>> = all.iter().map(|p| path_terms(p)).collect();
    let mut df: HashMap<&str, usize> = HashMap::new();
    for terms in &split {
        for t in terms.iter().collect::<HashSet<_>>() {
            *df.entry(t.as_str()).or_default() += 1;
        }
    }
    let n = all.len().max(1) as f32;
    let mut out: Vec<Hit> = Vec::new();
    for (path, terms) in all.iter().zip(&split) {
        let mut matched: Vec<&str> = Vec::new();
        let mut s = 0.0;
        for t in terms {
            if issue.contains(t.as_str()) && !matched.contains(&t.as_str()) {
                matched.push(t);
                s += (n / df[t.as_str()] as f32).ln().max(0.0);
            }
        }
        if s > 0.0 {
            let reason = format!("path words: {}", matched.join(", "));
            out.push(Hit::new(path, 1.0, reason).with_score(s));
        }
    }
    sort_by_score(&mut out);
    out.truncate(CANDIDATES);
    out
}

/// The words of a path: folder and file names (extension dropped) split on
/// separators, snake_case and camelCase, lower-cased, at least three letters.
pub fn path_terms(path: &str) -> Vec<String> {
    let stem = match path.rsplit_once('.') {
        Some((s, ext)) if !ext.contains('/') => s,
        _ => path,
    };
    let mut out = Vec::new();
    for part in stem.split(|c: char| !c.is_alphanumeric()) {
        let mut word = String::new();
        let mut prev_lower = false;
        for ch in part.chars() {
            if ch.is_uppercase() && prev_lower && !word.is_empty() {
                out.push(std::mem::take(&mut word));
            }
            prev_lower = ch.is_lowercase();
            word.extend(ch.to_lowercase());
        }
        out.push(word);
    }
    out.retain(|w| w.len() >= 3 && !w.chars().all(|c| c.is_ascii_digit()));
    out
}

impl Hit {
    /// Carry a raw score in `strength`, for signals ranked by a sum.
    fn with_score(mut self, s: f32) -> Hit {
        self.strength = s;
        self
    }
}

fn sort_by_score(hits: &mut [Hit]) {
    hits.sort_by(|a, b| b.strength.total_cmp(&a.strength).then(a.path.cmp(&b.path)));
    // Within a signal ranked by a sum, the rank carries the order: count each hit once.
    for h in hits.iter_mut() {
        h.strength = 1.0;
    }
}

fn push_unique(out: &mut Vec<Hit>, hit: Hit) {
    match out.iter_mut().find(|h| h.path == hit.path) {
        Some(h) => {
            for s in hit.symbols {
                if !h.symbols.contains(&s) {
                    h.symbols.push(s);
                }
            }
        }
        None => out.push(hit),
    }
}

/// Chunk results → files at the rank of each file's best chunk, with every chunk's
/// symbol kept for the file.
pub fn chunk_files(rows: &[ChunkMatch], reason: impl Fn(&ChunkMatch, usize) -> String) -> Vec<Hit> {
    let mut out: Vec<Hit> = Vec::new();
    for c in rows {
        let symbol = c.symbol.as_ref().map(|name| RankedSymbol {
            name: name.clone(),
            kind: c.kind.clone(),
            start_line: c.start_line,
            end_line: c.end_line,
        });
        match out.iter_mut().find(|h| h.path == c.path) {
            Some(h) => {
                if let Some(s) = symbol
                    && !h.symbols.contains(&s)
                {
                    h.symbols.push(s);
                }
            }
            None => {
                let rank = out.len() + 1;
                let mut h = Hit::new(&c.path, 1.0, reason(c, rank));
                h.symbols.extend(symbol);
                out.push(h);
            }
        }
    }
    out
}

/// Indexed files a mentioned path refers to: exact, or the longest suffix match
/// (absolute paths from another machine, `./` prefixes, Java class file names).
pub fn match_paths(all: &[String], mentioned: &str) -> Vec<String> {
    let m = mentioned.trim_start_matches("./");
    if all.iter().any(|p| p == m) {
        return vec![m.to_string()];
    }
    let parts: Vec<&str> = m.split('/').filter(|s| !s.is_empty()).collect();
    for take in (1..=parts.len()).rev() {
        let suffix = parts[parts.len() - take..].join("/");
        let hits: Vec<String> = all
            .iter()
            .filter(|p| {
                p.ends_with(&suffix)
                    && (p.len() == suffix.len() || p.as_bytes()[p.len() - suffix.len() - 1] == b'/')
            })
            .cloned()
            .collect();
        if !hits.is_empty() {
            return if hits.len() <= 3 { hits } else { Vec::new() };
        }
    }
    Vec::new()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_suffix_matching() {
        let all = vec![
            "checkout/api.py".to_string(),
            "web/api.py".to_string(),
            "src/shop/InvoiceService.java".to_string(),
        ];
        assert_eq!(
            match_paths(&all, "/srv/x/checkout/api.py"),
            vec!["checkout/api.py"]
        );
        assert_eq!(
            match_paths(&all, "InvoiceService.java"),
            vec!["src/shop/InvoiceService.java"]
        );
        assert_eq!(match_paths(&all, "api.py").len(), 2);
        assert!(match_paths(&all, "nothing.py").is_empty());
    }

    #[test]
    fn path_terms_split_folders_names_and_identifiers() {
        assert_eq!(
            path_terms("src/main/java/org/jsoup/parser/HtmlTreeBuilder.java"),
            vec![
                "src", "main", "java", "org", "jsoup", "parser", "html", "tree", "builder"
            ]
        );
        assert_eq!(
            path_terms("httpx/_multipart.py"),
            vec!["httpx", "multipart"]
        );
    }

    #[test]
    fn rare_path_words_rank_first() {
        let all: Vec<String> = ["lib/router/index.js", "lib/request.js", "lib/response.js"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let words: Vec<String> = ["router", "lib", "crash"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let hits = path_words(&words, &all);
        assert_eq!(hits.len(), 1, "{hits:?}");
        assert_eq!(hits[0].path, "lib/router/index.js");
        assert!(hits[0].reason.contains("router"));
    }
}
