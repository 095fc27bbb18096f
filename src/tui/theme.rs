//! Themes, helix style: TOML with a `[palette]`, dotted scopes and `inherits`.
//!
//! ```toml
//! inherits = "dark"
//! [palette]
//! accent = "#7aa2f7"
//! [scopes]  # optional: scopes may also sit at the top level
//! "ui.pane.border.focused" = { fg = "accent", modifiers = ["bold"] }
//! "tool.status.error" = "red"
//! ```
//!
//! A lookup falls back from `a.b.c` to `a.b` to `a`, then to the terminal's own style.
//! Nothing here is fatal: a bad colour, an unknown palette name or an inherits cycle
//! becomes a warning in [`Theme::warnings`] (the status bar shows it) and the rest of the
//! theme still applies. With `NO_COLOR` set every colour is dropped; modifiers stay, and a
//! background becomes reverse video so selections and badges remain visible.

use std::collections::HashMap;
use std::path::Path;

use ratatui::style::{Color, Modifier, Style};

/// Themes shipped inside the binary.
pub const BUNDLED: &[(&str, &str)] = &[
    ("default", include_str!("../../themes/default.toml")),
    ("dark", include_str!("../../themes/dark.toml")),
    ("light", include_str!("../../themes/light.toml")),
    (
        "high-contrast",
        include_str!("../../themes/high-contrast.toml"),
    ),
];

/// Every scope the UI draws with. Each bundled theme defines all of them (a test checks),
/// so a user theme that inherits one only lists what it changes.
pub const UI_SCOPES: &[&str] = &[
    "action.approved",
    "action.blocked",
    "action.class.read",
    "action.class.write",
    "action.command",
    "action.edited",
    "action.pending",
    "action.refused",
    "action.rejected",
    "checkpoint.evidence",
    "checkpoint.id",
    "checkpoint.stage",
    "code.comment",
    "code.deleted",
    "code.inserted",
    "code.keyword",
    "code.lineno",
    "code.lineno.focus",
    "code.number",
    "code.string",
    "confidence.high",
    "confidence.low",
    "confidence.medium",
    "diagnostic.error",
    "diagnostic.warning",
    "markup.code",
    "markup.code.block",
    "markup.code.fence",
    "markup.heading",
    "markup.heading.1",
    "markup.link",
    "markup.list",
    "markup.quote",
    "markup.rule",
    "memory.kind",
    "memory.score",
    "memory.unused",
    "memory.used",
    "memory.why",
    "tool.command",
    "tool.duration",
    "tool.name",
    "tool.status.cancelled",
    "tool.status.error",
    "tool.status.ok",
    "tool.status.running",
    "tool.status.timed_out",
    "tool.truncated",
    "transcript.error",
    "transcript.feedback",
    "transcript.system",
    "transcript.user",
    "transcript.user.marker",
    "ui.composer.feedback",
    "ui.composer.placeholder",
    "ui.filter",
    "ui.help.heading",
    "ui.help.key",
    "ui.hint",
    "ui.hint.key",
    "ui.palette.match",
    "ui.pane.badge",
    "ui.pane.border",
    "ui.pane.border.focused",
    "ui.pane.title",
    "ui.pane.title.focused",
    "ui.popup",
    "ui.popup.border",
    "ui.popup.title",
    "ui.selection",
    "ui.spinner",
    "ui.statusline",
    "ui.statusline.error",
    "ui.statusline.mode.read",
    "ui.statusline.mode.write",
    "ui.statusline.notice",
    "ui.statusline.run.active",
    "ui.statusline.run.idle",
    "ui.statusline.run.stopped",
    "ui.statusline.separator",
    "ui.statusline.unavailable",
    "ui.statusline.warning",
    "ui.tab",
    "ui.tab.active",
    "ui.text",
    "ui.text.dim",
    "ui.text.strong",
];

#[derive(Debug, Clone, Default)]
pub struct Theme {
    pub name: String,
    styles: HashMap<String, Style>,
    /// Problems found while loading, for the status bar. Empty for every bundled theme.
    pub warnings: Vec<String>,
    pub no_color: bool,
}

/// One theme file's text, or why it could not be read.
type Source = (String, Result<String, String>);

impl Theme {
    /// Whether `NO_COLOR` asks for plain output (<https://no-color.org>: set and non-empty).
    pub fn no_color_from_env() -> bool {
        std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty())
    }

    /// The style for `scope`, falling back `a.b.c → a.b → a → plain`.
    pub fn get(&self, scope: &str) -> Style {
        let mut key = scope;
        loop {
            if let Some(style) = self.styles.get(key) {
                return *style;
            }
            match key.rfind('.') {
                Some(i) => key = &key[..i],
                None => return Style::default(),
            }
        }
    }

    /// Whether the theme defines `scope` itself (no fallback).
    pub fn has(&self, scope: &str) -> bool {
        self.styles.contains_key(scope)
    }

    /// A bundled theme, resolved against bundled parents only.
    pub fn bundled(name: &str, no_color: bool) -> Option<Theme> {
        BUNDLED
            .iter()
            .any(|(n, _)| *n == name)
            .then(|| Theme::resolve(name, &bundled_source, no_color))
    }

    /// The theme named in `[tui] theme`: `<config_dir>/themes/<name>.toml` if it exists,
    /// else the bundled one. Parents (`inherits`) are looked up the same way. An unknown
    /// name gives the default theme and a warning.
    pub fn load(name: &str, config_dir: Option<&Path>, no_color: bool) -> Theme {
        let loader = |n: &str| -> Option<Source> {
            if let Some(dir) = config_dir {
                let path = dir.join("themes").join(format!("{n}.toml"));
                if path.exists() {
                    let label = path.display().to_string();
                    return Some((
                        label,
                        std::fs::read_to_string(&path).map_err(|e| e.to_string()),
                    ));
                }
            }
            bundled_source(n)
        };
        Theme::resolve(name, &loader, no_color)
    }

    /// Build a theme from `name` and its parents, as `loader` finds them.
    pub fn resolve(name: &str, loader: &dyn Fn(&str) -> Option<Source>, no_color: bool) -> Theme {
        let mut warnings = Vec::new();
        let mut chain: Vec<(String, toml::Table)> = Vec::new();
        let mut next = Some(name.to_string());
        while let Some(current) = next.take() {
            if chain.len() >= 8 || chain.iter().any(|(n, _)| *n == current) {
                let path: Vec<&str> = chain.iter().map(|(n, _)| n.as_str()).collect();
                warnings.push(format!(
                    "theme {name}: inherits cycle {} → {current}; parents after {current} ignored",
                    path.join(" → ")
                ));
                break;
            }
            let Some((label, text)) = loader(&current) else {
                if chain.is_empty() {
                    warnings.push(format!(
                        "theme \"{current}\" not found (bundled: {}); using default",
                        BUNDLED
                            .iter()
                            .map(|(n, _)| *n)
                            .collect::<Vec<_>>()
                            .join(", ")
                    ));
                    if current != "default" {
                        next = Some("default".to_string());
                    }
                } else {
                    warnings.push(format!(
                        "theme {name}: parent theme \"{current}\" not found; its scopes are missing"
                    ));
                }
                continue;
            };
            let table = match text.and_then(|t| t.parse::<toml::Table>().map_err(|e| e.to_string()))
            {
                Ok(t) => t,
                Err(e) => {
                    warnings.push(format!("theme {label}: {}", e.trim_end()));
                    break;
                }
            };
            next = match table.get("inherits") {
                Some(toml::Value::String(parent)) => Some(parent.clone()),
                Some(other) => {
                    warnings.push(format!(
                        "theme {label}: inherits = {other} should be a theme name in quotes"
                    ));
                    None
                }
                None => None,
            };
            chain.push((current, table));
        }

        // Parents first, so children override scopes and palette entries.
        let mut palette_raw: Vec<(String, toml::Value)> = Vec::new();
        let mut scopes_raw: HashMap<String, (toml::Value, String)> = HashMap::new();
        for (theme_name, table) in chain.iter().rev() {
            for (key, value) in table {
                match (key.as_str(), value) {
                    ("inherits", _) => {}
                    ("palette", toml::Value::Table(p)) => {
                        for (k, v) in p {
                            palette_raw.retain(|(n, _)| n != k);
                            palette_raw.push((k.clone(), v.clone()));
                        }
                    }
                    ("scopes", toml::Value::Table(s)) => {
                        flatten_scopes("", s, theme_name, &mut scopes_raw)
                    }
                    _ => flatten_scope(key, value, theme_name, &mut scopes_raw),
                }
            }
        }

        let mut palette = HashMap::new();
        for (k, v) in palette_raw {
            match v.as_str().map(parse_color) {
                Some(Some(c)) => {
                    palette.insert(k, c);
                }
                _ => warnings.push(format!(
                    "theme {name}: palette entry {k} = {v} is not a colour (use a name such as \"red\" or \"#rrggbb\")"
                )),
            }
        }

        let mut styles = HashMap::new();
        let mut sorted: Vec<_> = scopes_raw.into_iter().collect();
        sorted.sort_by(|a, b| a.0.cmp(&b.0));
        for (scope, (value, from)) in sorted {
            let style = parse_style(&value, &palette, |w| {
                warnings.push(format!("theme {from}: {scope}: {w}"))
            });
            styles.insert(scope, if no_color { strip_color(style) } else { style });
        }

        Theme {
            name: name.to_string(),
            styles,
            warnings,
            no_color,
        }
    }

    /// Every scope the theme defines, for checks and docs.
    pub fn scopes(&self) -> impl Iterator<Item = (&str, &Style)> {
        self.styles.iter().map(|(k, v)| (k.as_str(), v))
    }
}

fn bundled_source(name: &str) -> Option<Source> {
    BUNDLED.iter().find(|(n, _)| *n == name).map(|(n, text)| {
        (
            format!("<bundled>/themes/{n}.toml"),
            Ok((*text).to_string()),
        )
    })
}

const STYLE_KEYS: [&str; 4] = ["fg", "bg", "underline", "modifiers"];

fn is_style_table(t: &toml::Table) -> bool {
    t.is_empty() || t.keys().any(|k| STYLE_KEYS.contains(&k.as_str()))
}

fn flatten_scope(
    key: &str,
    value: &toml::Value,
    from: &str,
    out: &mut HashMap<String, (toml::Value, String)>,
) {
    match value {
        // `[ui.pane]` sections written as nested tables rather than quoted dotted keys.
        toml::Value::Table(t) if !is_style_table(t) => flatten_scopes(key, t, from, out),
        v => {
            out.insert(key.to_string(), (v.clone(), from.to_string()));
        }
    }
}

fn flatten_scopes(
    prefix: &str,
    table: &toml::Table,
    from: &str,
    out: &mut HashMap<String, (toml::Value, String)>,
) {
    for (k, v) in table {
        let key = if prefix.is_empty() {
            k.clone()
        } else {
            format!("{prefix}.{k}")
        };
        flatten_scope(&key, v, from, out);
    }
}

fn parse_style(
    value: &toml::Value,
    palette: &HashMap<String, Color>,
    mut warn: impl FnMut(String),
) -> Style {
    let mut color = |v: &toml::Value, what: &str| -> Option<Color> {
        let Some(s) = v.as_str() else {
            warn(format!("{what} = {v} should be a colour in quotes"));
            return None;
        };
        let c = palette.get(s).copied().or_else(|| parse_color(s));
        if c.is_none() {
            warn(format!(
                "unknown colour \"{s}\" for {what} (not in [palette], not a colour name or #rrggbb)"
            ));
        }
        c
    };
    match value {
        toml::Value::String(_) => {
            let mut style = Style::default();
            if let Some(c) = color(value, "fg") {
                style = style.fg(c);
            }
            style
        }
        toml::Value::Table(t) => {
            let mut style = Style::default();
            let mut unknown = Vec::new();
            let mut bad_modifiers = Vec::new();
            for (k, v) in t {
                match k.as_str() {
                    "fg" => {
                        if let Some(c) = color(v, "fg") {
                            style = style.fg(c);
                        }
                    }
                    "bg" => {
                        if let Some(c) = color(v, "bg") {
                            style = style.bg(c);
                        }
                    }
                    "underline" => {
                        if let Some(c) = color(v, "underline") {
                            style = style.underline_color(c).add_modifier(Modifier::UNDERLINED);
                        }
                    }
                    "modifiers" => match v.as_array() {
                        Some(list) => {
                            for m in list {
                                match m.as_str().and_then(parse_modifier) {
                                    Some(m) => style = style.add_modifier(m),
                                    None => bad_modifiers.push(m.to_string()),
                                }
                            }
                        }
                        None => bad_modifiers.push(v.to_string()),
                    },
                    other => unknown.push(other.to_string()),
                }
            }
            if !unknown.is_empty() {
                warn(format!(
                    "unknown key(s) {} (use fg, bg, underline, modifiers)",
                    unknown.join(", ")
                ));
            }
            if !bad_modifiers.is_empty() {
                warn(format!(
                    "unknown modifier(s) {} (use bold, dim, italic, underlined, reversed, crossed_out, slow_blink, hidden)",
                    bad_modifiers.join(", ")
                ));
            }
            style
        }
        other => {
            warn(format!(
                "{other} is neither a colour nor a {{ fg, bg, modifiers }} table"
            ));
            Style::default()
        }
    }
}

/// The 16 ANSI colours by name (so a theme can follow the terminal's palette), `default`,
/// `#rrggbb`, or a 0–255 palette index. `gray` is ANSI 7 and `dark-gray` ANSI 8.
pub fn parse_color(s: &str) -> Option<Color> {
    let name = s.trim().to_ascii_lowercase().replace(['_', ' '], "-");
    let name = name.strip_prefix("bright-").map_or(name.clone(), |rest| {
        if rest == "black" {
            "dark-gray".to_string()
        } else {
            format!("light-{rest}")
        }
    });
    Some(match name.as_str() {
        "default" | "reset" => Color::Reset,
        "black" => Color::Black,
        "red" => Color::Red,
        "green" => Color::Green,
        "yellow" => Color::Yellow,
        "blue" => Color::Blue,
        "magenta" => Color::Magenta,
        "cyan" => Color::Cyan,
        "gray" | "grey" | "light-gray" | "light-grey" => Color::Gray,
        "dark-gray" | "dark-grey" => Color::DarkGray,
        "light-red" => Color::LightRed,
        "light-green" => Color::LightGreen,
        "light-yellow" => Color::LightYellow,
        "light-blue" => Color::LightBlue,
        "light-magenta" => Color::LightMagenta,
        "light-cyan" => Color::LightCyan,
        "white" | "light-white" => Color::White,
        hex if hex.starts_with('#') && hex.len() == 7 => {
            let p = |i: usize| u8::from_str_radix(hex.get(i..i + 2)?, 16).ok();
            Color::Rgb(p(1)?, p(3)?, p(5)?)
        }
        n => Color::Indexed(n.parse::<u8>().ok()?),
    })
}

fn parse_modifier(s: &str) -> Option<Modifier> {
    Some(match s {
        "bold" => Modifier::BOLD,
        "dim" => Modifier::DIM,
        "italic" => Modifier::ITALIC,
        "underlined" | "underline" => Modifier::UNDERLINED,
        "slow_blink" | "blink" => Modifier::SLOW_BLINK,
        "rapid_blink" => Modifier::RAPID_BLINK,
        "reversed" | "reverse" => Modifier::REVERSED,
        "hidden" => Modifier::HIDDEN,
        "crossed_out" => Modifier::CROSSED_OUT,
        _ => return None,
    })
}

/// `NO_COLOR`: keep modifiers; a background (a badge, a selection) becomes reverse video.
fn strip_color(style: Style) -> Style {
    let had_bg = matches!(style.bg, Some(c) if c != Color::Reset);
    let mut plain = Style::default()
        .add_modifier(style.add_modifier)
        .remove_modifier(style.sub_modifier);
    if had_bg {
        plain = plain.add_modifier(Modifier::REVERSED);
    }
    plain
}

#[cfg(test)]
mod tests {
    use super::*;

    fn from_sources(name: &str, files: &[(&str, &str)], no_color: bool) -> Theme {
        let files: Vec<(String, String)> = files
            .iter()
            .map(|(n, t)| (n.to_string(), t.to_string()))
            .collect();
        let loader = move |n: &str| -> Option<Source> {
            files
                .iter()
                .find(|(f, _)| f == n)
                .map(|(f, t)| (format!("{f}.toml"), Ok(t.clone())))
        };
        Theme::resolve(name, &loader, no_color)
    }

    #[test]
    fn every_bundled_theme_loads_without_warnings() {
        for (name, _) in BUNDLED {
            for no_color in [false, true] {
                let t = Theme::bundled(name, no_color).unwrap();
                assert!(t.warnings.is_empty(), "{name}: {:?}", t.warnings);
                for scope in UI_SCOPES {
                    assert!(t.has(scope), "{name} lacks {scope}");
                }
            }
        }
    }

    #[test]
    fn the_scope_list_matches_the_code() {
        // Scopes are strings in the panes; a typo would silently fall back to plain.
        let src = [
            include_str!("panes/mod.rs"),
            include_str!("panes/transcript.rs"),
            include_str!("panes/tools.rs"),
            include_str!("panes/memory.rs"),
            include_str!("panes/checkpoints.rs"),
            include_str!("panes/actions.rs"),
            include_str!("panes/composer.rs"),
            include_str!("panes/status.rs"),
            include_str!("overlays/mod.rs"),
            include_str!("overlays/approval.rs"),
            include_str!("overlays/help.rs"),
            include_str!("overlays/palette.rs"),
            include_str!("overlays/filter.rs"),
            include_str!("overlays/preview.rs"),
            include_str!("widgets/markdown.rs"),
            include_str!("widgets/highlight.rs"),
            include_str!("app/render.rs"),
        ]
        .concat();
        let re = regex::Regex::new(
            r#""((?:ui|markup|code|transcript|tool|memory|checkpoint|confidence|action|diagnostic)(?:\.[a-z_0-9]+)+)""#,
        )
        .unwrap();
        let mut seen = 0;
        for cap in re.captures_iter(&src) {
            assert!(
                UI_SCOPES.contains(&&cap[1]),
                "{} is used but not in UI_SCOPES",
                &cap[1]
            );
            seen += 1;
        }
        assert!(
            seen > 100,
            "only {seen} scopes found: is the pattern right?"
        );
    }

    #[test]
    fn the_default_theme_uses_only_the_terminal_palette() {
        let named = [
            Color::Reset,
            Color::Black,
            Color::Red,
            Color::Green,
            Color::Yellow,
            Color::Blue,
            Color::Magenta,
            Color::Cyan,
            Color::Gray,
            Color::DarkGray,
            Color::LightRed,
            Color::LightGreen,
            Color::LightYellow,
            Color::LightBlue,
            Color::LightMagenta,
            Color::LightCyan,
            Color::White,
        ];
        let t = Theme::bundled("default", false).unwrap();
        for (scope, style) in t.scopes() {
            for c in [style.fg, style.bg, style.underline_color]
                .into_iter()
                .flatten()
            {
                assert!(named.contains(&c), "default theme {scope} uses {c:?}");
            }
        }
    }

    #[test]
    fn lookups_fall_back_to_shorter_scopes() {
        let t = from_sources(
            "t",
            &[("t", "\"ui\" = \"red\"\n\"ui.statusline\" = \"blue\"\n")],
            false,
        );
        assert_eq!(t.get("ui.statusline.mode.write").fg, Some(Color::Blue));
        assert_eq!(t.get("ui.pane").fg, Some(Color::Red));
        assert_eq!(t.get("markup.heading"), Style::default());
    }

    #[test]
    fn inherits_merges_palette_and_scopes() {
        let parent = "[palette]\naccent = \"red\"\n[scopes]\n\"ui.pane.border\" = \"accent\"\n\"ui.text\" = { fg = \"green\", modifiers = [\"bold\"] }\n";
        let child = "inherits = \"parent\"\n[palette]\naccent = \"#102030\"\n[ui.statusline]\nmode = { bg = \"yellow\" }\n";
        let t = from_sources("child", &[("parent", parent), ("child", child)], false);
        assert!(t.warnings.is_empty(), "{:?}", t.warnings);
        // The parent's scope resolves with the child's palette, helix style.
        assert_eq!(
            t.get("ui.pane.border").fg,
            Some(Color::Rgb(0x10, 0x20, 0x30))
        );
        assert!(t.get("ui.text").add_modifier.contains(Modifier::BOLD));
        assert_eq!(t.get("ui.statusline.mode.read").bg, Some(Color::Yellow));
    }

    #[test]
    fn bad_values_are_warnings_not_errors() {
        let t = from_sources(
            "t",
            &[(
                "t",
                "[palette]\nx = 3\n[scopes]\n\"ui.text\" = \"blu\"\n\"ui.pane\" = { fg = \"red\", colour = \"x\", modifiers = [\"shiny\"] }\n",
            )],
            false,
        );
        assert_eq!(t.warnings.len(), 4, "{:#?}", t.warnings);
        assert!(
            t.warnings
                .iter()
                .any(|w| w.contains("blu") && w.contains("ui.text"))
        );
        assert!(t.warnings.iter().any(|w| w.contains("shiny")));
        assert!(t.warnings.iter().any(|w| w.contains("colour")));
        // The good part of a bad scope still applies.
        assert_eq!(t.get("ui.pane").fg, Some(Color::Red));
    }

    #[test]
    fn inherits_cycles_and_missing_themes_warn() {
        let t = from_sources(
            "a",
            &[
                ("a", "inherits = \"b\"\n\"ui\" = \"red\"\n"),
                ("b", "inherits = \"a\"\n"),
            ],
            false,
        );
        assert_eq!(t.get("ui").fg, Some(Color::Red));
        assert!(
            t.warnings.iter().any(|w| w.contains("cycle")),
            "{:?}",
            t.warnings
        );

        let t = Theme::load("no-such-theme", None, false);
        assert!(t.warnings[0].contains("no-such-theme"));
        assert!(t.has("ui.pane.border.focused"));
    }

    #[test]
    fn no_color_keeps_modifiers_and_turns_backgrounds_into_reverse_video() {
        let t = Theme::bundled("dark", true).unwrap();
        for (scope, style) in t.scopes() {
            assert_eq!((style.fg, style.bg), (None, None), "{scope}");
        }
        assert!(
            t.get("ui.selection")
                .add_modifier
                .contains(Modifier::REVERSED)
        );
        assert!(
            t.get("ui.statusline.mode.write")
                .add_modifier
                .contains(Modifier::REVERSED)
        );
    }

    #[test]
    fn user_themes_in_the_config_dir_win_and_can_inherit_bundled_ones() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("themes")).unwrap();
        std::fs::write(
            dir.path().join("themes/mine.toml"),
            "inherits = \"dark\"\n\"ui.pane.border.focused\" = \"#ff0000\"\n",
        )
        .unwrap();
        let t = Theme::load("mine", Some(dir.path()), false);
        assert!(t.warnings.is_empty(), "{:?}", t.warnings);
        assert_eq!(
            t.get("ui.pane.border.focused").fg,
            Some(Color::Rgb(255, 0, 0))
        );
        assert!(t.has("tool.status.error"));
    }
}
