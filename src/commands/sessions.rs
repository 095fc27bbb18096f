//! `triage sessions list | show | export`: past sessions and their lineage.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};

use super::args::{SessionsArgs, SessionsCommand};

pub fn run(args: &SessionsArgs) -> Result<ExitCode> {
    let dir: PathBuf = crate::trace::sessions_dir()?;
    let mut out = crate::term_safe::SafeWriter::new(std::io::stdout().lock());
    match &args.command {
        SessionsCommand::List { json } => {
            let sessions = crate::trace::list(&dir)?;
            if *json {
                serde_json::to_writer_pretty(&mut out, &sessions)?;
                writeln!(out)?;
            } else if sessions.is_empty() {
                writeln!(out, "no sessions in {}", dir.display())?;
            } else {
                for s in sessions {
                    writeln!(
                        out,
                        "{}  {:<10} {:<8} {}{}",
                        s.id,
                        s.status.as_deref().unwrap_or("-"),
                        s.model.as_deref().unwrap_or("offline"),
                        s.watch
                            .as_deref()
                            .map(|w| format!("[watch: {w}] "))
                            .unwrap_or_default(),
                        s.first_request.as_deref().unwrap_or("")
                    )?;
                }
            }
        }
        SessionsCommand::Show { id } => {
            let path = crate::trace::find(&dir, id)?;
            let records = crate::trace::read_records(&path)
                .with_context(|| format!("reading {}", path.display()))?;
            let mut streamed = false;
            for r in records {
                match r.body {
                    crate::trace::RecordBody::Event { event } => {
                        crate::headless::print_human(&mut out, &event, &mut streamed)?
                    }
                    crate::trace::RecordBody::Op { op } => {
                        writeln!(out, "{} > {}", r.t, serde_json::to_string(&op)?)?
                    }
                    crate::trace::RecordBody::Meta {
                        session,
                        repo,
                        model,
                        index,
                        config_digest,
                        ..
                    } => writeln!(
                        out,
                        "session {session} · repo {} · model {} · index {index} · config {config_digest}",
                        repo.as_deref().unwrap_or("-"),
                        model.as_deref().unwrap_or("offline"),
                    )?,
                    crate::trace::RecordBody::LlmRequest {
                        model, messages, ..
                    } => writeln!(
                        out,
                        "  [llm request to {model}: {} messages]",
                        messages.as_array().map_or(0, Vec::len)
                    )?,
                    crate::trace::RecordBody::LlmResponse {
                        prompt_tokens,
                        completion_tokens,
                        ..
                    } => writeln!(
                        out,
                        "  [llm response: {prompt_tokens}+{completion_tokens} tokens]"
                    )?,
                    crate::trace::RecordBody::ToolIo { .. } => {}
                    crate::trace::RecordBody::Watch { .. } => print_watch(&mut out, &r.body)?,
                }
            }
        }
        SessionsCommand::Export { id } => {
            let path = crate::trace::find(&dir, id)?;
            let text = std::fs::read_to_string(&path)
                .with_context(|| format!("reading {}", path.display()))?;
            out.write_all(text.as_bytes())?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// What `triage watch` did with a session's answer.
fn print_watch(out: &mut impl Write, body: &crate::trace::RecordBody) -> std::io::Result<()> {
    let crate::trace::RecordBody::Watch {
        investigation,
        outcome,
        confidence,
        threshold,
        reason,
        ..
    } = body
    else {
        return Ok(());
    };
    writeln!(
        out,
        "watch {investigation}: {outcome} (confidence {}, threshold {threshold:.2}): {reason}",
        confidence.map_or("-".to_string(), |c| format!("{c:.2}"))
    )
}
