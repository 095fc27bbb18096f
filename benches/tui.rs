//! TUI measurements: render time per frame at 120×40 with a 1,000-line transcript, and
//! whether keys typed while 200 agent events a second stream in all arrive.
//!
//! `cargo bench --bench tui` (release); results are quoted in the README.

// A measurement harness: a failed setup step may panic.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use crossterm::event::{Event as TermEvent, KeyCode, KeyEvent, KeyModifiers};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use triage::protocol::{Event, ToolStatus};
use triage::tui::bench::{long_transcript_app, render_once};
use triage::tui::{App, AppEvent, Keymap, StatusInfo, Theme};

fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

fn render_bench() {
    let mut app = long_transcript_app(1000);
    for (label, top) in [
        ("following the bottom", None),
        ("scrolled to the top", Some(0)),
    ] {
        app.view.transcript_top = top;
        let _ = render_once(&app, 120, 40);
        let mut times: Vec<f64> = (0..300)
            .map(|_| {
                let t = Instant::now();
                let _ = render_once(&app, 120, 40);
                t.elapsed().as_secs_f64() * 1000.0
            })
            .collect();
        times.sort_by(f64::total_cmp);
        println!(
            "render 120x40, 1,000-line transcript, {label}: p50 {:.3} ms, p95 {:.3} ms, max {:.3} ms",
            percentile(&times, 0.5),
            percentile(&times, 0.95),
            times[times.len() - 1]
        );
    }
}

async fn keys_under_load() {
    let mut app = App::new(
        Keymap::default_bundled(),
        Theme::bundled("default", false).unwrap_or_default(),
        StatusInfo::default(),
    );
    let mut terminal = Terminal::new(TestBackend::new(120, 40)).expect("test backend");
    let typed: String = "checkout-api 5xx since 14:05 and the orders queue is lagging "
        .repeat(6)
        .chars()
        .take(300)
        .collect();
    let (ev_tx, ev_rx) = tokio::sync::mpsc::channel(8192);
    let (op_tx, mut op_rx) = tokio::sync::mpsc::channel(1024);
    let (req_tx, _req_rx) = tokio::sync::mpsc::channel(64);
    tokio::spawn(async move { while op_rx.recv().await.is_some() {} });
    // 200 events a second for the whole typing time: tool calls and streamed tokens.
    let producer = tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_millis(5));
        let mut sent = 0u64;
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(4) {
            tick.tick().await;
            let ev = match sent % 3 {
                0 => Event::ToolCallStarted {
                    call: format!("c{sent}"),
                    tool: "kube_logs".into(),
                    arguments: serde_json::json!({"pod": "checkout-api-7c9d6f5b8-k2x9p"}),
                    command: "kubectl logs checkout-api-7c9d6f5b8-k2x9p".into(),
                },
                1 => Event::ToolCallFinished {
                    call: format!("c{}", sent - 1),
                    tool: "kube_logs".into(),
                    status: ToolStatus::Ok,
                    duration_ms: 3,
                    summary: "11 log lines".into(),
                    truncated: false,
                },
                _ => Event::TokenDelta {
                    text: "the rollout of 1.4.3 ".into(),
                },
            };
            if ev_tx.send(AppEvent::Agent(ev)).await.is_err() {
                break;
            }
            sent += 1;
        }
        sent
    });
    // Keys at 100 a second, interleaved with the events.
    let keys: Vec<std::io::Result<TermEvent>> = typed
        .chars()
        .map(|c| {
            Ok(TermEvent::Key(KeyEvent::new(
                KeyCode::Char(c),
                KeyModifiers::NONE,
            )))
        })
        .collect();
    let input = futures::stream::unfold(keys.into_iter(), |mut it| async move {
        tokio::time::sleep(Duration::from_millis(10)).await;
        it.next().map(|k| (k, it))
    });
    let input = Box::pin(input);
    let started = Instant::now();
    let (ok, sent) = tokio::join!(
        triage::tui::run_with_input(&mut terminal, &mut app, input, ev_rx, op_tx, req_tx),
        producer
    );
    let (ok, sent) = (ok.is_ok(), sent.unwrap_or(0));
    let composer = app.composer_text().to_string();
    let elapsed = started.elapsed().as_secs_f64();
    println!(
        "keys under load: {} of {} keys arrived in order while {sent} events streamed ({:.0}/s); run loop ok: {ok}",
        if composer == typed {
            typed.chars().count()
        } else {
            common_prefix(&composer, &typed)
        },
        typed.chars().count(),
        sent as f64 / elapsed.max(4.0),
    );
}

fn common_prefix(a: &str, b: &str) -> usize {
    a.chars().zip(b.chars()).take_while(|(x, y)| x == y).count()
}

fn main() {
    render_bench();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(keys_under_load());
}
