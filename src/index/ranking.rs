//! What issue ranking passes between its steps: what was parsed exactly from the issue,
//! and the ranked files with the symbols that matched in each.

use serde::Serialize;

/// A stack frame found in the issue text.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Frame {
    pub path: String,
    pub line: Option<u32>,
    pub function: Option<String>,
}

/// What was parsed exactly from the issue before any fuzzy matching.
#[derive(Debug, Clone, Default, Serialize)]
pub struct IssueParse {
    pub paths: Vec<String>,
    pub frames: Vec<Frame>,
    pub symbols: Vec<String>,
    pub errors: Vec<String>,
}

/// A file ranked for an issue: its fused score, why, and the symbols that matched.
#[derive(Debug, Clone, Serialize)]
pub struct RankedFile {
    pub path: String,
    pub score: f32,
    pub reasons: Vec<String>,
    pub symbols: Vec<RankedSymbol>,
}

/// A definition in a ranked file that the issue points at.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RankedSymbol {
    pub name: String,
    pub kind: String,
    pub start_line: u32,
    pub end_line: u32,
}
