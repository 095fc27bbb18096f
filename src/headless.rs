//! The same Events the TUI renders, printed as human text or as JSONL (one object per
//! line with a `type` field): `triage ask`, the headless demo and `triage sessions show`.

use std::io::Write;
use std::process::ExitCode;

use anyhow::Result;

use crate::agent::open::Opened;
use crate::agent::session;
use crate::protocol::{Decision, Event, Op, ToolStatus, TurnStatus, confidence_label};

/// Run one question through the session and print its Events until the turn ends; the
/// exit code says how it ended (0 answered, 3 out of budget, 1 otherwise).
pub async fn ask(opened: Opened, question: String, json: bool) -> Result<ExitCode> {
    let args = AskJson { json };
    let mut handle = session::start(opened.session)?;
    handle.ops.send(Op::Submit { text: question })?;
    // Logs, commit messages and model text never reach the terminal as escape sequences.
    let mut out = crate::term_safe::SafeWriter::new(std::io::stdout().lock());
    let mut status = None;
    let mut streamed = false;
    while let Some(ev) = handle.events.recv().await {
        if args.json {
            serde_json::to_writer(&mut out, &ev)?;
            writeln!(out)?;
        } else {
            print_human(&mut out, &ev, &mut streamed)?;
        }
        out.flush()?;
        if let Event::TurnComplete { status: s, .. } = &ev {
            status = Some(*s);
            break;
        }
    }
    let _ = handle.ops.send(Op::Shutdown);
    drop(opened.kubeconfig);
    if !args.json
        && let Some(p) = &handle.trace_path
    {
        writeln!(out, "\ntrace: {}", p.display())?;
    }
    drop(out);
    handle.join().await;
    Ok(match status {
        Some(TurnStatus::Answered) => ExitCode::SUCCESS,
        Some(TurnStatus::BudgetExhausted) => ExitCode::from(3),
        _ => ExitCode::FAILURE,
    })
}

struct AskJson {
    json: bool,
}

/// One event as a line or two of plain text.
pub fn print_human(out: &mut impl Write, ev: &Event, streamed: &mut bool) -> std::io::Result<()> {
    match ev {
        Event::SessionStarted {
            model,
            cluster,
            read_only,
            ..
        } => writeln!(
            out,
            "triage · model {} · cluster {} · {}",
            model.as_deref().unwrap_or("offline"),
            cluster.as_deref().unwrap_or("none"),
            if *read_only {
                "read-only"
            } else {
                "write mode"
            }
        ),
        Event::PlaybookChosen { playbook, reason } => {
            writeln!(out, "playbook {}: {reason}", playbook.as_str())
        }
        Event::TokenDelta { text } => {
            *streamed = true;
            write!(out, "{text}")
        }
        Event::MessageDone { text } => {
            if *streamed {
                *streamed = false;
                if text.ends_with('\n') {
                    Ok(())
                } else {
                    writeln!(out)
                }
            } else {
                writeln!(out, "{text}")
            }
        }
        Event::ToolCallStarted { command, .. } => writeln!(out, "  → {command}"),
        Event::ToolCallFinished {
            status,
            duration_ms,
            summary,
            truncated,
            ..
        } => writeln!(
            out,
            "    {} {} ({duration_ms} ms{})",
            match status {
                ToolStatus::Ok => "ok",
                ToolStatus::Error => "error:",
                ToolStatus::TimedOut => "timed out:",
                ToolStatus::Cancelled => "cancelled:",
            },
            summary.trim_start_matches("error: "),
            if *truncated { ", truncated" } else { "" }
        ),
        Event::CheckpointSaved { checkpoint: c } => writeln!(
            out,
            "  ◆ {} [{} {:.2}] {}",
            c.stage.as_str(),
            confidence_label(c.confidence),
            c.confidence,
            c.summary
        ),
        Event::Rewound { checkpoint } => writeln!(out, "  rewound to checkpoint {checkpoint}"),
        Event::Forked {
            checkpoint,
            kept_branch,
        } => writeln!(
            out,
            "  forked from checkpoint {checkpoint} (the previous branch is kept as branch {kept_branch})"
        ),
        Event::ActionProposed { .. } | Event::ActionDecided { .. } | Event::ActionOutput { .. } => {
            print_action(out, ev)
        }
        Event::MemoryHit { .. } | Event::MemoryProposed { .. } | Event::MemoryUpdated { .. } => {
            print_memory(out, ev)
        }
        Event::FeedbackQueued { text, .. } => writeln!(out, "  feedback queued: {text}"),
        Event::FeedbackApplied { id } => writeln!(out, "  feedback {id} applied"),
        Event::BudgetUpdate { .. } => Ok(()),
        Event::Error {
            kind,
            message,
            recoverable,
        } => writeln!(
            out,
            "  {} ({kind:?}): {message}",
            if *recoverable { "warning" } else { "error" }
        ),
        Event::Timeline { .. } => print_timeline(out, ev),
        Event::TurnComplete { .. } => print_turn_end(out, ev),
    }
}

/// The change timeline around the alert's start; `*` marks changes to the target or
/// what it depends on.
fn print_timeline(out: &mut impl Write, ev: &Event) -> std::io::Result<()> {
    let Event::Timeline { start, entries } = ev else {
        return Ok(());
    };
    writeln!(
        out,
        "  changes around the alert's start{}:",
        start
            .as_deref()
            .map(|s| format!(" ({s})"))
            .unwrap_or_default()
    )?;
    for e in entries {
        writeln!(
            out,
            "    {}{} {} {} — {}",
            if e.relevant { "*" } else { " " },
            e.at,
            e.kind,
            e.reference,
            e.what
        )?;
    }
    Ok(())
}

/// An action proposed, decided or run.
fn print_action(out: &mut impl Write, ev: &Event) -> std::io::Result<()> {
    match ev {
        Event::ActionProposed { action: a } => writeln!(
            out,
            "  ? action {} [{}] {}\n      why: {}{}",
            a.id,
            match a.class {
                crate::protocol::ActionClass::Read => "read",
                crate::protocol::ActionClass::Write => "WRITE",
            },
            a.command,
            a.rationale,
            if a.blocked_by_read_only {
                "\n      (read-only mode: approving will not run it)"
            } else {
                ""
            }
        ),
        Event::ActionDecided { action, decision } => writeln!(
            out,
            "  action {action}: {}",
            match decision {
                Decision::Approved { .. } => "approved".to_string(),
                Decision::Rejected { reason } => format!("rejected ({reason})"),
                Decision::Edited { replaced_by } => format!("edited, now action {replaced_by}"),
                Decision::Refused { why } => format!("refused: {why}"),
            }
        ),
        Event::ActionOutput {
            action,
            exit_code,
            stdout,
            stderr,
            ..
        } => writeln!(
            out,
            "  action {action} exited {}\n{stdout}{stderr}",
            exit_code.map_or("?".to_string(), |c| c.to_string())
        ),
        _ => Ok(()),
    }
}

/// A memory recalled, proposed or changed.
fn print_memory(out: &mut impl Write, ev: &Event) -> std::io::Result<()> {
    match ev {
        Event::MemoryHit {
            memory, score, why, ..
        } => {
            writeln!(out, "  memory {memory} ({score:.2}): {why}")
        }
        Event::MemoryProposed {
            memory,
            kind,
            text,
            scope,
            ..
        } => writeln!(
            out,
            "  memory proposed {memory} ({kind}, {scope}): {}\n    keep it: triage memory edit {memory} --status active",
            text.lines().next().unwrap_or("")
        ),
        Event::MemoryUpdated {
            memory,
            status,
            detail,
        } => writeln!(out, "  memory {memory} {status}: {detail}"),
        _ => Ok(()),
    }
}

/// How the turn ended, and with what confidence.
fn print_turn_end(out: &mut impl Write, ev: &Event) -> std::io::Result<()> {
    let Event::TurnComplete { status, answer } = ev else {
        return Ok(());
    };
    match answer {
        Some(a) => writeln!(
            out,
            "\n[{:?}] confidence {} ({:.2}), {} evidence items",
            status,
            confidence_label(a.confidence),
            a.confidence,
            a.evidence.len()
        ),
        None => writeln!(out, "\n[{status:?}] no answer"),
    }
}
