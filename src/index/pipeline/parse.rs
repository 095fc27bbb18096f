//! Parsing one run's files: each read, hashed against what is stored, parsed with
//! tree-sitter, chunked, and turned into the rows the store writes, on every core.

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use indicatif::ProgressBar;

use crate::index::chunk::{Chunk, Chunker};
use crate::index::rows::{ChunkRow, FileRow, FileState, QuestionRow, SymbolRow};
use crate::index::syntax::SyntaxEngine;
use crate::index::walk::{self, FileContent, SkipReason, WalkedFile};

/// What parsing one file produced.
pub(super) struct Parsed {
    pub(super) file: FileRow,
    pub(super) chunks: Vec<ChunkRow>,
    pub(super) symbols: Vec<SymbolRow>,
    pub(super) questions: Vec<QuestionRow>,
}

/// What became of one walked file.
pub(super) enum Outcome {
    Parsed(Parsed),
    Touched(FileRow),
    Skipped(SkipReason, String),
}

/// Parse and chunk these files on every core; files whose content hash is stored are
/// only touched.
pub(super) fn parse_all(
    engine: &SyntaxEngine,
    files: &[WalkedFile],
    stored: &HashMap<String, FileState>,
    max_chunk_lines: usize,
    bar: &ProgressBar,
) -> Vec<Outcome> {
    let next = AtomicUsize::new(0);
    let out: Mutex<Vec<Outcome>> = Mutex::new(Vec::with_capacity(files.len()));
    let threads = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(2);
    let chunker = Chunker::new(max_chunk_lines);
    std::thread::scope(|s| {
        for _ in 0..threads.min(files.len().max(1)) {
            s.spawn(|| {
                let mut ctx = crate::index::syntax::ParseContext::new();
                let mut local = Vec::new();
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(f) = files.get(i) else { break };
                    local.push(parse_one(engine, &mut ctx, &chunker, f, stored.get(&f.rel)));
                    bar.inc(1);
                }
                if let Ok(mut o) = out.lock() {
                    o.extend(local);
                }
            });
        }
    });
    out.into_inner().unwrap_or_default()
}

fn parse_one(
    engine: &SyntaxEngine,
    ctx: &mut crate::index::syntax::ParseContext,
    chunker: &Chunker,
    f: &WalkedFile,
    stored: Option<&FileState>,
) -> Outcome {
    let (content, bytes) = walk::read_content(f);
    let (text, lossy) = match content {
        FileContent::Text { text, lossy } => (text, lossy),
        FileContent::Skip(reason, what) => return Outcome::Skipped(reason, what),
    };
    let hash = blake3::hash(bytes.as_deref().unwrap_or_default())
        .to_hex()
        .to_string();
    let mut file = FileRow {
        path: f.rel.clone(),
        hash,
        lang: f.lang.name().to_string(),
        size: f.size,
        mtime_ns: f.mtime_ns,
        chunks: 0,
        lossy,
        search_text: format!("{}\n{text}", f.rel),
    };
    if stored.is_some_and(|s| s.hash == file.hash) {
        return Outcome::Touched(file);
    }
    let (chunks, symbols) = match engine.parse(ctx, f.lang, &text) {
        Ok(Some(parsed)) => {
            let chunks = chunker.code(&text, &parsed.definitions);
            let mut symbols: Vec<SymbolRow> = parsed
                .definitions
                .iter()
                .map(|d| SymbolRow {
                    name: d.name.clone(),
                    kind: d.kind.clone(),
                    role: "def",
                    path: f.rel.clone(),
                    start_line: d.start_line,
                    end_line: d.end_line,
                    parent: d.parent.clone(),
                    doc: d.doc.clone(),
                })
                .collect();
            // One reference row per name per file is enough to link files.
            let mut seen = HashSet::new();
            for r in &parsed.references {
                if seen.insert(r.name.as_str()) {
                    symbols.push(SymbolRow {
                        name: r.name.clone(),
                        kind: r.kind.clone(),
                        role: "ref",
                        path: f.rel.clone(),
                        start_line: r.line,
                        end_line: r.line,
                        parent: None,
                        doc: None,
                    });
                }
            }
            (chunks, symbols)
        }
        // A broken user query for this language: index its text without symbols.
        Ok(None) | Err(_) => (chunker.sections(f.lang, &text), Vec::new()),
    };
    let chunk_rows: Vec<ChunkRow> = chunks.into_iter().map(|c| chunk_row(f, c)).collect();
    file.chunks = chunk_rows.len() as u32;
    let docs: std::collections::HashMap<&str, &str> = symbols
        .iter()
        .filter_map(|s| s.doc.as_deref().map(|d| (s.name.as_str(), d)))
        .collect();
    let questions = chunk_rows
        .iter()
        .flat_map(|c| {
            let doc = c.symbol.as_deref().and_then(|s| docs.get(s).copied());
            crate::index::questions::for_chunk(c, doc)
        })
        .collect();
    Outcome::Parsed(Parsed {
        file,
        chunks: chunk_rows,
        symbols,
        questions,
    })
}

fn chunk_row(f: &WalkedFile, c: Chunk) -> ChunkRow {
    let symbols = c.symbols.join(" ");
    let id =
        blake3::hash(format!("{}\0{}\0{}\0{}", f.rel, c.start_line, c.end_line, c.text).as_bytes())
            .to_hex()[..20]
            .to_string();
    let mut search_text = String::with_capacity(c.text.len() + f.rel.len() + symbols.len() + 2);
    search_text.push_str(&f.rel);
    search_text.push('\n');
    search_text.push_str(&symbols);
    search_text.push('\n');
    search_text.push_str(&c.text);
    ChunkRow {
        id,
        path: f.rel.clone(),
        lang: f.lang.name().to_string(),
        symbol: c.symbol,
        symbols,
        kind: c.kind,
        parent: c.parent,
        start_line: c.start_line,
        end_line: c.end_line,
        text: c.text,
        search_text,
    }
}
