//! Rendering workloads for timing (a bench binary or a profiler calls these; the tests
//! only check they run). No timing assertions live here.

use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;

use crate::protocol::{Event, ToolStatus};
use crate::tui::{App, AppEvent, Keymap, StatusInfo, Theme};

/// An app whose transcript holds about `lines` rows of mixed content: Markdown answers
/// with code blocks and lists, and tool calls.
pub fn long_transcript_app(lines: usize) -> App {
    let mut app = App::new(
        Keymap::default_bundled(),
        Theme::bundled("dark", false).unwrap_or_default(),
        StatusInfo::default(),
    );
    let message = "## Finding\n\nThe **checkout-api** pods restart with `OOMKilled`:\n\n- `checkout-api-7d9f` restarted 12 times\n- memory limit 512Mi, peak 530Mi\n\n```rust\nlet limit = 512; // MiB\nif usage > limit { return Err(\"oom\") }\n```\n";
    // One tool call and one answer take 12 rows at 120 columns.
    let rows_per_round = 12;
    let mut i = 0;
    while i * rows_per_round < lines {
        app.handle_app_event(AppEvent::Agent(Event::ToolCallStarted {
            call: format!("c{i}"),
            tool: "kube_findings".into(),
            arguments: serde_json::json!({ "namespace": "shop" }),
            command: "triage kube findings -n shop".into(),
        }));
        app.handle_app_event(AppEvent::Agent(Event::ToolCallFinished {
            call: format!("c{i}"),
            tool: "kube_findings".into(),
            status: ToolStatus::Ok,
            duration_ms: 420,
            summary: "3 findings".into(),
            truncated: false,
        }));
        app.handle_app_event(AppEvent::Agent(Event::MessageDone {
            text: message.into(),
        }));
        i += 1;
    }
    app
}

/// Render `app` once at `width`×`height` and return the buffer.
pub fn render_once(app: &App, width: u16, height: u16) -> Buffer {
    let mut terminal = match Terminal::new(TestBackend::new(width, height)) {
        Ok(t) => t,
        Err(never) => match never {},
    };
    let _ = terminal.draw(|f| app.render(f));
    terminal.backend().buffer().clone()
}

/// The workload timed later: a 1,000-line transcript drawn at 120×40, following the
/// bottom and scrolled to the top (which lays out every row).
pub fn render_long_transcript() -> (Buffer, Buffer) {
    let mut app = long_transcript_app(1000);
    let bottom = render_once(&app, 120, 40);
    app.view.transcript_top = Some(0);
    let top = render_once(&app, 120, 40);
    (bottom, top)
}
