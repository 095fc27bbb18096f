//! Files that change together: two source files are partners when the history changed
//! them together often (at least `MIN_TOGETHER` commits) and in most of the commits
//! that changed either (`MIN_SHARE` of each one's). When the fusion ranks one of them
//! near the top, its partner is moved up to just below it: a maintainer who opens
//! `clap_app.rs` for a command-line bug also looks at the `app.rs` that reads it.

use std::collections::HashMap;

use super::profile::{RepoProfile, Role};
use super::ranking::RankedFile;
use super::store::CommitRecord;

/// Commits that changed both files, at least.
const MIN_TOGETHER: u32 = 5;
/// Of the commits that changed either file, the share that changed both, at least.
const MIN_SHARE: f32 = 0.5;
/// Commits that change more files than this are reorganisations (as in `learn`).
const MAX_FILES: usize = 20;
/// The ranked files whose partners are moved up.
const LEADS: usize = 3;
/// How far below its lead a partner is placed.
const BELOW: f32 = 0.01;

/// Each indexed source file's partners in `commits`, best first.
pub fn partners(commits: &[CommitRecord], profile: &RepoProfile) -> HashMap<String, Vec<String>> {
    let source: std::collections::HashSet<&str> = profile
        .paths()
        .iter()
        .filter(|p| profile.role(p) == Role::Source)
        .map(String::as_str)
        .collect();
    let mut changed: HashMap<&str, u32> = HashMap::new();
    let mut together: HashMap<(&str, &str), u32> = HashMap::new();
    for c in commits {
        let touched: Vec<&str> = c
            .files
            .iter()
            .map(String::as_str)
            .filter(|f| source.contains(f))
            .collect();
        if touched.len() > MAX_FILES {
            continue;
        }
        for (i, a) in touched.iter().enumerate() {
            *changed.entry(a).or_default() += 1;
            for b in &touched[i + 1..] {
                let key = if a < b { (*a, *b) } else { (*b, *a) };
                *together.entry(key).or_default() += 1;
            }
        }
    }
    let mut out: HashMap<String, Vec<(String, f32)>> = HashMap::new();
    for ((a, b), n) in together {
        if n < MIN_TOGETHER {
            continue;
        }
        let share = |f: &str| n as f32 / changed.get(f).copied().unwrap_or(n).max(1) as f32;
        let (sa, sb) = (share(a), share(b));
        if sa >= MIN_SHARE && sb >= MIN_SHARE {
            let s = sa.min(sb);
            out.entry(a.to_string())
                .or_default()
                .push((b.to_string(), s));
            out.entry(b.to_string())
                .or_default()
                .push((a.to_string(), s));
        }
    }
    out.into_iter()
        .map(|(f, mut ps)| {
            ps.sort_by(|x, y| y.1.total_cmp(&x.1).then(x.0.cmp(&y.0)));
            (f, ps.into_iter().map(|(p, _)| p).collect())
        })
        .collect()
}

/// Move the partners of the first `LEADS` files up to just below their lead (never
/// down), adding a partner no signal found; `files` must be sorted best first and
/// stays so.
pub fn follow_partners(files: &mut Vec<RankedFile>, partners: &HashMap<String, Vec<String>>) {
    if partners.is_empty() {
        return;
    }
    let leads: Vec<(String, f32)> = files
        .iter()
        .take(LEADS)
        .map(|f| (f.path.clone(), f.score))
        .collect();
    let mut moved = false;
    for (lead, score) in leads {
        for p in partners.get(&lead).into_iter().flatten() {
            let to = score - BELOW;
            let reason = format!("usually changes with {lead}");
            match files.iter_mut().find(|f| &f.path == p) {
                Some(f) if f.score < to => {
                    f.score = to;
                    f.reasons.push(reason);
                    moved = true;
                }
                Some(_) => {}
                None => {
                    files.push(RankedFile {
                        path: p.clone(),
                        score: to,
                        reasons: vec![reason],
                        symbols: Vec::new(),
                    });
                    moved = true;
                }
            }
        }
    }
    if moved {
        files.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.path.cmp(&b.path)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn commit(files: &[&str]) -> CommitRecord {
        CommitRecord {
            id: "c".into(),
            time: 0,
            author: String::new(),
            summary: String::new(),
            body: String::new(),
            pr: None,
            files: files.iter().map(|s| s.to_string()).collect(),
        }
    }

    fn profile() -> RepoProfile {
        RepoProfile::new(
            [
                "src/app.rs",
                "src/clap_app.rs",
                "src/printer.rs",
                "tests/cli.rs",
            ]
            .iter()
            .map(|s| s.to_string())
            .collect(),
            "",
        )
    }

    #[test]
    fn partners_change_together_in_most_of_their_commits() {
        let mut commits = vec![commit(&["src/app.rs", "src/clap_app.rs", "tests/cli.rs"]); 5];
        // Together five times too, but the printer changes far more often alone.
        commits.extend(vec![commit(&["src/printer.rs", "src/app.rs"]); 5]);
        commits.extend(vec![commit(&["src/printer.rs"]); 6]);
        let p = partners(&commits, &profile());
        assert_eq!(p["src/clap_app.rs"], vec!["src/app.rs"]);
        assert!(!p.contains_key("src/printer.rs"), "{p:?}");
        // Tests are not partners, however often they change with the source.
        assert!(!p["src/app.rs"].contains(&"tests/cli.rs".to_string()));
        // Four commits together are not enough.
        let few = vec![commit(&["src/app.rs", "src/clap_app.rs"]); 4];
        assert!(partners(&few, &profile()).is_empty());
    }

    fn ranked(path: &str, score: f32) -> RankedFile {
        RankedFile {
            path: path.into(),
            score,
            reasons: Vec::new(),
            symbols: Vec::new(),
        }
    }

    #[test]
    fn a_partner_of_a_leading_file_moves_up_to_just_below_it() {
        let mut files = vec![
            ranked("src/clap_app.rs", 6.0),
            ranked("a.rs", 5.0),
            ranked("b.rs", 4.0),
            ranked("c.rs", 3.0),
            ranked("src/app.rs", 2.0),
        ];
        let partners: HashMap<String, Vec<String>> = [
            (
                "src/clap_app.rs".to_string(),
                vec!["src/app.rs".to_string()],
            ),
            ("c.rs".to_string(), vec!["d.rs".to_string()]),
        ]
        .into_iter()
        .collect();
        follow_partners(&mut files, &partners);
        let order: Vec<&str> = files.iter().map(|f| f.path.as_str()).collect();
        assert_eq!(
            order,
            ["src/clap_app.rs", "src/app.rs", "a.rs", "b.rs", "c.rs"]
        );
        assert!(files[1].reasons[0].contains("usually changes with src/clap_app.rs"));
    }

    #[test]
    fn a_partner_found_by_no_signal_joins_the_ranking() {
        let mut files = vec![ranked("src/clap_app.rs", 6.0), ranked("a.rs", 5.0)];
        let partners: HashMap<String, Vec<String>> =
            [("a.rs".to_string(), vec!["src/app.rs".to_string()])]
                .into_iter()
                .collect();
        follow_partners(&mut files, &partners);
        let order: Vec<&str> = files.iter().map(|f| f.path.as_str()).collect();
        assert_eq!(order, ["src/clap_app.rs", "a.rs", "src/app.rs"]);
    }
}
