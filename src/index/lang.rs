//! Languages triage understands: tree-sitter grammars for code, section splitters for
//! prose and config.

use std::path::Path;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Lang {
    Rust,
    Python,
    Go,
    JavaScript,
    TypeScript,
    Tsx,
    Java,
    Markdown,
    Yaml,
    Toml,
    Dockerfile,
    Shell,
    Text,
}

/// Languages parsed with tree-sitter (the others are split into sections).
pub const CODE_LANGS: [Lang; 7] = [
    Lang::Rust,
    Lang::Python,
    Lang::Go,
    Lang::JavaScript,
    Lang::TypeScript,
    Lang::Tsx,
    Lang::Java,
];

impl Lang {
    pub fn name(self) -> &'static str {
        match self {
            Lang::Rust => "rust",
            Lang::Python => "python",
            Lang::Go => "go",
            Lang::JavaScript => "javascript",
            Lang::TypeScript => "typescript",
            Lang::Tsx => "tsx",
            Lang::Java => "java",
            Lang::Markdown => "markdown",
            Lang::Yaml => "yaml",
            Lang::Toml => "toml",
            Lang::Dockerfile => "dockerfile",
            Lang::Shell => "shell",
            Lang::Text => "text",
        }
    }

    pub fn from_name(name: &str) -> Option<Lang> {
        CODE_LANGS
            .iter()
            .chain(&[
                Lang::Markdown,
                Lang::Yaml,
                Lang::Toml,
                Lang::Dockerfile,
                Lang::Shell,
                Lang::Text,
            ])
            .copied()
            .find(|l| l.name() == name)
    }

    /// Detect from the file name; `None` for files that are not worth indexing as text
    /// (images, archives, lock files and the like are filtered earlier by content).
    pub fn detect(path: &Path) -> Option<Lang> {
        let file_name = path.file_name()?.to_str()?;
        let lower = file_name.to_ascii_lowercase();
        if lower == "dockerfile"
            || lower.starts_with("dockerfile.")
            || lower.ends_with(".dockerfile")
        {
            return Some(Lang::Dockerfile);
        }
        if matches!(
            lower.as_str(),
            "makefile" | "justfile" | "procfile" | "jenkinsfile"
        ) {
            return Some(Lang::Text);
        }
        let ext = lower.rsplit_once('.').map(|(_, e)| e).unwrap_or("");
        Some(match ext {
            "rs" => Lang::Rust,
            "py" | "pyi" => Lang::Python,
            "go" => Lang::Go,
            "js" | "mjs" | "cjs" | "jsx" => Lang::JavaScript,
            "ts" | "mts" | "cts" => Lang::TypeScript,
            "tsx" => Lang::Tsx,
            "java" => Lang::Java,
            "md" | "markdown" | "rst" | "adoc" => Lang::Markdown,
            "yaml" | "yml" => Lang::Yaml,
            "toml" => Lang::Toml,
            "sh" | "bash" | "zsh" => Lang::Shell,
            "txt" | "cfg" | "ini" | "conf" | "json" | "proto" | "sql" | "graphql" | "tf"
            | "hcl" | "c" | "h" | "cc" | "cpp" | "hpp" | "cs" | "rb" | "php" | "kt" | "kts"
            | "scala" | "swift" | "lua" | "ex" | "exs" | "erl" | "hs" | "ml" | "r" | "jl"
            | "vue" | "svelte" | "html" | "css" | "scss" | "xml" | "gradle" | "properties"
            | "env" | "tpl" | "j2" | "mk" | "cmake" => Lang::Text,
            "" if !lower.contains('.') => Lang::Text,
            _ => return None,
        })
    }

    pub fn grammar(self) -> Option<tree_sitter::Language> {
        Some(match self {
            Lang::Rust => tree_sitter_rust::LANGUAGE.into(),
            Lang::Python => tree_sitter_python::LANGUAGE.into(),
            Lang::Go => tree_sitter_go::LANGUAGE.into(),
            Lang::JavaScript => tree_sitter_javascript::LANGUAGE.into(),
            Lang::TypeScript => tree_sitter_typescript::LANGUAGE_TYPESCRIPT.into(),
            Lang::Tsx => tree_sitter_typescript::LANGUAGE_TSX.into(),
            Lang::Java => tree_sitter_java::LANGUAGE.into(),
            _ => return None,
        })
    }

    /// The folder under `index/queries/` holding this language's `tags.scm`.
    pub fn query_dir(self) -> Option<&'static str> {
        Some(match self {
            Lang::Rust => "rust",
            Lang::Python => "python",
            Lang::Go => "go",
            Lang::JavaScript => "javascript",
            Lang::TypeScript | Lang::Tsx => "typescript",
            Lang::Java => "java",
            _ => return None,
        })
    }

    /// The bundled tags query (overridable from `<config dir>/queries/<lang>/tags.scm`).
    pub fn bundled_tags_query(self) -> Option<&'static str> {
        Some(match self {
            Lang::Rust => include_str!("../../index/queries/rust/tags.scm"),
            Lang::Python => include_str!("../../index/queries/python/tags.scm"),
            Lang::Go => include_str!("../../index/queries/go/tags.scm"),
            Lang::JavaScript => include_str!("../../index/queries/javascript/tags.scm"),
            Lang::TypeScript | Lang::Tsx => {
                include_str!("../../index/queries/typescript/tags.scm")
            }
            Lang::Java => include_str!("../../index/queries/java/tags.scm"),
            _ => return None,
        })
    }
}
