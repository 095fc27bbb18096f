//! Which functions of a returned file an issue most likely involves. The signals name
//! the definitions their hits fell in (a matching chunk, a stack frame's line, a symbol
//! the issue spells); a file found as a whole (its text, its path, past changes) names
//! none. So every function and method of each returned file is also matched against the
//! issue's words: the words of its name (identifiers split), and of its body and doc
//! comment, each word weighted by how few of the file's definitions use it.

use std::collections::{BTreeMap, HashMap, HashSet};

use anyhow::Result;

use super::ranking::{RankedFile, RankedSymbol};
use super::search::{query_words, split_identifier};
use super::store::{Store, SymbolRow};

/// Kinds that are places a change goes (a class or a document's section is not).
pub fn is_function_kind(kind: &str) -> bool {
    matches!(kind, "function" | "method" | "constructor" | "macro")
}

/// What the issue shares with one function definition.
#[derive(Debug, Clone)]
pub struct DefinitionMatch {
    pub symbol: RankedSymbol,
    /// Its place among the symbols the signals named in the file (from 0), if named.
    pub named: Option<usize>,
    /// Its name (lower-cased) is an identifier the issue spells.
    pub exact: bool,
    /// Issue words (stemmed) among the words of its name.
    pub name_words: Vec<String>,
    /// Issue word (stemmed) → occurrences in its body and doc comment.
    pub body: BTreeMap<String, u32>,
    /// Words in its body and doc comment.
    pub body_len: usize,
}

/// A crude English stem, the same on both sides: `parsing`, `parses`, `parsed` and
/// `parse` all become `pars`.
pub fn stem(word: &str) -> String {
    for suffix in ["ing", "ed", "es", "s", "e"] {
        if let Some(s) = word.strip_suffix(suffix)
            && s.chars().count() >= 3
        {
            return s.to_string();
        }
    }
    word.to_string()
}

/// The issue's words, stemmed, without repeats.
pub fn issue_stems(issue: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for w in query_words(issue) {
        let s = stem(&w);
        if !out.contains(&s) {
            out.push(s);
        }
    }
    out
}

/// The words of some code or prose, identifiers split, lower-cased and stemmed.
fn words(text: &str) -> impl Iterator<Item = String> + '_ {
    text.split(|c: char| !c.is_alphanumeric() && c != '_')
        .flat_map(split_identifier)
        .filter(|w| w.len() >= 3)
        .map(|w| stem(&w))
}

/// Every function definition of one file matched against the issue.
pub fn definition_matches(
    issue: &[String],
    identifiers: &HashSet<String>,
    defs: &[SymbolRow],
    text: &str,
    named: &[RankedSymbol],
) -> Vec<DefinitionMatch> {
    let lines: Vec<&str> = text.lines().collect();
    let wanted: HashSet<&str> = issue.iter().map(String::as_str).collect();
    let mut out = Vec::new();
    for d in defs.iter().filter(|d| is_function_kind(&d.kind)) {
        let symbol = RankedSymbol::from(d.clone());
        // A chunk names its definition with the chunk's lines (doc comment included).
        let named_at = named.iter().position(|s| {
            s.name == d.name && s.start_line <= d.end_line && s.end_line >= d.start_line
        });
        let mut name_words: Vec<String> = Vec::new();
        for w in words(&d.name) {
            if wanted.contains(w.as_str()) && !name_words.contains(&w) {
                name_words.push(w);
            }
        }
        let first = d.start_line.max(1) as usize - 1;
        let last = (d.end_line as usize).min(lines.len());
        let body_text = lines.get(first..last).unwrap_or_default().join("\n");
        let mut body = BTreeMap::new();
        let mut body_len = 0;
        for w in words(&body_text).chain(words(d.doc.as_deref().unwrap_or(""))) {
            body_len += 1;
            if wanted.contains(w.as_str()) {
                *body.entry(w).or_insert(0) += 1;
            }
        }
        out.push(DefinitionMatch {
            exact: identifiers.contains(&d.name.to_lowercase()),
            symbol,
            named: named_at,
            name_words,
            body,
            body_len,
        });
    }
    out
}

/// For each of `files`, every function definition matched against the issue (read in
/// two queries: the files' definitions and their text).
pub async fn file_matches(
    store: &Store,
    issue: &str,
    identifiers: &[String],
    files: &[RankedFile],
) -> Result<Vec<Vec<DefinitionMatch>>> {
    let paths: Vec<String> = files.iter().map(|f| f.path.clone()).collect();
    let (rows, texts) =
        tokio::try_join!(store.definitions_in_files(&paths), store.file_texts(&paths))?;
    let mut defs: HashMap<String, Vec<SymbolRow>> = HashMap::new();
    for d in rows {
        defs.entry(d.path.clone()).or_default().push(d);
    }
    let stems = issue_stems(issue);
    let identifiers: HashSet<String> = identifiers.iter().map(|s| s.to_lowercase()).collect();
    Ok(files
        .iter()
        .map(|f| {
            let text = texts.get(&f.path).map(String::as_str).unwrap_or("");
            let defs = defs.get(&f.path).map(Vec::as_slice).unwrap_or_default();
            definition_matches(&stems, &identifiers, defs, text, &f.symbols)
        })
        .collect())
}

/// How much a signal naming the definition counts (its first named symbol: all of it).
const NAMED: f32 = 1.0;
/// A definition whose name the issue spells.
const EXACT: f32 = 3.0;
/// The issue's words in its body, by BM25 over the file's functions.
const BODY: f32 = 0.5;
const K1: f32 = 1.2;
const B: f32 = 0.75;
/// A function is named when it scores at least this share of the file's best...
const RELATIVE: f32 = 0.5;
/// ...and among the file's best this many.
pub const PER_FILE: usize = 5;

/// The file's functions most likely involved, best first: at most `PER_FILE`, each
/// scoring at least `RELATIVE` of the best, one per name.
pub fn rank_functions(matches: &[DefinitionMatch]) -> Vec<RankedSymbol> {
    let n = matches.len() as f32;
    let mut df: HashMap<&str, f32> = HashMap::new();
    for m in matches {
        let words: HashSet<&str> = m
            .name_words
            .iter()
            .chain(m.body.keys())
            .map(String::as_str)
            .collect();
        for w in words {
            *df.entry(w).or_default() += 1.0;
        }
    }
    let idf = |w: &str| {
        let d = df.get(w).copied().unwrap_or(0.0);
        (1.0 + (n - d + 0.5) / (d + 0.5)).ln()
    };
    let avg = (matches.iter().map(|m| m.body_len).sum::<usize>() as f32 / n.max(1.0)).max(1.0);
    let mut scored: Vec<(f32, &DefinitionMatch)> = matches
        .iter()
        .map(|m| {
            let mut s = m.named.map_or(0.0, |r| NAMED / (1 + r) as f32);
            if m.exact {
                s += EXACT;
            }
            let norm = K1 * (1.0 - B + B * m.body_len as f32 / avg);
            for (w, &tf) in &m.body {
                let tf = tf as f32;
                s += BODY * idf(w) * tf * (K1 + 1.0) / (tf + norm);
            }
            (s, m)
        })
        .filter(|(s, _)| *s > 0.0)
        .collect();
    scored.sort_by(|a, b| {
        b.0.total_cmp(&a.0)
            .then(a.1.symbol.start_line.cmp(&b.1.symbol.start_line))
    });
    let best = scored.first().map_or(0.0, |x| x.0);
    let mut out: Vec<RankedSymbol> = Vec::new();
    for (s, m) in scored {
        if s < RELATIVE * best || out.len() >= PER_FILE {
            break;
        }
        if !out.iter().any(|x| x.name == m.symbol.name) {
            out.push(m.symbol.clone());
        }
    }
    out
}

/// Name the functions of the first `count` files: their best-matching functions first,
/// then whatever else the signals named in them (classes, sections).
#[tracing::instrument(level = "debug", skip_all)]
pub async fn name_functions(
    store: &Store,
    issue: &str,
    identifiers: &[String],
    files: &mut [RankedFile],
    count: usize,
) -> Result<()> {
    let count = count.min(files.len());
    let matches = file_matches(store, issue, identifiers, &files[..count]).await?;
    for (f, m) in files.iter_mut().zip(matches) {
        let mut symbols = rank_functions(&m);
        if symbols.is_empty() {
            continue;
        }
        for s in f.symbols.drain(..) {
            if !is_function_kind(&s.kind) && !symbols.contains(&s) {
                symbols.push(s);
            }
        }
        f.symbols = symbols;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn def(name: &str, start: u32, end: u32) -> SymbolRow {
        SymbolRow {
            name: name.into(),
            kind: "function".into(),
            role: "def",
            path: "cart.py".into(),
            start_line: start,
            end_line: end,
            parent: None,
            doc: None,
        }
    }

    const CART: &str = "def add_item(cart, item):\n    cart.items.append(item)\n\
        def apply_coupon(cart, coupon):\n    if coupon.expired:\n        raise ValueError('coupon expired')\n    cart.total -= coupon.value\n\
        def total(cart):\n    return sum(i.price for i in cart.items)\n";

    fn defs() -> Vec<SymbolRow> {
        vec![
            def("add_item", 1, 2),
            def("apply_coupon", 3, 6),
            def("total", 7, 8),
        ]
    }

    #[test]
    fn stems_meet_across_word_forms() {
        for w in ["parsing", "parses", "parsed", "parse"] {
            assert_eq!(stem(w), "pars", "{w}");
        }
        assert_eq!(stem("coupons"), stem("coupon"));
        // Short words keep their letters.
        assert_eq!(stem("use"), "use");
    }

    #[test]
    fn the_function_whose_body_speaks_the_issue_comes_first() {
        let issue = issue_stems("Expired coupons still lower the cart total");
        let m = definition_matches(&issue, &HashSet::new(), &defs(), CART, &[]);
        assert_eq!(m.len(), 3);
        let named = rank_functions(&m);
        assert_eq!(named[0].name, "apply_coupon", "{named:?}");
        assert_eq!((named[0].start_line, named[0].end_line), (3, 6));
        // `add_item` shares only the common word `cart`: well below the best, unnamed.
        assert!(!named.iter().any(|s| s.name == "add_item"), "{named:?}");
    }

    #[test]
    fn a_signal_named_definition_or_an_exact_name_outweighs_shared_words() {
        let issue = issue_stems("Expired coupons still lower the cart total");
        // A stack frame or a matching chunk named `add_item` (with its chunk's lines).
        let chunk = RankedSymbol {
            name: "add_item".into(),
            kind: "function".into(),
            start_line: 1,
            end_line: 2,
        };
        let m = definition_matches(&issue, &HashSet::new(), &defs(), CART, &[chunk]);
        assert_eq!(m[0].named, Some(0));
        let ids: HashSet<String> = ["total".to_string()].into_iter().collect();
        let m = definition_matches(&issue, &ids, &defs(), CART, &[]);
        assert!(m[2].exact);
        assert_eq!(rank_functions(&m)[0].name, "total");
        // Nothing shared, nothing named: no function is named.
        let m = definition_matches(
            &issue_stems("dark mode"),
            &HashSet::new(),
            &defs(),
            CART,
            &[],
        );
        assert!(rank_functions(&m).is_empty());
    }
}
