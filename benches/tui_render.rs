//! Drawing the TUI at 120×40 with a 1,000-row transcript (Markdown answers with lists and
//! code blocks, and tool calls), in the two cases that matter: following new output (only
//! the newest rows are laid out) and scrolled to the top (every row is laid out). Prints
//! the median frame time of each; a frame budget at 60 fps is 16 ms.
//!
//! Run: `cargo bench --bench tui_render` (add `--profile dev` to reuse the debug build).

use std::time::{Duration, Instant};

use triage::tui::bench::{long_transcript_app, render_once};

fn median(mut runs: Vec<Duration>) -> Duration {
    runs.sort();
    runs[runs.len() / 2]
}

fn time(mut f: impl FnMut()) -> Duration {
    let runs = (0..31)
        .map(|_| {
            let start = Instant::now();
            f();
            start.elapsed()
        })
        .collect();
    median(runs)
}

fn main() {
    let mut app = long_transcript_app(1000);
    let follow = time(|| {
        render_once(&app, 120, 40);
    });
    app.view.transcript_top = Some(0);
    let top = time(|| {
        render_once(&app, 120, 40);
    });
    println!("tui render 120x40, 1000-row transcript, following: {follow:?} (median of 31)");
    println!("tui render 120x40, 1000-row transcript, scrolled to top: {top:?} (median of 31)");
}
