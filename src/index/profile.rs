//! What the repository says about itself: which files are source and which accompany
//! it (tests by each language's test-discovery conventions, docs, changelogs, and what
//! `.gitattributes` marks `linguist-vendored`, `linguist-generated` or
//! `linguist-documentation`), which source file a test exercises, how often past fixes
//! changed each file and folder, and which files change together. The fitted fusion
//! weights are kept with it.

use std::collections::HashMap;
use std::path::Path;

use ignore::gitignore::{Gitignore, GitignoreBuilder};
use serde::{Deserialize, Serialize};

use super::lang::Lang;

/// How the fused score is made: each signal's list counts for its weight times
/// `RANK_K / (RANK_K + rank)` (1 for its first hit), plus what the repository knows
/// about the file, all added up. The defaults were learned once, as a listwise ranking
/// model over fixes mined from several public repositories' history (see
/// docs/evaluation.md); each repository's own past fixes can then move them (`learn`).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Weights {
    pub frames: f32,
    pub paths: f32,
    pub symbols: f32,
    pub fulltext: f32,
    /// Whole files as full-text documents, normalized by length.
    pub files: f32,
    pub questions: f32,
    pub llm_questions: f32,
    pub vectors: f32,
    pub history: f32,
    pub path_words: f32,
    /// Added once per signal that ranks the file first.
    pub first: f32,
    /// Added once per signal that found the file at all.
    pub agreement: f32,
    /// Times `ln(1 + ln(1 + n))`, n the past fixes around the file (0: off).
    pub prior: f32,
    /// Subtracted for tests, docs, changelogs, vendored and generated files.
    pub secondary: f32,
    /// Subtracted for data and build files (no parser for their language).
    pub config: f32,
    /// Share of a test or doc file's signal evidence passed to the source files it
    /// exercises.
    pub transfer: f32,
}

impl Default for Weights {
    /// Used until a repository's history has been fitted (or when it has none).
    fn default() -> Self {
        Weights {
            frames: 8.0,
            paths: 4.0,
            symbols: 1.0,
            fulltext: 2.7,
            files: 2.3,
            questions: 0.55,
            llm_questions: 0.55,
            vectors: 2.0,
            history: 1.7,
            path_words: 1.9,
            first: 0.07,
            agreement: 0.18,
            prior: 0.8,
            secondary: 6.0,
            config: 2.3,
            transfer: 0.05,
        }
    }
}

/// Bumped when the meaning of the weights changes: weights fitted under another
/// version are refitted, and the defaults stand until then.
pub const FUSION_VERSION: u32 = 3;

/// What a file is to a change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Source,
    Test,
    Docs,
    Changelog,
    Vendored,
    Generated,
    /// Data and build files: no parser for their language (JSON, YAML, XML, lock
    /// files, …).
    Config,
}

impl Role {
    pub fn label(self) -> &'static str {
        match self {
            Role::Source => "source",
            Role::Test => "test",
            Role::Docs => "docs",
            Role::Changelog => "changelog",
            Role::Vendored => "vendored",
            Role::Generated => "generated",
            Role::Config => "config",
        }
    }

    /// Tests and docs exercise or describe source; their evidence can pass to it.
    pub fn is_secondary(self) -> bool {
        matches!(self, Role::Test | Role::Docs)
    }
}

/// How the fusion weights were chosen for this repository.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FitReport {
    /// Commits visible when fitting.
    pub commits: usize,
    /// Past fixes replayed (their message as the issue, the files they changed as
    /// the answer, history and fix counts as of before each).
    pub past_fixes: usize,
    /// Acc@1, Acc@5 and MRR on those with the default weights and with the weights
    /// kept (the same when the defaults stand).
    #[serde(default)]
    pub default_acc1: f32,
    pub default_acc5: f32,
    pub default_mrr: f32,
    #[serde(default)]
    pub fitted_acc1: f32,
    pub fitted_acc5: f32,
    pub fitted_mrr: f32,
    /// The weights that moved from their default, as `name default→fitted`.
    pub changed: Vec<String>,
    /// The newest past fixes held back to confirm the fit: fitted on the others, it
    /// had to beat the defaults on these before it was kept (otherwise `changed` is
    /// empty and the defaults stand).
    #[serde(default)]
    pub confirmed_on: usize,
    /// Of those, how many the fit on the others ranked better and worse than the
    /// defaults.
    #[serde(default)]
    pub confirm_won: usize,
    #[serde(default)]
    pub confirm_lost: usize,
    /// Which weights stand and why, in words.
    #[serde(default)]
    pub verdict: String,
}

/// The persisted part of the profile.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct StoredProfile {
    pub weights: Option<Weights>,
    /// `FUSION_VERSION` when the weights were fitted.
    #[serde(default)]
    pub fusion_version: u32,
    pub fit: Option<FitReport>,
    /// Commits indexed when the weights were fitted.
    pub fitted_at_commits: usize,
    /// The root `.gitattributes` when indexed.
    #[serde(default)]
    pub gitattributes: String,
    /// How many past fixes changed each file.
    #[serde(default)]
    pub fix_counts: HashMap<String, u32>,
    /// Source files the history changed together (`cochange`), per file.
    #[serde(default)]
    pub partners: HashMap<String, Vec<String>>,
}

pub struct RepoProfile {
    paths: Vec<String>,
    vendored: Option<Gitignore>,
    generated: Option<Gitignore>,
    documentation: Option<Gitignore>,
    /// Lower-cased file stem (leading `_` dropped) → source files with it.
    stems: HashMap<String, Vec<usize>>,
    /// Files per folder, for folder averages.
    folder_sizes: HashMap<String, usize>,
}

impl RepoProfile {
    /// Profile the indexed `paths` with the root `.gitattributes` text.
    pub fn new(paths: Vec<String>, gitattributes: &str) -> RepoProfile {
        let [vendored, generated, documentation] = [
            "linguist-vendored",
            "linguist-generated",
            "linguist-documentation",
        ]
        .map(|attr| attribute_matcher(gitattributes, attr));
        let mut p = RepoProfile {
            paths: Vec::new(),
            vendored,
            generated,
            documentation,
            stems: HashMap::new(),
            folder_sizes: HashMap::new(),
        };
        for (i, path) in paths.iter().enumerate() {
            *p.folder_sizes.entry(folder(path).to_string()).or_default() += 1;
            if p.role(path) == Role::Source {
                p.stems.entry(stem_key(path)).or_default().push(i);
            }
        }
        p.paths = paths;
        p
    }

    /// Read `.gitattributes` at `root` (absent: no attributes).
    pub fn for_repo(root: &Path, paths: Vec<String>) -> RepoProfile {
        let text = std::fs::read_to_string(root.join(".gitattributes")).unwrap_or_default();
        RepoProfile::new(paths, &text)
    }

    pub fn paths(&self) -> &[String] {
        &self.paths
    }

    pub fn role(&self, path: &str) -> Role {
        let hit = |m: &Option<Gitignore>| {
            m.as_ref()
                .is_some_and(|g| g.matched_path_or_any_parents(path, false).is_ignore())
        };
        if hit(&self.vendored) {
            return Role::Vendored;
        }
        if hit(&self.generated) {
            return Role::Generated;
        }
        if hit(&self.documentation) {
            return Role::Docs;
        }
        role_by_convention(path)
    }

    /// The source files a test or doc file exercises, by name: `test_cart.py`,
    /// `cart_test.go`, `cart.spec.ts`, `CartTest.java` and `cart.md` → a source file
    /// named `cart`, the nearest by folder first (at most two).
    pub fn subjects(&self, path: &str) -> Vec<String> {
        let Some(key) = subject_key(path) else {
            return Vec::new();
        };
        let Some(found) = self.stems.get(&key) else {
            return Vec::new();
        };
        let mut found: Vec<&String> = found.iter().map(|&i| &self.paths[i]).collect();
        found.sort_by_key(|p| std::cmp::Reverse(shared_folders(p, path)));
        found.into_iter().take(2).cloned().collect()
    }

    pub fn folder_size(&self, folder: &str) -> usize {
        self.folder_sizes.get(folder).copied().unwrap_or(0)
    }
}

/// How many past fixes changed each file, with folder averages so a file new to a
/// folder where fixes land still counts for something.
#[derive(Debug, Clone, Default)]
pub struct FixCounts {
    per_file: HashMap<String, f32>,
    per_folder: HashMap<String, f32>,
    /// The files each file usually changes with (`cochange`; none unless given).
    partners: HashMap<String, Vec<String>>,
}

impl FixCounts {
    pub fn from_counts(counts: HashMap<String, u32>, profile: &RepoProfile) -> FixCounts {
        let mut per_folder: HashMap<String, f32> = HashMap::new();
        for (path, n) in &counts {
            *per_folder.entry(folder(path).to_string()).or_default() += *n as f32;
        }
        for (f, total) in per_folder.iter_mut() {
            *total /= profile.folder_size(f).max(1) as f32;
        }
        FixCounts {
            per_file: counts.into_iter().map(|(p, n)| (p, n as f32)).collect(),
            per_folder,
            partners: HashMap::new(),
        }
    }

    /// The same, with the files each file usually changes with.
    pub fn with_partners(mut self, partners: HashMap<String, Vec<String>>) -> FixCounts {
        self.partners = partners;
        self
    }

    pub fn partners(&self) -> &HashMap<String, Vec<String>> {
        &self.partners
    }

    /// The file's own count plus its folder's average.
    pub fn around(&self, path: &str) -> f32 {
        self.per_file.get(path).copied().unwrap_or(0.0)
            + self.per_folder.get(folder(path)).copied().unwrap_or(0.0)
    }
}

/// Role from the path alone: each language's test-discovery conventions (pytest,
/// `go test`, Jest/Mocha/Vitest, Maven/Gradle, cargo), docs and changelogs, minified
/// or source-map assets.
pub fn role_by_convention(path: &str) -> Role {
    let lc = path.to_lowercase();
    let name = lc.rsplit('/').next().unwrap_or(&lc);
    let dirs: Vec<&str> = lc.split('/').collect();
    let dirs = &dirs[..dirs.len().saturating_sub(1)];
    let ext = name.rsplit_once('.').map(|(_, e)| e).unwrap_or("");
    let in_dir = |names: &[&str]| dirs.iter().any(|d| names.contains(d));
    let test = in_dir(&[
        "test",
        "tests",
        "testing",
        "__tests__",
        "__mocks__",
        "spec",
        "testdata",
        "fixtures",
    ]) || match ext {
        "py" => name.starts_with("test_") || name.ends_with("_test.py") || name == "conftest.py",
        "go" => name.ends_with("_test.go"),
        "js" | "jsx" | "mjs" | "cjs" | "ts" | "tsx" => {
            name.contains(".test.") || name.contains(".spec.")
        }
        "java" | "kt" => {
            let original = path.rsplit('/').next().unwrap_or(path);
            let stem = original.split('.').next().unwrap_or(original);
            stem.ends_with("Test") || stem.ends_with("Tests") || stem.ends_with("IT")
        }
        "rs" => name.ends_with("_test.rs") || name == "tests.rs",
        _ => false,
    };
    if test {
        return Role::Test;
    }
    if ["changelog", "changes", "news", "history"]
        .iter()
        .any(|p| name.starts_with(p))
    {
        return Role::Changelog;
    }
    if matches!(ext, "md" | "rst" | "txt" | "adoc") || in_dir(&["docs", "doc"]) {
        return Role::Docs;
    }
    if name.ends_with(".min.js") || name.ends_with(".min.css") || ext == "map" {
        return Role::Generated;
    }
    if Lang::detect(Path::new(path)).is_none_or(|l| l.grammar().is_none()) {
        return Role::Config;
    }
    Role::Source
}

fn attribute_matcher(gitattributes: &str, attr: &str) -> Option<Gitignore> {
    let mut b = GitignoreBuilder::new("");
    let mut any = false;
    for line in gitattributes.lines() {
        let line = line.trim();
        if line.starts_with('#') {
            continue;
        }
        let mut parts = line.split_whitespace();
        let Some(pattern) = parts.next() else {
            continue;
        };
        let set =
            parts.any(|a| a == attr || a == format!("{attr}=true") || a == format!("{attr}=set"));
        if set && b.add_line(None, pattern).is_ok() {
            any = true;
        }
    }
    if !any {
        return None;
    }
    b.build().ok()
}

fn folder(path: &str) -> &str {
    path.rsplit_once('/').map(|(d, _)| d).unwrap_or("")
}

fn stem_key(path: &str) -> String {
    let name = path.rsplit('/').next().unwrap_or(path);
    let stem = name.split('.').next().unwrap_or(name);
    stem.trim_start_matches('_').to_lowercase()
}

/// The source stem a test or doc file names.
fn subject_key(path: &str) -> Option<String> {
    let key = stem_key(path);
    let key = key
        .strip_prefix("test_")
        .or_else(|| key.strip_suffix("_test"))
        .or_else(|| key.strip_suffix("tests"))
        .or_else(|| key.strip_suffix("test"))
        .unwrap_or(&key)
        .trim_matches('_');
    (key.len() >= 3 && key != "index" && key != "readme").then(|| key.to_string())
}

fn shared_folders(a: &str, b: &str) -> usize {
    a.split('/')
        .zip(b.split('/'))
        .take_while(|(x, y)| x == y)
        .count()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_follow_each_languages_conventions() {
        for (p, want) in [
            ("httpx/_models.py", Role::Source),
            ("tests/models/test_cookies.py", Role::Test),
            ("pkg/conftest.py", Role::Test),
            ("binding/json_test.go", Role::Test),
            ("binding/json.go", Role::Source),
            ("lib/utils.spec.ts", Role::Test),
            ("src/test/java/org/jsoup/NodeTest.java", Role::Test),
            ("src/main/java/org/jsoup/Node.java", Role::Source),
            ("src/main/java/org/jsoup/Contest.java", Role::Source),
            ("CHANGELOG.md", Role::Changelog),
            ("docs/api.md", Role::Docs),
            ("README.rst", Role::Docs),
            ("theme/static/jquery.min.js", Role::Generated),
            ("src/printer.rs", Role::Source),
            ("package.json", Role::Config),
            ("gson/pom.xml", Role::Config),
        ] {
            assert_eq!(role_by_convention(p), want, "{p}");
        }
    }

    #[test]
    fn gitattributes_mark_vendored_generated_and_docs() {
        let attrs = "# comment\nassets/** linguist-vendored\n*.pb.go linguist-generated=true\nguide/ linguist-documentation\nsrc/x.rs -diff\n";
        let p = RepoProfile::new(
            [
                "assets/js/app.js",
                "api/v1/x.pb.go",
                "guide/intro.rs",
                "src/x.rs",
            ]
            .iter()
            .map(|s| s.to_string())
            .collect(),
            attrs,
        );
        assert_eq!(p.role("assets/js/app.js"), Role::Vendored);
        assert_eq!(p.role("api/v1/x.pb.go"), Role::Generated);
        assert_eq!(p.role("guide/intro.rs"), Role::Docs);
        assert_eq!(p.role("src/x.rs"), Role::Source);
    }

    #[test]
    fn a_test_names_the_source_it_exercises() {
        let p = RepoProfile::new(
            [
                "httpx/_models.py",
                "other/models.py",
                "tests/test_models.py",
                "binding/json.go",
                "binding/json_test.go",
                "src/main/java/org/jsoup/nodes/Element.java",
                "src/test/java/org/jsoup/nodes/ElementTest.java",
            ]
            .iter()
            .map(|s| s.to_string())
            .collect(),
            "",
        );
        assert_eq!(p.subjects("binding/json_test.go"), vec!["binding/json.go"]);
        assert_eq!(p.subjects("tests/test_models.py").len(), 2);
        assert_eq!(
            p.subjects("src/test/java/org/jsoup/nodes/ElementTest.java"),
            vec!["src/main/java/org/jsoup/nodes/Element.java"]
        );
    }

    #[test]
    fn fix_counts_add_the_folder_average() {
        let p = RepoProfile::new(
            ["a/x.py", "a/y.py", "b/z.py"]
                .iter()
                .map(|s| s.to_string())
                .collect(),
            "",
        );
        let c = FixCounts::from_counts([("a/x.py".to_string(), 4)].into_iter().collect(), &p);
        assert_eq!(c.around("a/x.py"), 6.0);
        assert_eq!(c.around("a/y.py"), 2.0);
        assert_eq!(c.around("b/z.py"), 0.0);
    }
}
