//! One background investigation: a session like `ask`'s (the same planner or model, the
//! same tools, trace and memory), read-only, within its share of the daily budget.

use std::path::PathBuf;

use anyhow::Result;

use crate::agent::session::{self, SessionConfig};
use crate::protocol::{Answer, BudgetUsage, Event, Op, TurnStatus};

use super::queue::Allowance;

/// What every background session is made of: a resolved session's configuration, each
/// investigation started from a copy.
#[derive(Clone)]
pub struct SessionBase {
    pub session: SessionConfig,
}

impl SessionBase {
    /// Take what a resolved session would run with.
    pub fn from_session(session: SessionConfig) -> Self {
        Self { session }
    }

    /// A session's configuration: read-only whatever the config says (nobody is there to
    /// approve anything), and a budget no larger than what today has left.
    pub fn session(&self, allowance: Allowance) -> SessionConfig {
        let mut session = self.session.clone();
        let agent = &mut session.config.config.agent;
        agent.read_only = true;
        agent.max_tokens = agent.max_tokens.min(allowance.tokens);
        agent.max_tool_calls = agent.max_tool_calls.min(allowance.tool_calls);
        session
    }
}

/// How a background investigation ended.
#[derive(Debug, Clone)]
pub struct Finished {
    pub session: String,
    pub trace: Option<PathBuf>,
    pub status: Option<TurnStatus>,
    pub answer: Option<Answer>,
    pub usage: BudgetUsage,
}

/// Run one investigation to its end. `started` is called with the session id as soon as
/// the session exists.
pub async fn investigate(
    base: &SessionBase,
    allowance: Allowance,
    request: String,
    started: impl FnOnce(&str),
) -> Result<Finished> {
    let mut handle = session::start(base.session(allowance))?;
    started(&handle.id);
    handle.ops.send(Op::Submit { text: request })?;
    let mut finished = Finished {
        session: handle.id.clone(),
        trace: handle.trace_path.clone(),
        status: None,
        answer: None,
        usage: BudgetUsage::default(),
    };
    while let Some(ev) = handle.events.recv().await {
        match ev {
            Event::BudgetUpdate { used, .. } => finished.usage = used,
            Event::TurnComplete { status, answer } => {
                finished.status = Some(status);
                finished.answer = answer;
                break;
            }
            _ => {}
        }
    }
    let _ = handle.ops.send(Op::Shutdown);
    handle.join().await;
    Ok(finished)
}

/// The answer's heading: its first non-empty line without Markdown marks.
pub fn heading(answer: &Answer) -> String {
    answer
        .text
        .lines()
        .map(|l| {
            l.trim()
                .trim_start_matches('#')
                .trim()
                .trim_matches('*')
                .trim()
        })
        .find(|l| !l.is_empty())
        .unwrap_or("")
        .chars()
        .take(200)
        .collect()
}
