//! The last line: mode (READ-ONLY or WRITE), run state, cluster, repo and branch, model,
//! budget and index. When the line is too narrow the least urgent parts go first; the
//! mode badge never does.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Widget;
use unicode_width::UnicodeWidthStr;

use super::{Ctx, SPINNER, format_count};
use crate::protocol::TurnStatus;
use crate::tui::keymap::{Action, Context};
use crate::tui::state::{ClusterState, IndexState, NoticeLevel, RunState};
use crate::tui::widgets::rich::truncate;

struct Segment {
    spans: Vec<Span<'static>>,
    /// Lower stays longer.
    priority: u8,
}

impl Segment {
    fn width(&self) -> usize {
        self.spans.iter().map(|s| s.content.width()).sum()
    }
}

fn seg(ctx: &Ctx, text: String, scope: &str, priority: u8) -> Segment {
    Segment {
        spans: vec![Span::styled(text, ctx.style(scope))],
        priority,
    }
}

#[allow(clippy::too_many_lines)] // one segment per status field, in display order
fn segments(ctx: &Ctx) -> Vec<Segment> {
    let st = &ctx.state.status;
    let mut out = Vec::new();

    let mode = if st.read_only {
        seg(ctx, " READ-ONLY ".into(), "ui.statusline.mode.read", 0)
    } else {
        seg(ctx, " WRITE ".into(), "ui.statusline.mode.write", 0)
    };
    out.push(mode);

    let run = match ctx.state.run {
        RunState::Running if ctx.state.tool_running() => (
            format!("{} running", SPINNER[ctx.state.spinner % SPINNER.len()]),
            "ui.statusline.run.active",
        ),
        RunState::Running => ("● running".into(), "ui.statusline.run.active"),
        RunState::Idle => ("idle".into(), "ui.statusline.run.idle"),
        RunState::Stopped(TurnStatus::BudgetExhausted) => {
            let key = ctx
                .keymap
                .hint(&[Context::Global], Action::ContinueRun)
                .map(|k| format!(" · {k} continues"))
                .unwrap_or_default();
            (format!("budget spent{key}"), "ui.statusline.run.stopped")
        }
        RunState::Stopped(TurnStatus::Cancelled) => {
            ("cancelled".into(), "ui.statusline.run.stopped")
        }
        RunState::Stopped(TurnStatus::Failed) => ("failed".into(), "ui.statusline.error"),
        RunState::Stopped(TurnStatus::Answered) => ("idle".into(), "ui.statusline.run.idle"),
    };
    out.push(seg(ctx, run.0, run.1, 1));

    let pending = ctx.state.pending_actions().count();
    if pending > 0 {
        let key = ctx
            .keymap
            .hint(&[Context::Global], Action::Decide)
            .map(|k| format!(" ({k})"))
            .unwrap_or_default();
        out.push(seg(
            ctx,
            format!(
                "{pending} action{} to decide{key}",
                if pending == 1 { "" } else { "s" }
            ),
            "action.pending",
            1,
        ));
    }

    let cluster = match &st.cluster {
        ClusterState::Live { context, namespace } => (
            match namespace {
                Some(ns) => format!("⎈ {context}/{ns}"),
                None => format!("⎈ {context}"),
            },
            "ui.statusline",
        ),
        ClusterState::Replay { file } => {
            let name = file.rsplit('/').next().unwrap_or(file);
            (format!("⎈ replay {name}"), "ui.statusline.warning")
        }
        ClusterState::Unreachable { context, .. } => (
            format!("⎈ {context} unreachable"),
            "ui.statusline.unavailable",
        ),
        ClusterState::None => ("⎈ no cluster".into(), "ui.statusline.unavailable"),
    };
    out.push(seg(ctx, cluster.0, cluster.1, 2));

    if let Some(repo) = &st.repo {
        let text = match &st.branch {
            Some(b) => format!("{repo}@{b}"),
            None => repo.clone(),
        };
        out.push(seg(ctx, text, "ui.statusline", 3));
    }

    let model = match &st.model {
        Some(m) => (m.clone(), "ui.statusline"),
        None => ("offline planner".into(), "ui.statusline.unavailable"),
    };
    out.push(seg(ctx, model.0, model.1, 3));

    if let Some(limit) = ctx.state.budget_limit {
        let used = ctx.state.budget_used;
        let approx = if used.estimated { "~" } else { "" };
        out.push(seg(
            ctx,
            format!(
                "{approx}{}/{} tok · {}/{} calls",
                format_count(used.tokens()),
                format_count(limit.tokens),
                used.tool_calls,
                limit.tool_calls
            ),
            "ui.statusline",
            4,
        ));
    }

    let index = match &st.index {
        IndexState::Unknown => None,
        IndexState::Missing => Some(("no index".to_string(), "ui.statusline.unavailable")),
        IndexState::Building { percent: Some(p) } => {
            Some((format!("indexing {p}%"), "ui.statusline.warning"))
        }
        IndexState::Building { percent: None } => {
            Some(("indexing…".to_string(), "ui.statusline.warning"))
        }
        IndexState::Ready {
            files,
            lexical_only,
        } => Some((
            format!(
                "index {} files{}",
                format_count(*files as u64),
                if *lexical_only { " (text only)" } else { "" }
            ),
            "ui.statusline",
        )),
        IndexState::Stale => Some(("index stale".to_string(), "ui.statusline.warning")),
    };
    if let Some((text, scope)) = index {
        out.push(seg(ctx, text, scope, 5));
    }

    if let Some(k) = ctx.keymap.hint(&[Context::Global], Action::Help) {
        out.push(Segment {
            spans: vec![
                Span::styled(k, ctx.style("ui.hint.key")),
                Span::styled(" help", ctx.style("ui.hint")),
            ],
            priority: 6,
        });
    }
    out
}

const SEP: &str = " │ ";

pub fn render(ctx: &Ctx, area: Rect, buf: &mut Buffer) {
    if area.width == 0 || area.height == 0 {
        return;
    }
    let width = usize::from(area.width);
    buf.set_style(area, ctx.style("ui.statusline"));
    let mut segs = segments(ctx);

    // A notice replaces everything but the mode and run state until the next key.
    if let Some(n) = &ctx.state.notice {
        segs.retain(|s| s.priority <= 1);
        let used: usize = segs.iter().map(|s| s.width() + SEP.width()).sum();
        let scope = match n.level {
            NoticeLevel::Info => "ui.statusline.notice",
            NoticeLevel::Warning => "ui.statusline.warning",
            NoticeLevel::Error => "ui.statusline.error",
        };
        let room = width.saturating_sub(used + 1);
        segs.push(seg(ctx, truncate(&n.text, room), scope, 1));
    }

    let total = |segs: &[Segment]| -> usize {
        segs.iter().map(Segment::width).sum::<usize>() + SEP.width() * segs.len().saturating_sub(1)
    };
    while total(&segs) > width {
        let Some(worst) = segs.iter().map(|s| s.priority).max() else {
            break;
        };
        if worst == 0 {
            break;
        }
        match segs.iter().rposition(|s| s.priority == worst) {
            Some(i) => {
                segs.remove(i);
            }
            None => break,
        }
    }
    let mut spans = Vec::new();
    for (i, s) in segs.into_iter().enumerate() {
        if i > 0 {
            spans.push(Span::styled(SEP, ctx.style("ui.statusline.separator")));
        }
        spans.extend(s.spans);
    }
    Line::from(spans).render(area, buf);
}
