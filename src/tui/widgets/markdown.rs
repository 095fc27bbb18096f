//! Markdown → [`RichLine`]s: headings, emphasis, bullet and numbered lists, quotes, inline
//! code, fenced code blocks with token colours, tables and rules. Assistant messages are
//! parsed once per change and cached; the view only wraps and colours.

use pulldown_cmark::{CodeBlockKind, Event, HeadingLevel, Options, Parser, Tag, TagEnd};
use ratatui::style::Modifier;
use unicode_width::UnicodeWidthStr;

use super::highlight::{HlState, Lang, highlight_line};
use super::rich::{RichLine, RichSpan, WrapMode};

struct ListState {
    next: Option<u64>,
}

#[derive(Default)]
struct Renderer {
    out: Vec<RichLine>,
    spans: Vec<RichSpan>,
    /// The prefix of the next row (a bullet), then blanks of its width.
    pending_prefix: Option<Vec<RichSpan>>,
    lists: Vec<ListState>,
    quote_depth: usize,
    bold: usize,
    italic: usize,
    strike: usize,
    link: Option<String>,
    heading: Option<HeadingLevel>,
    code: Option<(Lang, String)>,
    table: Option<Vec<Vec<String>>>,
    table_head_rows: usize,
    cell: String,
    /// A blank line goes before the next block unless we are at the start.
    need_gap: bool,
}

/// Render Markdown text into width-independent rich lines.
pub fn render_markdown(text: &str) -> Vec<RichLine> {
    let opts = Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH | Options::ENABLE_TASKLISTS;
    let mut r = Renderer::default();
    for ev in Parser::new_ext(text, opts) {
        r.event(ev);
    }
    r.flush();
    if let Some(buf) = r.code.as_mut().map(|(_, b)| std::mem::take(b)) {
        // An unclosed fence while streaming: show what we have.
        r.code_lines(&buf);
    }
    while r
        .out
        .last()
        .is_some_and(|l| l.spans.is_empty() && l.prefix.is_empty())
    {
        r.out.pop();
    }
    r.out
}

impl Renderer {
    fn event(&mut self, ev: Event<'_>) {
        if let Some(table) = self.table.as_mut() {
            match ev {
                Event::Text(t) | Event::Code(t) => self.cell.push_str(&t),
                Event::End(TagEnd::TableCell) => {
                    if let Some(row) = table.last_mut() {
                        row.push(std::mem::take(&mut self.cell).trim().to_string());
                    }
                }
                Event::Start(Tag::TableRow) | Event::Start(Tag::TableHead) => {
                    table.push(Vec::new())
                }
                Event::End(TagEnd::TableHead) => self.table_head_rows = table.len(),
                Event::End(TagEnd::Table) => self.end_table(),
                _ => {}
            }
            return;
        }
        match ev {
            Event::Start(tag) => self.start(tag),
            Event::End(tag) => self.end(tag),
            Event::Text(t) => {
                if let Some((_, buf)) = self.code.as_mut() {
                    buf.push_str(&t);
                } else {
                    self.text(&t);
                }
            }
            Event::Code(t) => self.spans.push(RichSpan::new(t.to_string(), "markup.code")),
            Event::SoftBreak => self.text(" "),
            Event::HardBreak => self.flush(),
            Event::Rule => {
                self.gap();
                let mut rule = RichLine::plain("─", "markup.rule");
                rule.fill = true;
                self.out.push(rule);
                self.need_gap = true;
            }
            Event::TaskListMarker(done) => {
                let mark = if done { "[x] " } else { "[ ] " };
                self.spans.push(RichSpan::new(mark, "markup.list"));
            }
            Event::Html(t) | Event::InlineHtml(t) => self
                .spans
                .push(RichSpan::new(t.trim_end().to_string(), "ui.text.dim")),
            Event::FootnoteReference(t) => self.text(&format!("[{t}]")),
            Event::InlineMath(t) | Event::DisplayMath(t) => {
                self.spans.push(RichSpan::new(t.to_string(), "markup.code"))
            }
        }
    }

    fn start(&mut self, tag: Tag<'_>) {
        match tag {
            Tag::Paragraph if self.pending_prefix.is_none() => self.gap(),
            Tag::Heading { level, .. } => {
                self.gap();
                self.heading = Some(level);
            }
            Tag::BlockQuote(_) => {
                self.gap();
                self.quote_depth += 1;
            }
            Tag::CodeBlock(kind) => {
                self.flush();
                self.gap();
                let lang = match &kind {
                    CodeBlockKind::Fenced(info) => {
                        Lang::from_tag(info.split([' ', ',']).next().unwrap_or(""))
                    }
                    CodeBlockKind::Indented => Lang::from_tag(""),
                };
                self.code = Some((lang, String::new()));
            }
            Tag::List(start) => {
                self.flush();
                if self.lists.is_empty() {
                    self.gap();
                }
                self.lists.push(ListState { next: start });
            }
            Tag::Item => {
                self.flush();
                let depth = self.lists.len().saturating_sub(1);
                let marker = match self.lists.last_mut() {
                    Some(ListState { next: Some(n) }) => {
                        let m = format!("{n}. ");
                        *n += 1;
                        m
                    }
                    _ => ["• ", "◦ ", "▪ "][depth % 3].to_string(),
                };
                self.pending_prefix = Some(vec![
                    RichSpan::new("  ".repeat(depth), "ui.text"),
                    RichSpan::new(marker, "markup.list"),
                ]);
            }
            Tag::Emphasis => self.italic += 1,
            Tag::Strong => self.bold += 1,
            Tag::Strikethrough => self.strike += 1,
            Tag::Link { dest_url, .. } => self.link = Some(dest_url.to_string()),
            Tag::Table(_) => {
                self.flush();
                self.gap();
                self.table = Some(Vec::new());
                self.table_head_rows = 0;
            }
            _ => {}
        }
    }

    fn end(&mut self, tag: TagEnd) {
        match tag {
            TagEnd::Paragraph => {
                self.flush();
                self.need_gap = true;
            }
            TagEnd::Heading(_) => {
                self.flush();
                self.heading = None;
                self.need_gap = true;
            }
            TagEnd::BlockQuote(_) => {
                self.flush();
                self.quote_depth = self.quote_depth.saturating_sub(1);
                self.need_gap = true;
            }
            TagEnd::CodeBlock => {
                let buf = self.code.as_mut().map(|(_, b)| std::mem::take(b));
                self.code_lines(&buf.unwrap_or_default());
                self.code = None;
                self.need_gap = true;
            }
            TagEnd::List(_) => {
                self.flush();
                self.lists.pop();
                self.need_gap = true;
            }
            TagEnd::Item => {
                self.flush();
                self.pending_prefix = None;
                self.need_gap = false;
            }
            TagEnd::Emphasis => self.italic = self.italic.saturating_sub(1),
            TagEnd::Strong => self.bold = self.bold.saturating_sub(1),
            TagEnd::Strikethrough => self.strike = self.strike.saturating_sub(1),
            TagEnd::Link => {
                if let Some(url) = self.link.take() {
                    let text: String = self.spans.iter().map(|s| s.text.as_str()).collect();
                    if !text.ends_with(url.as_str()) && !url.starts_with('#') {
                        self.spans
                            .push(RichSpan::new(format!(" <{url}>"), "ui.text.dim"));
                    }
                }
            }
            _ => {}
        }
    }

    fn text(&mut self, t: &str) {
        let scope = if let Some(level) = self.heading {
            if level == HeadingLevel::H1 {
                "markup.heading.1"
            } else {
                "markup.heading"
            }
        } else if self.link.is_some() {
            "markup.link"
        } else if self.quote_depth > 0 {
            "markup.quote"
        } else {
            "ui.text"
        };
        let mut extra = Modifier::empty();
        if self.bold > 0 {
            extra |= Modifier::BOLD;
        }
        if self.italic > 0 {
            extra |= Modifier::ITALIC;
        }
        if self.strike > 0 {
            extra |= Modifier::CROSSED_OUT;
        }
        self.spans.push(RichSpan::new(t, scope).with(extra));
    }

    fn gap(&mut self) {
        if self.need_gap && !self.out.is_empty() {
            self.out.push(RichLine::blank());
        }
        self.need_gap = false;
    }

    fn quote_prefix(&self) -> Vec<RichSpan> {
        if self.quote_depth == 0 {
            Vec::new()
        } else {
            vec![RichSpan::new("▎ ".repeat(self.quote_depth), "markup.quote")]
        }
    }

    /// Close the current row of inline spans.
    fn flush(&mut self) {
        if self.spans.is_empty() {
            return;
        }
        let spans = std::mem::take(&mut self.spans);
        let mut prefix = self.quote_prefix();
        let mut cont = prefix.clone();
        match self.pending_prefix.take() {
            Some(bullet) => {
                let w: usize = bullet.iter().map(|s| s.text.width()).sum();
                prefix.extend(bullet);
                cont.push(RichSpan::new(" ".repeat(w), "ui.text"));
                // Later rows of the same item (after a hard break) line up with its text.
                self.pending_prefix = Some(vec![RichSpan::new(" ".repeat(w), "ui.text")]);
            }
            None => {
                if let Some(depth) = self.lists.len().checked_sub(1) {
                    let pad = RichSpan::new("  ".repeat(depth + 1), "ui.text");
                    prefix.push(pad.clone());
                    cont.push(pad);
                }
            }
        }
        self.out.push(RichLine {
            prefix,
            cont_prefix: cont,
            spans,
            wrap: WrapMode::Word,
            fill: false,
        });
    }

    fn code_lines(&mut self, buf: &str) {
        let lang = self.code.as_ref().map_or(Lang::from_tag(""), |(l, _)| *l);
        let mut st = HlState::default();
        let indent = self.lists.len() * 2;
        let mut gutter = self.quote_prefix();
        gutter.push(RichSpan::new(" ".repeat(indent), "ui.text"));
        gutter.push(RichSpan::new("│ ", "markup.code.fence"));
        for line in buf.trim_end_matches('\n').split('\n') {
            let spans = highlight_line(&lang, line, &mut st);
            self.out.push(RichLine {
                prefix: gutter.clone(),
                cont_prefix: gutter.clone(),
                spans,
                wrap: WrapMode::Char,
                fill: false,
            });
        }
    }

    fn end_table(&mut self) {
        let Some(rows) = self.table.take() else {
            return;
        };
        let cols = rows.iter().map(Vec::len).max().unwrap_or(0);
        let mut widths = vec![0usize; cols];
        for row in &rows {
            for (i, cell) in row.iter().enumerate() {
                widths[i] = widths[i].max(cell.width());
            }
        }
        for (r, row) in rows.iter().enumerate() {
            let head = r < self.table_head_rows;
            let mut spans = Vec::new();
            for (i, w) in widths.iter().enumerate() {
                if i > 0 {
                    spans.push(RichSpan::new(" │ ", "markup.rule"));
                }
                let cell = row.get(i).map_or("", String::as_str);
                let pad = " ".repeat(w.saturating_sub(cell.width()));
                let span = RichSpan::new(format!("{cell}{pad}"), "ui.text");
                spans.push(if head {
                    span.with(Modifier::BOLD)
                } else {
                    span
                });
            }
            self.out.push(RichLine::new(spans).wrap(WrapMode::None));
            if head && r + 1 == self.table_head_rows {
                let total = widths.iter().sum::<usize>() + 3 * widths.len().saturating_sub(1);
                self.out
                    .push(RichLine::plain("─".repeat(total), "markup.rule").wrap(WrapMode::None));
            }
        }
        self.need_gap = true;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(lines: &[RichLine]) -> Vec<String> {
        lines.iter().map(RichLine::text).collect()
    }

    #[test]
    fn headings_lists_and_inline_code() {
        let md = "## Likely cause\n\nThe **analytics backfill** saturates `orders-db`:\n\n- CronJob `backfill` started 14:00\n- p99 latency up 8×\n\n1. verify the CronJob\n2. roll back\n";
        let lines = render_markdown(md);
        assert_eq!(
            texts(&lines),
            [
                "Likely cause",
                "",
                "The analytics backfill saturates orders-db:",
                "",
                "• CronJob backfill started 14:00",
                "• p99 latency up 8×",
                "",
                "1. verify the CronJob",
                "2. roll back",
            ]
        );
        assert_eq!(lines[0].spans[0].scope, "markup.heading");
        assert!(
            lines[2]
                .spans
                .iter()
                .any(|s| s.text == "orders-db" && s.scope == "markup.code")
        );
        assert!(
            lines[2]
                .spans
                .iter()
                .any(|s| s.extra.contains(Modifier::BOLD))
        );
    }

    #[test]
    fn fenced_code_is_highlighted_with_a_gutter() {
        let lines = render_markdown(
            "Run:\n\n```sh\n# undo the rollout\nkubectl rollout undo deploy/checkout-api -n shop\n```\n",
        );
        assert_eq!(lines[2].text(), "│ # undo the rollout");
        assert_eq!(lines[2].spans[0].scope, "code.comment");
        assert_eq!(lines[3].spans[0].scope, "code.keyword");
        assert_eq!(lines[3].wrap, WrapMode::Char);
    }

    #[test]
    fn unclosed_fences_while_streaming_still_show() {
        let lines = render_markdown("```rust\nfn main() {");
        assert_eq!(texts(&lines), ["│ fn main() {"]);
    }

    #[test]
    fn nested_lists_quotes_and_tables() {
        let md = "- a\n  - b\n\n> quoted\n\n| pod | restarts |\n|---|---|\n| api-1 | 12 |\n";
        let t = texts(&render_markdown(md));
        assert_eq!(t[0], "• a");
        assert_eq!(t[1], "  ◦ b");
        assert!(t.contains(&"▎ quoted".to_string()), "{t:?}");
        assert!(t.contains(&"pod   │ restarts".to_string()), "{t:?}");
        assert!(t.contains(&"api-1 │ 12      ".to_string()), "{t:?}");
    }
}
