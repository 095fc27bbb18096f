//! Tools over the repo index: search, issue ranking, symbols, file reads, the graph.

use std::fmt::Write as _;

use serde_json::{Value, json};

use super::{Tool, ToolContext, ToolError, ToolOutput, arg, bool_arg, quote, req_str, u64_arg};
use crate::index::localize::{Signals, rank_files_for_issue};
use crate::index::search::search;
use crate::protocol::{Evidence, EvidenceKind};

/// Longest file region `read_file` returns at once.
const MAX_READ_LINES: u64 = 400;

pub fn tools() -> Vec<Tool> {
    vec![
        Tool {
            name: "search_code",
            description: "Hybrid search of the repository index (full-text over code split on identifiers, symbols, vectors when available). Returns files with matching functions and line ranges.",
            parameters: json!({"type":"object","properties":{
                "query":{"type":"string","description":"words, identifiers or an error message"},
                "top":{"type":"integer","minimum":1,"maximum":30}},"required":["query"]}),
            timeout: None,
            human: |args| format!("triage search {}", quote(arg(args, "query"))),
            run: Some(|ctx, args| Box::pin(search_code(ctx, args))),
        },
        Tool {
            name: "issue_files",
            description: "Rank the files and functions an issue, stack trace or alert text is most likely about, with reasons (exact paths and frames weigh most).",
            parameters: json!({"type":"object","properties":{
                "text":{"type":"string"},
                "top":{"type":"integer","minimum":1,"maximum":30}},"required":["text"]}),
            timeout: None,
            human: |_| "triage issue --text-file -".to_string(),
            run: Some(|ctx, args| Box::pin(issue_files(ctx, args))),
        },
        Tool {
            name: "read_file",
            description: "Read a line range of a file in the repository (1-based, inclusive; at most 400 lines).",
            parameters: json!({"type":"object","properties":{
                "path":{"type":"string"},
                "start_line":{"type":"integer","minimum":1},
                "end_line":{"type":"integer","minimum":1}},"required":["path"]}),
            timeout: None,
            human: |args| {
                let path = quote(arg(args, "path"));
                match (u64_arg(args, "start_line"), u64_arg(args, "end_line")) {
                    (Some(a), Some(b)) => format!("sed -n {a},{b}p {path}"),
                    _ => format!("cat {path}"),
                }
            },
            run: Some(|ctx, args| Box::pin(read_file(ctx, args))),
        },
        Tool {
            name: "find_symbol",
            description: "Find where a function, type, class or method is defined (and referenced, with `references`).",
            parameters: json!({"type":"object","properties":{
                "name":{"type":"string"},
                "references":{"type":"boolean"}},"required":["name"]}),
            timeout: None,
            human: |args| format!("triage search {}", quote(arg(args, "name"))),
            run: Some(|ctx, args| Box::pin(find_symbol(ctx, args))),
        },
        Tool {
            name: "related_files",
            description: "Files related to a file through references and co-change in git history (damped multi-hop walk of the knowledge graph).",
            parameters: json!({"type":"object","properties":{
                "path":{"type":"string"},
                "top":{"type":"integer","minimum":1,"maximum":30}},"required":["path"]}),
            timeout: None,
            human: |args| format!("triage related {}", quote(arg(args, "path"))),
            run: Some(|ctx, args| Box::pin(related_files(ctx, args))),
        },
    ]
}

fn top_arg(args: &Value, default: u64) -> usize {
    u64_arg(args, "top").unwrap_or(default).clamp(1, 30) as usize
}

async fn search_code(ctx: &ToolContext, args: &Value) -> Result<ToolOutput, ToolError> {
    let query = req_str(args, "query")?;
    let store = ctx.store().await?;
    let result = search(&store, None, query, top_arg(args, 8)).await?;
    let mut text = String::new();
    let mut evidence = Vec::new();
    for n in &result.notes {
        let _ = writeln!(text, "note: {n}");
    }
    for (i, f) in result.files.iter().enumerate() {
        let _ = writeln!(text, "{}. {}  ({})", i + 1, f.path, f.reasons.join("; "));
        for c in f.chunks.iter().take(3) {
            let _ = writeln!(
                text,
                "   {}:{}-{} {} {}",
                f.path,
                c.start_line,
                c.end_line,
                c.kind,
                c.symbol.as_deref().unwrap_or("")
            );
        }
        if let Some(c) = f.chunks.first() {
            evidence.push(Evidence {
                kind: EvidenceKind::File,
                reference: format!("{}:{}-{}", f.path, c.start_line, c.end_line),
                detail: f.reasons.join("; "),
                call: None,
            });
        }
    }
    if result.files.is_empty() {
        text.push_str("no matches\n");
    }
    Ok(ToolOutput {
        summary: format!("{} files for {query:?}", result.files.len()),
        text,
        evidence,
        data: serde_json::to_value(&result).unwrap_or(Value::Null),
    })
}

async fn issue_files(ctx: &ToolContext, args: &Value) -> Result<ToolOutput, ToolError> {
    let text_in = req_str(args, "text")?;
    let store = ctx.store().await?;
    let result =
        rank_files_for_issue(&store, None, text_in, top_arg(args, 8), Signals::default()).await?;
    let mut text = String::new();
    let mut evidence = Vec::new();
    for (i, f) in result.files.iter().enumerate() {
        let _ = writeln!(
            text,
            "{}. {} (score {:.3}): {}",
            i + 1,
            f.path,
            f.score,
            f.reasons.join("; ")
        );
        for s in f.symbols.iter().take(3) {
            let _ = writeln!(
                text,
                "   {} {} lines {}-{}",
                s.kind, s.name, s.start_line, s.end_line
            );
        }
        let reference = match f.symbols.first() {
            Some(s) => format!("{}:{}-{}", f.path, s.start_line, s.end_line),
            None => f.path.clone(),
        };
        evidence.push(Evidence {
            kind: EvidenceKind::File,
            reference,
            detail: f.reasons.join("; "),
            call: None,
        });
    }
    if result.files.is_empty() {
        text.push_str("no candidate files\n");
    }
    Ok(ToolOutput {
        summary: match result.files.first() {
            Some(f) => format!("{} files, top {}", result.files.len(), f.path),
            None => "no candidate files".into(),
        },
        text,
        evidence,
        data: serde_json::to_value(&result).unwrap_or(Value::Null),
    })
}

/// Resolve a repository-relative path, refusing anything that leaves the repository.
fn repo_path(ctx: &ToolContext, path: &str) -> Result<(std::path::PathBuf, String), ToolError> {
    let root = ctx.repo_root()?;
    let rel = path.trim_start_matches("./").to_string();
    let joined = root.join(&rel);
    let canon_root = root.canonicalize().unwrap_or_else(|_| root.clone());
    let canon = joined
        .canonicalize()
        .map_err(|e| ToolError::Failed(format!("cannot read {rel}: {e}")))?;
    if !canon.starts_with(&canon_root) {
        return Err(ToolError::BadArguments(format!(
            "{rel} is outside the repository"
        )));
    }
    Ok((canon, rel))
}

async fn read_file(ctx: &ToolContext, args: &Value) -> Result<ToolOutput, ToolError> {
    let (path, rel) = repo_path(ctx, req_str(args, "path")?)?;
    let bytes = tokio::fs::read(&path)
        .await
        .map_err(|e| ToolError::Failed(format!("cannot read {rel}: {e}")))?;
    if bytes.iter().take(8192).any(|&b| b == 0) {
        return Err(ToolError::Failed(format!("{rel} is a binary file")));
    }
    let content = String::from_utf8_lossy(&bytes);
    let total = content.lines().count() as u64;
    let start = u64_arg(args, "start_line").unwrap_or(1).max(1);
    let end = u64_arg(args, "end_line")
        .unwrap_or(start + MAX_READ_LINES - 1)
        .min(start + MAX_READ_LINES - 1)
        .min(total.max(1));
    if start > total.max(1) {
        return Err(ToolError::BadArguments(format!(
            "{rel} has {total} lines; start_line {start} is past the end"
        )));
    }
    let mut text = format!("{rel} lines {start}-{end} of {total}\n");
    for (i, line) in content
        .lines()
        .enumerate()
        .skip(start as usize - 1)
        .take((end + 1 - start) as usize)
    {
        let _ = writeln!(text, "{:>5}  {line}", i + 1);
    }
    Ok(ToolOutput {
        summary: format!("{rel}:{start}-{end}"),
        text,
        evidence: vec![Evidence {
            kind: EvidenceKind::File,
            reference: format!("{rel}:{start}-{end}"),
            detail: "read".into(),
            call: None,
        }],
        data: json!({"path": rel, "start_line": start, "end_line": end, "total_lines": total}),
    })
}

async fn find_symbol(ctx: &ToolContext, args: &Value) -> Result<ToolOutput, ToolError> {
    let name = req_str(args, "name")?;
    let with_refs = bool_arg(args, "references");
    let store = ctx.store().await?;
    // `Type::method`, `pkg.func` and `obj.method()` all look up the last segment.
    let short = name
        .trim_end_matches("()")
        .rsplit([':', '.'])
        .next()
        .unwrap_or(name)
        .to_string();
    let filter = format!(
        "name_lc = '{}'{}",
        short.to_lowercase().replace('\'', "''"),
        if with_refs { "" } else { " AND role = 'def'" }
    );
    let rows = store.symbol_rows(&filter, Some(60)).await?;
    let mut text = String::new();
    let mut evidence = Vec::new();
    let mut found = Vec::new();
    for r in &rows {
        let reference = format!("{}:{}-{}", r.path, r.start_line, r.end_line);
        let _ = write!(
            text,
            "{} {} {}{} at {reference}",
            r.role,
            r.kind,
            r.parent
                .as_deref()
                .map(|p| format!("{p}::"))
                .unwrap_or_default(),
            r.name
        );
        if let Some(d) = &r.doc {
            let first = d.lines().next().unwrap_or("");
            let _ = write!(text, "  // {first}");
        }
        text.push('\n');
        if r.role == "def" {
            evidence.push(Evidence {
                kind: EvidenceKind::File,
                reference: reference.clone(),
                detail: format!("{} {}", r.kind, r.name),
                call: None,
            });
        }
        found.push(json!({"name": r.name, "kind": r.kind, "role": r.role,
            "path": r.path, "start_line": r.start_line, "end_line": r.end_line}));
    }
    if found.is_empty() {
        let _ = writeln!(text, "no symbol named {short} in the index");
    }
    Ok(ToolOutput {
        summary: format!("{} matches for {short}", found.len()),
        text,
        evidence,
        data: Value::Array(found),
    })
}

async fn related_files(ctx: &ToolContext, args: &Value) -> Result<ToolOutput, ToolError> {
    let path = req_str(args, "path")?.trim_start_matches("./").to_string();
    let store = ctx.store().await?;
    let graph = crate::index::graph::FileGraph::load(&store).await?;
    let related = graph.related(&path, 2, top_arg(args, 8));
    let mut text = String::new();
    for (i, (p, score, via)) in related.iter().enumerate() {
        let _ = writeln!(text, "{}. {p} ({score:.3}, {via})", i + 1);
    }
    if related.is_empty() {
        let _ = writeln!(text, "no related files for {path}");
    }
    Ok(ToolOutput {
        summary: format!("{} files related to {path}", related.len()),
        text,
        evidence: Vec::new(),
        data: Value::Array(
            related
                .iter()
                .map(|(p, s, via)| json!({"path": p, "score": s, "via": via}))
                .collect(),
        ),
    })
}
