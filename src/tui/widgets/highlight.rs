//! Simple syntax colours by token class (keywords, strings, comments, numbers), enough to
//! make a code block or a preview readable at a glance. Hand-rolled on purpose: it has to
//! be fast on every frame and never fail, and the index's tree-sitter grammars stay out
//! of the view.

use super::rich::RichSpan;

/// What the highlighter needs to know about a language.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lang {
    keywords: &'static [&'static str],
    line_comment: &'static [&'static str],
    block_comment: Option<(&'static str, &'static str)>,
    /// Diffs colour whole lines by their first character.
    diff: bool,
    /// `'` opens a char literal only (`'x'`, `'\n'`), else it is a lifetime (Rust).
    lifetimes: bool,
}

const RUST: &[&str] = &[
    "as", "async", "await", "break", "const", "continue", "crate", "dyn", "else", "enum", "extern",
    "false", "fn", "for", "if", "impl", "in", "let", "loop", "match", "mod", "move", "mut", "pub",
    "ref", "return", "self", "Self", "static", "struct", "super", "trait", "true", "type",
    "unsafe", "use", "where", "while", "Some", "None", "Ok", "Err",
];
const GO: &[&str] = &[
    "break",
    "case",
    "chan",
    "const",
    "continue",
    "default",
    "defer",
    "else",
    "fallthrough",
    "for",
    "func",
    "go",
    "goto",
    "if",
    "import",
    "interface",
    "map",
    "package",
    "range",
    "return",
    "select",
    "struct",
    "switch",
    "type",
    "var",
    "nil",
    "true",
    "false",
    "err",
];
const PYTHON: &[&str] = &[
    "and", "as", "assert", "async", "await", "break", "class", "continue", "def", "del", "elif",
    "else", "except", "finally", "for", "from", "global", "if", "import", "in", "is", "lambda",
    "None", "nonlocal", "not", "or", "pass", "raise", "return", "True", "False", "try", "while",
    "with", "yield", "self",
];
const JS: &[&str] = &[
    "async",
    "await",
    "break",
    "case",
    "catch",
    "class",
    "const",
    "continue",
    "default",
    "delete",
    "do",
    "else",
    "export",
    "extends",
    "false",
    "finally",
    "for",
    "from",
    "function",
    "if",
    "import",
    "in",
    "instanceof",
    "interface",
    "let",
    "new",
    "null",
    "return",
    "static",
    "super",
    "switch",
    "this",
    "throw",
    "true",
    "try",
    "type",
    "typeof",
    "undefined",
    "var",
    "void",
    "while",
    "yield",
    "public",
    "private",
    "protected",
    "final",
    "void",
    "int",
    "long",
    "boolean",
    "package",
    "implements",
    "enum",
];
const SHELL: &[&str] = &[
    "if", "then", "else", "elif", "fi", "for", "in", "do", "done", "while", "case", "esac",
    "function", "return", "export", "local", "set", "kubectl", "triage", "git", "echo", "sudo",
    "helm",
];
const YAML: &[&str] = &["true", "false", "null", "yes", "no"];
const SQL: &[&str] = &[
    "select", "from", "where", "and", "or", "not", "insert", "into", "values", "update", "set",
    "delete", "create", "table", "index", "join", "left", "right", "inner", "on", "group", "by",
    "order", "limit", "as", "null", "is", "SELECT", "FROM", "WHERE", "AND", "OR", "NOT", "INSERT",
    "INTO", "VALUES", "UPDATE", "SET", "DELETE", "CREATE", "TABLE", "INDEX", "JOIN", "LEFT", "ON",
    "GROUP", "BY", "ORDER", "LIMIT", "AS", "NULL", "IS",
];

const C_COMMENTS: &[&str] = &["//"];
const HASH: &[&str] = &["#"];

impl Lang {
    /// The language for a fence tag (`rust`, `py`) or a file extension (`rs`, `go`).
    pub fn from_tag(tag: &str) -> Lang {
        let tag = tag.trim().to_ascii_lowercase();
        let c_like = |keywords| Lang {
            keywords,
            line_comment: C_COMMENTS,
            block_comment: Some(("/*", "*/")),
            diff: false,
            lifetimes: false,
        };
        let hashy = |keywords| Lang {
            keywords,
            line_comment: HASH,
            block_comment: None,
            diff: false,
            lifetimes: false,
        };
        match tag.as_str() {
            "rust" | "rs" => Lang {
                lifetimes: true,
                ..c_like(RUST)
            },
            "go" | "golang" => c_like(GO),
            "js" | "javascript" | "ts" | "typescript" | "tsx" | "jsx" | "java" | "kotlin"
            | "kt" | "c" | "h" | "cpp" | "cc" | "hpp" | "cs" | "scala" | "swift" => c_like(JS),
            "python" | "py" => hashy(PYTHON),
            "sh" | "bash" | "shell" | "zsh" | "console" | "dockerfile" => hashy(SHELL),
            "yaml" | "yml" | "toml" | "ini" | "conf" => hashy(YAML),
            "sql" => Lang {
                keywords: SQL,
                line_comment: &["--"],
                block_comment: Some(("/*", "*/")),
                diff: false,
                lifetimes: false,
            },
            "diff" | "patch" => Lang {
                keywords: &[],
                line_comment: &[],
                block_comment: None,
                diff: true,
                lifetimes: false,
            },
            "json" => c_like(&["true", "false", "null"]),
            _ => Lang {
                keywords: &[],
                line_comment: &[],
                block_comment: None,
                diff: false,
                lifetimes: false,
            },
        }
    }

    /// The language of a file path, by extension.
    pub fn from_path(path: &str) -> Lang {
        let name = path.rsplit('/').next().unwrap_or(path);
        if name.eq_ignore_ascii_case("dockerfile") || name.eq_ignore_ascii_case("makefile") {
            return Lang::from_tag("sh");
        }
        Lang::from_tag(name.rsplit_once('.').map_or("", |(_, ext)| ext))
    }
}

/// Carried from line to line: whether a block comment is still open.
#[derive(Debug, Clone, Copy, Default)]
pub struct HlState {
    in_block_comment: bool,
}

/// Split one line of code into scoped spans.
pub fn highlight_line(lang: &Lang, line: &str, state: &mut HlState) -> Vec<RichSpan> {
    if lang.diff {
        let scope = match line.chars().next() {
            Some('+') if !line.starts_with("+++") => "code.inserted",
            Some('-') if !line.starts_with("---") => "code.deleted",
            Some('@') => "code.keyword",
            _ => "markup.code.block",
        };
        return vec![RichSpan::new(line, scope)];
    }
    let mut out: Vec<RichSpan> = Vec::new();
    let push = |out: &mut Vec<RichSpan>, text: &str, scope: &'static str| {
        if text.is_empty() {
            return;
        }
        match out.last_mut() {
            Some(last) if last.scope == scope => last.text.push_str(text),
            _ => out.push(RichSpan::new(text, scope)),
        }
    };
    let mut rest = line;
    while !rest.is_empty() {
        if state.in_block_comment {
            let close = lang.block_comment.map_or("*/", |(_, c)| c);
            match rest.find(close) {
                Some(i) => {
                    push(&mut out, &rest[..i + close.len()], "code.comment");
                    rest = &rest[i + close.len()..];
                    state.in_block_comment = false;
                }
                None => {
                    push(&mut out, rest, "code.comment");
                    rest = "";
                }
            }
            continue;
        }
        if lang.line_comment.iter().any(|m| rest.starts_with(m)) {
            push(&mut out, rest, "code.comment");
            break;
        }
        if let Some((open, _)) = lang.block_comment
            && rest.starts_with(open)
        {
            state.in_block_comment = true;
            push(&mut out, open, "code.comment");
            rest = &rest[open.len()..];
            continue;
        }
        let Some(c) = rest.chars().next() else { break };
        if c == '"' || c == '\'' || c == '`' {
            let end = if c == '\'' && lang.lifetimes {
                char_literal_end(rest)
            } else {
                string_end(rest, c)
            };
            match end {
                Some(end) => {
                    push(&mut out, &rest[..end], "code.string");
                    rest = &rest[end..];
                }
                None if c == '\'' => {
                    push(&mut out, &rest[..1], "markup.code.block");
                    rest = &rest[1..];
                }
                None => {
                    push(&mut out, rest, "code.string");
                    rest = "";
                }
            }
            continue;
        }
        if c.is_ascii_digit() {
            let end = rest
                .find(|ch: char| !(ch.is_ascii_alphanumeric() || ch == '.' || ch == '_'))
                .unwrap_or(rest.len());
            push(&mut out, &rest[..end], "code.number");
            rest = &rest[end..];
            continue;
        }
        if c.is_alphabetic() || c == '_' {
            let end = rest
                .find(|ch: char| !(ch.is_alphanumeric() || ch == '_'))
                .unwrap_or(rest.len());
            let word = &rest[..end];
            let scope = if lang.keywords.contains(&word) {
                "code.keyword"
            } else {
                "markup.code.block"
            };
            push(&mut out, word, scope);
            rest = &rest[end..];
            continue;
        }
        let n = c.len_utf8();
        push(&mut out, &rest[..n], "markup.code.block");
        rest = &rest[n..];
    }
    out
}

/// `'x'` or `'\n'`-style literals; anything else after a quote is a lifetime.
fn char_literal_end(s: &str) -> Option<usize> {
    let mut it = s.char_indices().skip(1);
    match it.next()? {
        (_, '\\') => string_end(s, '\''),
        (_, _) => match it.next()? {
            (i, '\'') => Some(i + 1),
            _ => None,
        },
    }
}

/// Byte index just past the closing `quote`, honouring backslash escapes.
fn string_end(s: &str, quote: char) -> Option<usize> {
    let mut escaped = false;
    for (i, ch) in s.char_indices().skip(1) {
        if escaped {
            escaped = false;
        } else if ch == '\\' {
            escaped = true;
        } else if ch == quote {
            return Some(i + ch.len_utf8());
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn classes(lang: &str, line: &str) -> Vec<(String, &'static str)> {
        let mut st = HlState::default();
        highlight_line(&Lang::from_tag(lang), line, &mut st)
            .into_iter()
            .map(|s| (s.text, s.scope))
            .collect()
    }

    #[test]
    fn token_classes() {
        let c = classes("rust", "let n = 42; // retry \"twice\"");
        assert_eq!(c[0], ("let".into(), "code.keyword"));
        assert!(c.contains(&("42".into(), "code.number")));
        assert_eq!(
            c.last().unwrap(),
            &("// retry \"twice\"".into(), "code.comment")
        );
        let c = classes("python", "x = 'a\\'b'  # note");
        assert!(c.contains(&("'a\\'b'".into(), "code.string")));
        assert!(c.contains(&("# note".into(), "code.comment")));
        let c = classes("rust", "fn f<'a>(x: &'a str)");
        assert!(c.iter().all(|(_, s)| *s != "code.string"), "{c:?}");
    }

    #[test]
    fn block_comments_span_lines() {
        let lang = Lang::from_tag("go");
        let mut st = HlState::default();
        let a = highlight_line(&lang, "x := 1 /* start", &mut st);
        assert_eq!(a.last().unwrap().scope, "code.comment");
        let b = highlight_line(&lang, "still */ return", &mut st);
        assert_eq!(b[0].scope, "code.comment");
        assert!(
            b.iter()
                .any(|s| s.text == "return" && s.scope == "code.keyword")
        );
    }

    #[test]
    fn languages_from_paths() {
        assert_eq!(
            Lang::from_path("src/checkout/handler.rs"),
            Lang::from_tag("rust")
        );
        assert_eq!(Lang::from_path("deploy/Dockerfile"), Lang::from_tag("sh"));
        assert_eq!(Lang::from_path("README"), Lang::from_tag(""));
    }
}
