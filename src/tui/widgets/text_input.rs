//! An editable text field: the composer (multi-line) and every one-line prompt (rejection
//! reason, edited command, palette, filter). Pure state; keys arrive as actions.

use ratatui::buffer::Buffer;
use ratatui::layout::{Position, Rect};
use ratatui::style::Style;
use unicode_width::UnicodeWidthChar;

#[derive(Debug, Clone, Default, PartialEq)]
pub struct TextInput {
    text: String,
    /// Byte offset, always on a char boundary.
    cursor: usize,
    single_line: bool,
}

impl TextInput {
    pub fn multi_line() -> Self {
        Self::default()
    }

    pub fn single_line() -> Self {
        Self {
            single_line: true,
            ..Self::default()
        }
    }

    pub fn with_text(mut self, text: &str) -> Self {
        self.set(text);
        self
    }

    pub fn text(&self) -> &str {
        &self.text
    }

    pub fn is_empty(&self) -> bool {
        self.text.is_empty()
    }

    /// Replace the text; the cursor goes to the end.
    pub fn set(&mut self, text: &str) {
        self.text.clear();
        self.cursor = 0;
        self.insert_str(text);
    }

    pub fn take(&mut self) -> String {
        self.cursor = 0;
        std::mem::take(&mut self.text)
    }

    pub fn insert_char(&mut self, c: char) {
        let c = if c == '\n' && self.single_line {
            ' '
        } else {
            c
        };
        if c == '\r' || (c.is_control() && c != '\n' && c != '\t') {
            return;
        }
        self.text.insert(self.cursor, c);
        self.cursor += c.len_utf8();
    }

    /// Insert pasted text; CRLF becomes LF, and a one-line field gets spaces.
    pub fn insert_str(&mut self, s: &str) {
        for c in s.replace("\r\n", "\n").chars() {
            self.insert_char(c);
        }
    }

    pub fn newline(&mut self) {
        if !self.single_line {
            self.insert_char('\n');
        }
    }

    fn prev_boundary(&self) -> usize {
        self.text[..self.cursor]
            .char_indices()
            .next_back()
            .map_or(0, |(i, _)| i)
    }

    fn next_boundary(&self) -> usize {
        self.text[self.cursor..]
            .chars()
            .next()
            .map_or(self.cursor, |c| self.cursor + c.len_utf8())
    }

    pub fn left(&mut self) {
        self.cursor = self.prev_boundary();
    }

    pub fn right(&mut self) {
        self.cursor = self.next_boundary();
    }

    fn line_start_of(&self, at: usize) -> usize {
        self.text[..at].rfind('\n').map_or(0, |i| i + 1)
    }

    fn line_end_of(&self, at: usize) -> usize {
        self.text[at..]
            .find('\n')
            .map_or(self.text.len(), |i| at + i)
    }

    pub fn line_start(&mut self) {
        self.cursor = self.line_start_of(self.cursor);
    }

    pub fn line_end(&mut self) {
        self.cursor = self.line_end_of(self.cursor);
    }

    pub fn word_left(&mut self) {
        let before = &self.text[..self.cursor];
        let trimmed = before.trim_end_matches(|c: char| !c.is_alphanumeric());
        self.cursor = trimmed
            .rfind(|c: char| !c.is_alphanumeric())
            .map_or(0, |i| {
                i + trimmed[i..].chars().next().map_or(1, char::len_utf8)
            });
    }

    pub fn word_right(&mut self) {
        let after = &self.text[self.cursor..];
        let skip = after.len()
            - after
                .trim_start_matches(|c: char| !c.is_alphanumeric())
                .len();
        let rest = &after[skip..];
        let word = rest
            .find(|c: char| !c.is_alphanumeric())
            .unwrap_or(rest.len());
        self.cursor += skip + word;
    }

    pub fn delete_back(&mut self) {
        let start = self.prev_boundary();
        self.text.replace_range(start..self.cursor, "");
        self.cursor = start;
    }

    pub fn delete_forward(&mut self) {
        let end = self.next_boundary();
        self.text.replace_range(self.cursor..end, "");
    }

    pub fn delete_word(&mut self) {
        let end = self.cursor;
        self.word_left();
        self.text.replace_range(self.cursor..end, "");
    }

    /// Delete from the line start to the cursor (shell `Ctrl-U`).
    pub fn clear_line(&mut self) {
        let start = self.line_start_of(self.cursor);
        self.text.replace_range(start..self.cursor, "");
        self.cursor = start;
    }

    /// Move up one line; false when already on the first line (history takes over).
    pub fn up(&mut self) -> bool {
        let start = self.line_start_of(self.cursor);
        if start == 0 {
            return false;
        }
        let col = self.text[start..self.cursor].chars().count();
        let prev_start = self.line_start_of(start - 1);
        self.cursor = advance(&self.text, prev_start, start - 1, col);
        true
    }

    /// Move down one line; false when already on the last line.
    pub fn down(&mut self) -> bool {
        let end = self.line_end_of(self.cursor);
        if end == self.text.len() {
            return false;
        }
        let col = self.text[self.line_start_of(self.cursor)..self.cursor]
            .chars()
            .count();
        let next_start = end + 1;
        let next_end = self.line_end_of(next_start);
        self.cursor = advance(&self.text, next_start, next_end, col);
        true
    }

    /// Rows when soft-wrapped at `width` columns, and the cursor's (row, column).
    pub fn layout(&self, width: u16) -> (Vec<String>, (usize, u16)) {
        let width = usize::from(width.max(1));
        let mut rows = vec![String::new()];
        let mut col = 0usize;
        let mut cursor = (0usize, 0u16);
        for (i, ch) in self.text.char_indices() {
            if i == self.cursor {
                cursor = (rows.len() - 1, col as u16);
            }
            if ch == '\n' {
                rows.push(String::new());
                col = 0;
                continue;
            }
            let w = ch.width().unwrap_or(0);
            if col + w > width {
                rows.push(String::new());
                col = 0;
                if i == self.cursor {
                    cursor = (rows.len() - 1, 0);
                }
            }
            if let Some(row) = rows.last_mut() {
                row.push(ch);
            }
            col += w;
        }
        if self.cursor >= self.text.len() {
            if col >= width {
                rows.push(String::new());
                col = 0;
            }
            cursor = (rows.len() - 1, col as u16);
        }
        (rows, cursor)
    }

    /// Draw into `area` (scrolled so the cursor row shows); returns where the terminal
    /// cursor belongs.
    pub fn render(&self, area: Rect, buf: &mut Buffer, style: Style) -> Option<Position> {
        if area.width == 0 || area.height == 0 {
            return None;
        }
        let (rows, (crow, ccol)) = self.layout(area.width);
        let height = usize::from(area.height);
        let first = (crow + 1).saturating_sub(height);
        for (i, row) in rows.iter().skip(first).take(height).enumerate() {
            buf.set_stringn(
                area.x,
                area.y + i as u16,
                row,
                usize::from(area.width),
                style,
            );
        }
        let y = area.y + (crow - first) as u16;
        Some(Position::new(area.x + ccol.min(area.width - 1), y))
    }

    /// Rows the text needs at `width` (at least one).
    pub fn height(&self, width: u16) -> usize {
        self.layout(width).0.len()
    }
}

/// Byte offset `col` chars into `text[from..to]`, clamped to `to`.
fn advance(text: &str, from: usize, to: usize, col: usize) -> usize {
    text[from..to]
        .char_indices()
        .nth(col)
        .map_or(to, |(i, _)| from + i)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn editing_keeps_the_cursor_on_char_boundaries() {
        let mut t = TextInput::multi_line();
        t.insert_str("pods crashlooping — ");
        t.delete_back();
        t.delete_back();
        assert_eq!(t.text(), "pods crashlooping ");
        t.word_left();
        t.delete_word();
        assert_eq!(t.text(), "crashlooping ");
        t.line_end();
        t.insert_str("since 14:05");
        t.clear_line();
        assert_eq!(t.text(), "");
    }

    #[test]
    fn up_and_down_move_between_lines_then_report_the_edge() {
        let mut t = TextInput::multi_line();
        t.insert_str("first line\nsecond");
        assert!(t.up());
        assert_eq!(t.layout(80).1, (0, 6));
        assert!(!t.up());
        assert!(t.down());
        assert!(!t.down());
        t.newline();
        assert_eq!(t.text(), "first line\nsecond\n");
    }

    #[test]
    fn single_line_fields_flatten_pastes() {
        let mut t = TextInput::single_line();
        t.insert_str("a\r\nb\nc");
        t.newline();
        assert_eq!(t.text(), "a b c");
    }

    #[test]
    fn layout_soft_wraps_and_places_the_cursor() {
        let t = TextInput::multi_line().with_text("abcdef");
        let (rows, cur) = t.layout(4);
        assert_eq!(rows, ["abcd", "ef"]);
        assert_eq!(cur, (1, 2));
        let t = TextInput::multi_line().with_text("abcd");
        assert_eq!(
            t.layout(4),
            (vec!["abcd".to_string(), String::new()], (1, 0))
        );
    }
}
