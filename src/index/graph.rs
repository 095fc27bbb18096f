//! The repository knowledge graph in the LanceDB `edges` table: file–symbol, file→file
//! references, co-change, file–PR, PR–author and author–file ownership. AST and git edges
//! are `deterministic`; nothing here is inferred yet.

use std::collections::{HashMap, HashSet};

use anyhow::Result;
use serde::Serialize;

use super::ranking::RankedFile;
pub use super::rows::Edge;
use super::rows::{CommitChange, EdgeRecord, SymbolRow};
use super::store::Store;

/// A definition name shared by more files than this is too ambiguous to link.
const MAX_DEFINING_FILES: usize = 3;
/// Ownership decays with this half-life (days).
const OWNERSHIP_HALF_LIFE_DAYS: f64 = 180.0;
/// Commits that change more files than this link none of them (as in `cochange`).
const MAX_COCHANGE_FILES: usize = 20;
/// How far below the file that lifted it a lifted neighbour stays, at most.
const BELOW_LIFTER: f32 = 0.01;

#[derive(Debug, Clone, Default, Serialize)]
pub struct GraphStats {
    pub defines: usize,
    pub references: usize,
    pub co_change: usize,
    pub changed_in: usize,
    pub authored_by: usize,
    pub owns: usize,
}

/// Recompute the AST edges (after files changed).
#[tracing::instrument(level = "debug", skip_all)]
pub async fn rebuild_ast(store: &Store, now: i64) -> Result<GraphStats> {
    let mut stats = GraphStats::default();
    let mut defs: HashMap<String, Vec<String>> = HashMap::new();
    let mut refs: Vec<(String, String)> = Vec::new();
    let mut edges = Vec::new();
    for u in store.symbol_uses().await? {
        if u.is_def {
            let paths = defs.entry(u.name).or_default();
            if !paths.contains(&u.path) {
                paths.push(u.path);
            }
        } else {
            refs.push((u.path, u.name));
        }
    }
    for (name, paths) in &defs {
        for p in paths {
            edges.push(Edge {
                src: p.clone(),
                dst: format!("sym:{name}"),
                kind: "defines",
                weight: 1.0,
                layer: "deterministic",
                observed_at: now,
            });
        }
    }
    stats.defines = edges.len();
    let mut counts: HashMap<(String, String), f32> = HashMap::new();
    for (src, name) in &refs {
        let Some(targets) = defs.get(name) else {
            continue;
        };
        if targets.len() > MAX_DEFINING_FILES {
            continue;
        }
        for t in targets {
            if t != src {
                *counts.entry((src.clone(), t.clone())).or_default() += 1.0 / targets.len() as f32;
            }
        }
    }
    stats.references = counts.len();
    edges.extend(counts.into_iter().map(|((src, dst), w)| Edge {
        src,
        dst,
        kind: "references",
        weight: w,
        layer: "deterministic",
        observed_at: now,
    }));
    store
        .replace_edges(&["defines", "references"], &edges)
        .await?;
    Ok(stats)
}

/// Update the AST edges of a few changed files: their `defines` and outgoing
/// `references`. Incoming references from unchanged files are refreshed by the next full
/// rebuild (a cold run, or a run that changes many files).
///
/// Definitions come from the stored rows of the other files and from `symbols` (this
/// run's rows of the changed files), never from the changed files' stored rows, so this
/// can run while those rows are being replaced.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn update_ast(
    store: &Store,
    changed: &[String],
    removed: &[String],
    symbols: &[SymbolRow],
    now: i64,
) -> Result<GraphStats> {
    let mut stats = GraphStats::default();
    let delete_old = async {
        store
            .delete_edges_from(&["defines", "references"], changed)
            .await?;
        // Nothing may point at a file that is gone.
        store.delete_edges_to(&["references"], removed).await?;
        anyhow::Ok(())
    };
    let (defs, ()) = tokio::try_join!(referenced_defs(store, changed, symbols), delete_old)?;
    let mut edges = Vec::new();
    for s in symbols.iter().filter(|s| s.role == "def") {
        edges.push(Edge {
            src: s.path.clone(),
            dst: format!("sym:{}", s.name),
            kind: "defines",
            weight: 1.0,
            layer: "deterministic",
            observed_at: now,
        });
    }
    edges.sort_by(|a, b| (&a.src, &a.dst).cmp(&(&b.src, &b.dst)));
    edges.dedup_by(|a, b| a.src == b.src && a.dst == b.dst);
    stats.defines = edges.len();
    let mut counts: HashMap<(String, String), f32> = HashMap::new();
    for s in symbols.iter().filter(|s| s.role == "ref") {
        let Some(targets) = defs.get(&s.name) else {
            continue;
        };
        if targets.len() > MAX_DEFINING_FILES {
            continue;
        }
        for t in targets {
            if *t != s.path {
                *counts.entry((s.path.clone(), t.clone())).or_default() +=
                    1.0 / targets.len() as f32;
            }
        }
    }
    stats.references = counts.len();
    edges.extend(counts.into_iter().map(|((src, dst), w)| Edge {
        src,
        dst,
        kind: "references",
        weight: w,
        layer: "deterministic",
        observed_at: now,
    }));
    store.add_edges(&edges).await?;
    Ok(stats)
}

/// The files defining each name the changed files refer to: the stored rows of the other
/// files, and this run's rows of the changed ones.
#[tracing::instrument(level = "debug", skip_all)]
async fn referenced_defs(
    store: &Store,
    changed: &[String],
    symbols: &[SymbolRow],
) -> Result<HashMap<String, Vec<String>>> {
    let wanted: HashSet<String> = symbols
        .iter()
        .filter(|s| s.role == "ref")
        .map(|s| s.name.to_lowercase())
        .collect();
    let mut defs: HashMap<String, Vec<String>> = HashMap::new();
    let mut add_def = |name: &str, path: &str| {
        let paths = defs.entry(name.to_string()).or_default();
        if !paths.iter().any(|p| p == path) {
            paths.push(path.to_string());
        }
    };
    for s in symbols {
        if s.role == "def" && wanted.contains(&s.name.to_lowercase()) {
            add_def(&s.name, &s.path);
        }
    }
    let changed: HashSet<&str> = changed.iter().map(String::as_str).collect();
    let wanted: Vec<String> = wanted.into_iter().collect();
    for part in wanted.chunks(500) {
        for d in store.definitions_named(part).await? {
            if !changed.contains(d.path.as_str()) {
                add_def(&d.name, &d.path);
            }
        }
    }
    Ok(defs)
}

/// Recompute the history edges (after new commits).
#[tracing::instrument(level = "debug", skip_all)]
pub async fn rebuild_history(
    store: &Store,
    max_files_per_commit: usize,
    now: i64,
) -> Result<GraphStats> {
    let mut stats = GraphStats::default();
    let commits = store.commit_changes().await?;
    let mut changed_in: HashSet<(String, u64)> = HashSet::new();
    let mut pr_author: HashSet<(u64, String)> = HashSet::new();
    let mut owns: HashMap<(String, String), f64> = HashMap::new();
    for c in &commits {
        let age_days = ((now - c.time).max(0) as f64) / 86_400.0;
        let recency = 0.5f64.powf(age_days / OWNERSHIP_HALF_LIFE_DAYS);
        let author = c.email.as_str();
        for f in &c.files {
            if !author.is_empty() {
                *owns.entry((author.to_string(), f.clone())).or_default() += recency;
            }
            if let Some(pr) = c.pr {
                changed_in.insert((f.clone(), pr as u64));
            }
        }
        if let Some(pr) = c.pr.filter(|_| !author.is_empty()) {
            pr_author.insert((pr as u64, author.to_string()));
        }
    }
    let mut edges = Vec::new();
    for ((a, b), w) in co_change_weights(&commits, max_files_per_commit.min(MAX_COCHANGE_FILES)) {
        edges.push(Edge {
            src: a,
            dst: b,
            kind: "co_change",
            weight: w,
            layer: "deterministic",
            observed_at: now,
        });
    }
    stats.co_change = edges.len();
    for (f, pr) in changed_in {
        edges.push(Edge {
            src: f,
            dst: format!("pr:#{pr}"),
            kind: "changed_in",
            weight: 1.0,
            layer: "deterministic",
            observed_at: now,
        });
        stats.changed_in += 1;
    }
    for (pr, author) in pr_author {
        edges.push(Edge {
            src: format!("pr:#{pr}"),
            dst: format!("author:{author}"),
            kind: "authored_by",
            weight: 1.0,
            layer: "deterministic",
            observed_at: now,
        });
        stats.authored_by += 1;
    }
    for ((author, f), w) in owns {
        edges.push(Edge {
            src: format!("author:{author}"),
            dst: f,
            kind: "owns",
            weight: w as f32,
            layer: "deterministic",
            observed_at: now,
        });
        stats.owns += 1;
    }
    store
        .replace_edges(&["co_change", "changed_in", "authored_by", "owns"], &edges)
        .await?;
    Ok(stats)
}

/// How strongly each pair of files changes together, in (0, 1]. A commit spreads one
/// unit over each file's partners in it (1 / (files − 1) per pair, as association-rule
/// mining weighs a basket), so a commit of two files links them fully and one of twenty
/// barely; commits of more than `max_files` files (reorganisations, formatting) link
/// nothing. The sum is normalized by both files' commits (1 when two files only ever
/// change together, in pairs) and discounted by support: `n / (n + 1)` for `n` shared
/// commits, so one shared commit counts half.
pub fn co_change_weights(
    commits: &[CommitChange],
    max_files: usize,
) -> HashMap<(String, String), f32> {
    let mut file_commits: HashMap<&str, f32> = HashMap::new();
    let mut pairs: HashMap<(&str, &str), (f32, u32)> = HashMap::new();
    for c in commits {
        for f in &c.files {
            *file_commits.entry(f.as_str()).or_default() += 1.0;
        }
        let size = (c.n_files as usize).max(c.files.len());
        if size > max_files || c.files.len() < 2 {
            continue;
        }
        let share = 1.0 / (size - 1) as f32;
        for (i, x) in c.files.iter().enumerate() {
            for y in &c.files[i + 1..] {
                let key = if x < y {
                    (x.as_str(), y.as_str())
                } else {
                    (y.as_str(), x.as_str())
                };
                let e = pairs.entry(key).or_default();
                e.0 += share;
                e.1 += 1;
            }
        }
    }
    pairs
        .into_iter()
        .map(|((a, b), (sum, n))| {
            let norm = (file_commits[a] * file_commits[b]).sqrt().max(1.0);
            let support = n as f32 / (n as f32 + 1.0);
            (
                (a.to_string(), b.to_string()),
                (sum / norm).min(1.0) * support,
            )
        })
        .collect()
}

/// File-to-file edges (references, co-change) held in memory for walks.
#[derive(Debug, Default)]
pub struct FileGraph {
    adj: HashMap<String, Vec<(String, f32, &'static str)>>,
}

impl FileGraph {
    pub async fn load(store: &Store) -> Result<FileGraph> {
        Ok(Self::from_edges(
            store.edges_of_kinds(&Self::kinds()).await?,
        ))
    }

    /// Only the links of these files: enough for a one-hop expansion from them, without
    /// reading the whole graph.
    pub async fn load_around(store: &Store, paths: &[String]) -> Result<FileGraph> {
        Ok(Self::from_edges(
            store.edges_touching(&Self::kinds(), paths).await?,
        ))
    }

    fn kinds() -> Vec<String> {
        vec!["references".to_string(), "co_change".to_string()]
    }

    fn from_edges(edges: Vec<EdgeRecord>) -> FileGraph {
        let mut g = FileGraph::default();
        for e in edges {
            let (kind, weight) = match e.kind.as_str() {
                // Reference counts saturate: ten calls are not ten times the link.
                "references" => ("references", (e.weight / (e.weight + 2.0)).min(1.0)),
                _ => ("co_change", e.weight.min(1.0)),
            };
            g.adj
                .entry(e.src.clone())
                .or_default()
                .push((e.dst.clone(), weight, kind));
            g.adj.entry(e.dst).or_default().push((e.src, weight, kind));
        }
        g
    }

    pub fn is_empty(&self) -> bool {
        self.adj.is_empty()
    }

    /// A file's links: each neighbour with the link's weight and kind.
    pub fn links(&self, path: &str) -> &[(String, f32, &'static str)] {
        self.adj.get(path).map_or(&[], Vec::as_slice)
    }

    /// Damped multi-hop spread from seed scores: each hop passes `damping × weight`,
    /// and a file keeps its strongest path (a hub linked to everything does not add up).
    /// Returns files not among the seeds with their score and that path's link.
    pub fn expand(
        &self,
        seeds: &HashMap<String, f32>,
        hops: usize,
        damping: f32,
    ) -> HashMap<String, (f32, String)> {
        let mut frontier: HashMap<String, f32> = seeds.clone();
        let mut out: HashMap<String, (f32, String)> = HashMap::new();
        for _ in 0..hops {
            let mut next: HashMap<String, f32> = HashMap::new();
            for (node, score) in &frontier {
                let Some(neigh) = self.adj.get(node) else {
                    continue;
                };
                for (n, w, kind) in neigh {
                    if seeds.contains_key(n) {
                        continue;
                    }
                    let s = score * damping * w;
                    let e = out.entry(n.clone()).or_insert((0.0, String::new()));
                    if s > e.0 {
                        *e = (s, format!("{kind} with {node}"));
                    }
                    let f = next.entry(n.clone()).or_default();
                    *f = f.max(s);
                }
            }
            frontier = next;
        }
        out
    }

    /// Lift the files linked to the first `seeds` of `files` (sorted best first): each
    /// gains `damping` × a seed's score × the link's weight (its best seed only), but
    /// never rises above the seed that lifted it; the seeds themselves and files
    /// outside `indexed` are not moved. `files` stays sorted.
    pub fn lift_neighbours(
        &self,
        files: &mut [RankedFile],
        seeds: usize,
        damping: f32,
        indexed: &HashSet<&str>,
    ) {
        let leads: Vec<(String, f32)> = files
            .iter()
            .take(seeds)
            .map(|f| (f.path.clone(), f.score))
            .collect();
        for f in files.iter_mut().skip(seeds) {
            if !indexed.contains(f.path.as_str()) {
                continue;
            }
            let Some(links) = self.adj.get(&f.path) else {
                continue;
            };
            let mut best: Option<(f32, String)> = None;
            for (lead, score) in &leads {
                for (n, w, kind) in links {
                    if n != lead {
                        continue;
                    }
                    let to = (f.score + damping * score * w).min(score - BELOW_LIFTER);
                    if to > f.score && best.as_ref().is_none_or(|b| to > b.0) {
                        best = Some((to, format!("related: {kind} with {lead}")));
                    }
                }
            }
            if let Some((to, reason)) = best {
                f.score = to;
                if !f.reasons.contains(&reason) {
                    f.reasons.push(reason);
                }
            }
        }
        files.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.path.cmp(&b.path)));
    }

    /// Files related to `path`, strongest first.
    pub fn related(&self, path: &str, hops: usize, top: usize) -> Vec<(String, f32, String)> {
        let seeds = HashMap::from([(path.to_string(), 1.0)]);
        let mut v: Vec<(String, f32, String)> = self
            .expand(&seeds, hops, 0.5)
            .into_iter()
            .map(|(p, (s, why))| (p, s, why))
            .collect();
        v.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        v.truncate(top);
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn edge(src: &str, dst: &str, kind: &str, weight: f32) -> EdgeRecord {
        EdgeRecord {
            src: src.into(),
            dst: dst.into(),
            kind: kind.into(),
            weight,
        }
    }

    fn ranked(path: &str, score: f32) -> RankedFile {
        RankedFile {
            path: path.into(),
            score,
            reasons: Vec::new(),
            symbols: Vec::new(),
        }
    }

    fn order(files: &[RankedFile]) -> Vec<&str> {
        files.iter().map(|f| f.path.as_str()).collect()
    }

    #[test]
    fn a_lifted_neighbour_never_rises_above_the_file_that_lifted_it() {
        // hub.go is linked to the second file strongly; a full lift would take it past
        // the first.
        let g = FileGraph::from_edges(vec![
            edge("b.go", "hub.go", "co_change", 1.0),
            edge("c.go", "d.go", "references", 8.0),
        ]);
        let mut files = vec![
            ranked("a.go", 5.0),
            ranked("b.go", 4.9),
            ranked("c.go", 3.0),
            ranked("x.go", 2.95),
            ranked("hub.go", 2.9),
            ranked("d.go", 1.0),
        ];
        let all = ["a.go", "b.go", "c.go", "x.go", "hub.go", "d.go"];
        let indexed: HashSet<&str> = all.into_iter().collect();
        g.lift_neighbours(&mut files, 3, 1.0, &indexed);
        // hub.go would reach 7.8 and d.go 3.4 (eight references saturate at 0.8):
        // each stops just below its lifter.
        assert_eq!(
            order(&files),
            ["a.go", "b.go", "hub.go", "c.go", "d.go", "x.go"]
        );
        assert!(files[2].score < 4.9 && files[4].score < 3.0);
        assert_eq!(files[2].reasons, ["related: co_change with b.go"]);
        assert_eq!(files[4].reasons, ["related: references with c.go"]);
    }

    fn commit(files: &[&str]) -> CommitChange {
        CommitChange {
            time: 0,
            email: String::new(),
            pr: None,
            files: files.iter().map(|f| f.to_string()).collect(),
            n_files: files.len() as u32,
        }
    }

    fn pair(a: &str, b: &str) -> (String, String) {
        (a.to_string(), b.to_string())
    }

    #[test]
    fn an_edge_from_a_large_commit_weighs_less_than_one_from_a_pair() {
        let ten: Vec<String> = (0..8).map(|i| format!("f{i}.rs")).collect();
        let mut big: Vec<&str> = ten.iter().map(String::as_str).collect();
        big.extend(["c.rs", "d.rs"]);
        let w = co_change_weights(&[commit(&["a.rs", "b.rs"]), commit(&big)], 20);
        let (ab, cd) = (w[&pair("a.rs", "b.rs")], w[&pair("c.rs", "d.rs")]);
        // One shared commit each, both files changed once: only the commit's size
        // differs (two files, ten).
        assert!((ab - 0.5).abs() < 1e-6, "{ab}");
        assert!((cd - 0.5 / 9.0).abs() < 1e-6, "{cd}");
        // Above the cap, a commit links nothing.
        let w = co_change_weights(&[commit(&big)], 9);
        assert!(w.is_empty(), "{w:?}");
    }

    #[test]
    fn co_change_weight_grows_with_shared_commits_and_falls_with_solo_ones() {
        let once = co_change_weights(&[commit(&["a.rs", "b.rs"])], 20)[&pair("a.rs", "b.rs")];
        let thrice =
            co_change_weights(&vec![commit(&["a.rs", "b.rs"]); 3], 20)[&pair("a.rs", "b.rs")];
        assert!(thrice > once, "{thrice} {once}");
        assert!((thrice - 0.75).abs() < 1e-6, "{thrice}");
        // a.rs also changed alone three times: half of its commits are with b.rs.
        let mut commits = vec![commit(&["a.rs", "b.rs"]); 3];
        commits.extend(vec![commit(&["a.rs"]); 3]);
        let diluted = co_change_weights(&commits, 20)[&pair("a.rs", "b.rs")];
        assert!(diluted < thrice, "{diluted} {thrice}");
    }

    #[test]
    fn seeds_and_unindexed_files_are_not_lifted() {
        let g = FileGraph::from_edges(vec![
            edge("a.go", "b.go", "co_change", 1.0),
            edge("a.go", "gone.go", "co_change", 1.0),
        ]);
        let mut files = vec![
            ranked("a.go", 5.0),
            ranked("b.go", 1.0),
            ranked("gone.go", 0.5),
        ];
        let indexed: HashSet<&str> = ["a.go", "b.go"].into_iter().collect();
        g.lift_neighbours(&mut files, 2, 1.0, &indexed);
        assert_eq!(files[1].score, 1.0, "a seed is not lifted");
        assert_eq!(
            files[2].score, 0.5,
            "a file no longer indexed is not lifted"
        );
    }
}
