//! Styled text that is independent of width and theme: spans carry a theme *scope*, not a
//! colour, so reducers can build (and cache) it once and the view wraps and colours it at
//! render time.

use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use unicode_width::{UnicodeWidthChar, UnicodeWidthStr};

use crate::tui::theme::Theme;

#[derive(Debug, Clone, PartialEq)]
pub struct RichSpan {
    pub text: String,
    pub scope: &'static str,
    /// Added on top of the scope's style (bold inside a heading, italic in a list).
    pub extra: Modifier,
}

impl RichSpan {
    pub fn new(text: impl Into<String>, scope: &'static str) -> Self {
        Self {
            text: text.into(),
            scope,
            extra: Modifier::empty(),
        }
    }

    pub fn with(mut self, extra: Modifier) -> Self {
        self.extra |= extra;
        self
    }

    fn style(&self, theme: &Theme) -> Style {
        theme.get(self.scope).add_modifier(self.extra)
    }
}

/// How a line breaks when it is wider than the pane.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum WrapMode {
    /// Between words; a word wider than the pane is cut.
    #[default]
    Word,
    /// Anywhere (code, commands).
    Char,
    /// Not at all: the rest is cut off (tables, rules).
    None,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct RichLine {
    /// Drawn before the first row (a bullet, a quote bar, a gutter).
    pub prefix: Vec<RichSpan>,
    /// Drawn before each continuation row; usually blanks as wide as `prefix`.
    pub cont_prefix: Vec<RichSpan>,
    pub spans: Vec<RichSpan>,
    pub wrap: WrapMode,
    /// Repeat the last char of `spans` to fill the width (a horizontal rule).
    pub fill: bool,
}

impl RichLine {
    pub fn new(spans: Vec<RichSpan>) -> Self {
        Self {
            spans,
            ..Self::default()
        }
    }

    pub fn plain(text: impl Into<String>, scope: &'static str) -> Self {
        Self::new(vec![RichSpan::new(text, scope)])
    }

    pub fn blank() -> Self {
        Self::default()
    }

    /// A prefix whose continuation rows are indented by the same width.
    pub fn with_prefix(mut self, prefix: Vec<RichSpan>) -> Self {
        let w: usize = prefix.iter().map(|s| s.text.width()).sum();
        self.cont_prefix = vec![RichSpan::new(" ".repeat(w), "ui.text")];
        self.prefix = prefix;
        self
    }

    pub fn wrap(mut self, wrap: WrapMode) -> Self {
        self.wrap = wrap;
        self
    }

    /// The text alone, for filters and tests.
    pub fn text(&self) -> String {
        self.prefix
            .iter()
            .chain(self.spans.iter())
            .map(|s| s.text.as_str())
            .collect()
    }
}

/// Lay `lines` out at `width` columns with `theme`'s styles.
pub fn wrap_lines(lines: &[RichLine], theme: &Theme, width: u16) -> Vec<Line<'static>> {
    let mut out = Vec::with_capacity(lines.len());
    for line in lines {
        wrap_line(line, theme, width, &mut out);
    }
    out
}

/// How many rows `line` takes at `width`, without building them.
pub fn wrapped_height(line: &RichLine, theme: &Theme, width: u16) -> usize {
    let mut out = Vec::new();
    wrap_line(line, theme, width, &mut out);
    out.len()
}

pub fn wrap_line(line: &RichLine, theme: &Theme, width: u16, out: &mut Vec<Line<'static>>) {
    let width = usize::from(width.max(1));
    let styled = |spans: &[RichSpan]| -> Vec<Span<'static>> {
        spans
            .iter()
            .map(|s| Span::styled(s.text.clone(), s.style(theme)))
            .collect()
    };
    let prefix_w: usize = line.prefix.iter().map(|s| s.text.width()).sum();
    let cont_w: usize = line.cont_prefix.iter().map(|s| s.text.width()).sum();

    if line.fill {
        // One row: the spans, then the last span's last char repeated to the edge.
        let mut row = styled(&line.prefix);
        let mut used = prefix_w;
        for span in &line.spans {
            let cut = take_width(&span.text, width.saturating_sub(used));
            used += cut.width();
            row.push(Span::styled(cut, span.style(theme)));
        }
        if let Some(last) = line.spans.last() {
            let ch = last.text.chars().last().unwrap_or('─');
            row.push(Span::styled(
                ch.to_string().repeat(width.saturating_sub(used)),
                last.style(theme),
            ));
        }
        out.push(Line::from(row));
        return;
    }

    // Pieces: (text, style, is_space). Words and runs of spaces alternate.
    let mut pieces: Vec<(String, Style, bool)> = Vec::new();
    for span in &line.spans {
        let style = span.style(theme);
        match line.wrap {
            WrapMode::Word => {
                let mut cur = String::new();
                let mut cur_space = false;
                for ch in span.text.chars() {
                    let is_space = ch == ' ';
                    if !cur.is_empty() && is_space != cur_space {
                        pieces.push((std::mem::take(&mut cur), style, cur_space));
                    }
                    cur_space = is_space;
                    cur.push(ch);
                }
                if !cur.is_empty() {
                    pieces.push((cur, style, cur_space));
                }
            }
            WrapMode::Char | WrapMode::None => pieces.push((span.text.clone(), style, false)),
        }
    }

    let mut rows = Rows {
        out,
        row: styled(&line.prefix),
        avail: width.saturating_sub(prefix_w).max(1),
        used: 0,
        broke: false,
        cont: styled(&line.cont_prefix),
        cont_avail: width.saturating_sub(cont_w).max(1),
    };
    for (text, style, is_space) in pieces {
        let w = text.width();
        if line.wrap == WrapMode::None {
            let cut = take_width(&text, rows.avail.saturating_sub(rows.used));
            rows.used += cut.width();
            rows.row.push(Span::styled(cut, style));
            continue;
        }
        if is_space {
            // Spaces at a break are dropped; elsewhere (an indent, between words) they stay.
            if (rows.used > 0 || !rows.broke) && rows.used + w <= rows.avail {
                rows.row.push(Span::styled(text, style));
                rows.used += w;
            } else if rows.used > 0 {
                rows.break_row();
            }
            continue;
        }
        if line.wrap == WrapMode::Word && rows.used > 0 && rows.used + w > rows.avail {
            rows.break_row();
        }
        // Place the piece, cutting it across rows when it does not fit.
        let mut rest: &str = &text;
        while !rest.is_empty() {
            let room = rows.avail.saturating_sub(rows.used);
            let part = take_width(rest, room);
            if part.is_empty() {
                if rows.used > 0 {
                    rows.break_row();
                    continue;
                }
                // A wide char that cannot fit even in an empty row: emit it anyway.
                let n = rest.chars().next().map_or(rest.len(), char::len_utf8);
                rows.row.push(Span::styled(rest[..n].to_string(), style));
                rows.used = rows.avail;
                rest = &rest[n..];
                continue;
            }
            rows.used += part.width();
            rest = &rest[part.len()..];
            rows.row.push(Span::styled(part, style));
        }
    }
    let last = std::mem::take(&mut rows.row);
    rows.out.push(Line::from(last));
}

struct Rows<'a> {
    out: &'a mut Vec<Line<'static>>,
    row: Vec<Span<'static>>,
    avail: usize,
    used: usize,
    /// Whether the current row started at a wrap (its leading spaces are dropped).
    broke: bool,
    cont: Vec<Span<'static>>,
    cont_avail: usize,
}

impl Rows<'_> {
    fn break_row(&mut self) {
        trim_trailing_spaces(&mut self.row);
        let row = std::mem::replace(&mut self.row, self.cont.clone());
        self.out.push(Line::from(row));
        self.avail = self.cont_avail;
        self.used = 0;
        self.broke = true;
    }
}

fn trim_trailing_spaces(row: &mut Vec<Span<'static>>) {
    while let Some(last) = row.last_mut() {
        let trimmed = last.content.trim_end_matches(' ').len();
        if trimmed == 0 {
            row.pop();
            continue;
        }
        if trimmed < last.content.len() {
            let s = last.content[..trimmed].to_string();
            last.content = s.into();
        }
        break;
    }
}

/// The longest prefix of `s` at most `max` columns wide.
pub fn take_width(s: &str, max: usize) -> String {
    let mut w = 0;
    let mut end = 0;
    for (i, ch) in s.char_indices() {
        let cw = ch.width().unwrap_or(0);
        if w + cw > max {
            break;
        }
        w += cw;
        end = i + ch.len_utf8();
    }
    s[..end].to_string()
}

/// `s` cut to `max` columns with an ellipsis when it was longer.
pub fn truncate(s: &str, max: usize) -> String {
    if s.width() <= max {
        return s.to_string();
    }
    if max == 0 {
        return String::new();
    }
    let mut t = take_width(s, max - 1);
    t.push('…');
    t
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(lines: &[Line]) -> Vec<String> {
        lines
            .iter()
            .map(|l| l.spans.iter().map(|s| s.content.as_ref()).collect())
            .collect()
    }

    #[test]
    fn word_wrap_breaks_between_words_and_indents_continuations() {
        let theme = Theme::default();
        let line = RichLine::plain("the analytics backfill saturates the database", "ui.text")
            .with_prefix(vec![RichSpan::new("• ", "markup.list")]);
        let out = wrap_lines(&[line], &theme, 20);
        assert_eq!(
            texts(&out),
            ["• the analytics", "  backfill saturates", "  the database"]
        );
    }

    #[test]
    fn long_words_and_code_are_cut() {
        let theme = Theme::default();
        let out = wrap_lines(&[RichLine::plain("abcdefghij", "ui.text")], &theme, 4);
        assert_eq!(texts(&out), ["abcd", "efgh", "ij"]);
        let code = RichLine::plain("let x = 1;", "code").wrap(WrapMode::Char);
        assert_eq!(texts(&wrap_lines(&[code], &theme, 6)), ["let x", "= 1;"]);
        let cut = RichLine::plain("abcdef", "x").wrap(WrapMode::None);
        assert_eq!(texts(&wrap_lines(&[cut], &theme, 3)), ["abc"]);
    }

    #[test]
    fn leading_spaces_stay_unless_a_wrap_made_them() {
        let theme = Theme::default();
        let out = wrap_lines(
            &[RichLine::plain("  indented text here", "ui.text")],
            &theme,
            10,
        );
        assert_eq!(texts(&out), ["  indented", "text here"]);
        let mut rule = RichLine::new(vec![
            RichSpan::new("── done ", "x"),
            RichSpan::new("─", "x"),
        ]);
        rule.fill = true;
        assert_eq!(texts(&wrap_lines(&[rule], &theme, 12)), ["── done ────"]);
    }

    #[test]
    fn tiny_widths_never_loop_or_panic() {
        let theme = Theme::default();
        let line = RichLine::plain("日本語 text", "ui.text")
            .with_prefix(vec![RichSpan::new(">>>> ", "x")]);
        for w in 0..8 {
            let _ = wrap_lines(std::slice::from_ref(&line), &theme, w);
        }
        assert_eq!(truncate("checkout-api", 6), "check…");
        assert_eq!(truncate("abc", 0), "");
    }
}
