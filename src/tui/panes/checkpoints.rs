//! Checkpoints: each stage the investigation reached, its confidence in words and number,
//! and (for the selected one) the evidence it rests on. A checkpoint can be rewound to or
//! forked from, and file evidence opens in the preview.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Widget;

use super::{Ctx, PaneId, Row, matches, pane_block, render_empty, render_rows};
use crate::protocol::{Checkpoint, Evidence, EvidenceKind, confidence_label};
use crate::tui::widgets::rich::{RichLine, RichSpan, WrapMode, wrap_lines};

pub fn visible(ctx: &Ctx) -> Vec<usize> {
    let f = ctx.view.filter(PaneId::Checkpoints);
    ctx.state
        .checkpoints
        .iter()
        .enumerate()
        .filter(|(_, c)| {
            let refs: Vec<&str> = c.evidence.iter().map(|e| e.reference.as_str()).collect();
            matches(f, &[&c.summary, c.stage.as_str()]) || matches(f, &refs)
        })
        .map(|(i, _)| i)
        .collect()
}

/// The checkpoint under the cursor in the checkpoints pane.
pub fn selected<'a>(ctx: &Ctx<'a>) -> Option<&'a Checkpoint> {
    let idx = visible(ctx);
    let pos = super::selected_index(ctx, PaneId::Checkpoints, idx.len())?;
    ctx.state.checkpoints.get(idx[pos])
}

/// `high 0.82` with the label's scope.
pub fn confidence_spans(ctx: &Ctx, confidence: f32) -> Vec<Span<'static>> {
    let label = confidence_label(confidence);
    vec![
        Span::styled(label.to_string(), ctx.style(&format!("confidence.{label}"))),
        Span::styled(
            format!(" {confidence:.2}"),
            ctx.style(&format!("confidence.{label}")),
        ),
    ]
}

pub fn evidence_kind(kind: EvidenceKind) -> &'static str {
    match kind {
        EvidenceKind::File => "file",
        EvidenceKind::Commit => "commit",
        EvidenceKind::Finding => "finding",
        EvidenceKind::Resource => "resource",
        EvidenceKind::Log => "log",
        EvidenceKind::Event => "event",
        EvidenceKind::Memory => "memory",
        EvidenceKind::Note => "note",
    }
}

/// `path:start-end`, `path:line` or `path` → (path, start, end), 1-based inclusive.
pub fn file_region(e: &Evidence) -> Option<(String, usize, usize)> {
    if e.kind != EvidenceKind::File {
        return None;
    }
    let r = e.reference.trim();
    let (path, range) = match r.rsplit_once(':') {
        Some((p, range)) if range.chars().all(|c| c.is_ascii_digit() || c == '-') => {
            (p, Some(range))
        }
        _ => (r, None),
    };
    let (start, end) = match range.map(|x| x.split_once('-').unwrap_or((x, x))) {
        Some((a, b)) => {
            let a = a.parse::<usize>().ok()?.max(1);
            let b = b.parse::<usize>().unwrap_or(a).max(a);
            (a, b)
        }
        None => (1, 40),
    };
    (!path.is_empty()).then(|| (path.to_string(), start, end))
}

pub fn evidence_lines(evidence: &[Evidence]) -> Vec<RichLine> {
    evidence
        .iter()
        .map(|e| {
            RichLine::new(vec![
                RichSpan::new(e.reference.clone(), "checkpoint.evidence"),
                RichSpan::new(format!(" {}", e.detail), "ui.text.dim"),
            ])
            .with_prefix(vec![RichSpan::new(
                format!("  {:<8} ", evidence_kind(e.kind)),
                "ui.text.dim",
            )])
            .wrap(WrapMode::Word)
        })
        .collect()
}

pub fn render(ctx: &Ctx, area: Rect, buf: &mut Buffer) {
    let idx = visible(ctx);
    let badge =
        (!ctx.state.checkpoints.is_empty()).then(|| ctx.state.checkpoints.len().to_string());
    let block = pane_block(ctx, PaneId::Checkpoints, badge);
    let inner = block.inner(area);
    block.render(area, buf);
    if idx.is_empty() {
        let text = if ctx.state.checkpoints.is_empty() {
            "No checkpoints yet"
        } else {
            "No checkpoint matches the filter"
        };
        render_empty(ctx, text, inner, buf);
        return;
    }
    let selected = if ctx.focused(PaneId::Checkpoints) {
        super::selected_index(ctx, PaneId::Checkpoints, idx.len())
    } else {
        None
    };
    let mut compact = Vec::with_capacity(idx.len());
    let mut full = Vec::with_capacity(idx.len());
    for i in &idx {
        let c = &ctx.state.checkpoints[*i];
        let mut head = vec![
            Span::styled(format!("#{} ", c.id), ctx.style("checkpoint.id")),
            Span::styled(c.stage.as_str().to_string(), ctx.style("checkpoint.stage")),
            Span::styled(" · ", ctx.style("ui.text.dim")),
        ];
        head.extend(confidence_spans(ctx, c.confidence));
        let head = Line::from(head);
        let summary = RichLine::plain(c.summary.clone(), "ui.text")
            .with_prefix(vec![RichSpan::new("  ", "ui.text")]);

        let mut lines = vec![head.clone()];
        lines.extend(wrap_lines(
            &[summary.clone().wrap(WrapMode::None)],
            ctx.theme,
            inner.width,
        ));
        compact.push(Row { lines });

        let mut detail = vec![summary];
        detail.extend(evidence_lines(&c.evidence));
        detail.push(RichLine::plain(
            format!("  {} tool calls so far", c.tool_calls),
            "ui.text.dim",
        ));
        let mut lines = vec![head];
        lines.extend(wrap_lines(&detail, ctx.theme, inner.width));
        full.push(Row { lines });
    }
    let rows = super::fit(compact, full, selected, usize::from(inner.height));
    render_rows(&rows, selected, ctx.style("ui.selection"), inner, buf);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(kind: EvidenceKind, r: &str) -> Evidence {
        Evidence {
            kind,
            reference: r.into(),
            detail: String::new(),
            call: None,
        }
    }

    #[test]
    fn file_regions_parse_from_references() {
        assert_eq!(
            file_region(&ev(EvidenceKind::File, "src/pay.rs:40-72")),
            Some(("src/pay.rs".into(), 40, 72))
        );
        assert_eq!(
            file_region(&ev(EvidenceKind::File, "src/pay.rs:9")),
            Some(("src/pay.rs".into(), 9, 9))
        );
        assert_eq!(
            file_region(&ev(EvidenceKind::File, "src/pay.rs")),
            Some(("src/pay.rs".into(), 1, 40))
        );
        assert_eq!(file_region(&ev(EvidenceKind::Commit, "abc123")), None);
    }
}
