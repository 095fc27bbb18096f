//! A realistic incident, step by step: checkout-api answers 5xx since 14:05. The agent
//! scans the cluster, reads recent commits, searches the code, recalls the analytics
//! backfill memory, checkpoints a hypothesis and proposes a rollback.

use crate::protocol::{
    ActionClass, Answer, Budget, BudgetUsage, Checkpoint, Event, Evidence, EvidenceKind, Playbook,
    ProposedAction, Stage, ToolStatus, TurnStatus,
};
use crate::tui::state::{ClusterState, IndexState, StatusInfo};

pub const QUESTION: &str = "checkout-api 5xx since 14:05";

pub fn status() -> StatusInfo {
    StatusInfo {
        repo: Some("shop".into()),
        branch: Some("main".into()),
        index: IndexState::Ready {
            files: 1284,
            lexical_only: false,
        },
        cluster: ClusterState::Live {
            context: "prod-eu".into(),
            namespace: Some("shop".into()),
        },
        model: Some("gpt-4.1".into()),
        read_only: true,
    }
}

pub fn session_started() -> Event {
    Event::SessionStarted {
        session: "s-20250114-1407".into(),
        repo: Some("/home/oncall/src/shop".into()),
        model: Some("gpt-4.1".into()),
        cluster: Some("prod-eu".into()),
        namespace: Some("shop".into()),
        read_only: true,
        budget: Budget {
            tokens: 200_000,
            tool_calls: 40,
            wall_secs: 600,
        },
    }
}

pub fn budget(tokens: u64, calls: u32) -> Event {
    Event::BudgetUpdate {
        used: BudgetUsage {
            prompt_tokens: tokens * 4 / 5,
            completion_tokens: tokens / 5,
            estimated: false,
            tool_calls: calls,
            wall_ms: u64::from(calls) * 1500,
        },
        limit: Budget {
            tokens: 200_000,
            tool_calls: 40,
            wall_secs: 600,
        },
    }
}

pub fn playbook() -> Event {
    Event::PlaybookChosen {
        playbook: Playbook::Incident,
        reason: "names a service and a start time".into(),
    }
}

pub fn tool_started(call: &str, tool: &str, args: serde_json::Value, command: &str) -> Event {
    Event::ToolCallStarted {
        call: call.into(),
        tool: tool.into(),
        arguments: args,
        command: command.into(),
    }
}

pub fn tool_finished(call: &str, tool: &str, status: ToolStatus, ms: u64, summary: &str) -> Event {
    Event::ToolCallFinished {
        call: call.into(),
        tool: tool.into(),
        status,
        duration_ms: ms,
        summary: summary.into(),
        truncated: false,
    }
}

pub fn kube_findings_started() -> Event {
    tool_started(
        "c1",
        "kube_findings",
        serde_json::json!({ "namespace": "shop" }),
        "triage kube findings -n shop",
    )
}

pub fn kube_findings_finished() -> Event {
    tool_finished(
        "c1",
        "kube_findings",
        ToolStatus::Ok,
        1240,
        "3 findings: checkout-api 5/6 Ready, orders-db CPU throttled, CronJob analytics-backfill running",
    )
}

pub fn git_log() -> [Event; 2] {
    [
        tool_started(
            "c2",
            "git_log",
            serde_json::json!({ "paths": ["services/checkout"], "since": "2d" }),
            "git log --since=2.days -- services/checkout",
        ),
        tool_finished(
            "c2",
            "git_log",
            ToolStatus::Ok,
            310,
            "4 commits; last 9f3c2a1 at 13:58 'bump pool size'",
        ),
    ]
}

pub fn search_code() -> [Event; 2] {
    [
        tool_started(
            "c3",
            "search_code",
            serde_json::json!({ "query": "orders-db connection pool timeout" }),
            "triage search \"orders-db connection pool timeout\"",
        ),
        tool_finished(
            "c3",
            "search_code",
            ToolStatus::Ok,
            680,
            "6 hits; top services/checkout/src/db.rs:40-72 (pool config)",
        ),
    ]
}

pub fn memory_hit() -> Event {
    Event::MemoryHit {
        memory: "5xx on checkout around 14:00 is the analytics backfill saturating orders-db; verify the CronJob before rolling back".into(),
        kind: "correction".into(),
        score: 0.86,
        why: "scope service=checkout-api, ns=shop; words 5xx, backfill".into(),
        used: true,
    }
}

pub const ANSWER_PART1: &str = "## What I see\n\nSince **14:05** `checkout-api` returns 5xx. ";
pub const ANSWER_PART2: &str = "Two things changed around then:\n\n- commit `9f3c2a1` (13:58) raised the DB pool from 20 to 80\n- the CronJob `analytics-backfill` started at 14:00\n";
pub const ANSWER_PART3: &str = "\nThe pods time out on `orders-db`:\n\n```rust\nlet pool = PgPoolOptions::new()\n    .max_connections(80) // was 20\n    .acquire_timeout(Duration::from_secs(2));\n```\n\nBoth load the same database, so I checked the backfill first (past incidents point there).";

pub fn checkpoint_scope() -> Event {
    Event::CheckpointSaved {
        checkpoint: Checkpoint {
            id: 1,
            stage: Stage::ScopeFound,
            summary: "checkout-api in shop: 1 of 6 pods not Ready, 5xx since 14:05".into(),
            confidence: 0.55,
            evidence: vec![Evidence {
                kind: EvidenceKind::Finding,
                reference: "Deployment/shop/checkout-api".into(),
                detail: "5/6 Ready".into(),
                call: Some("c1".into()),
            }],
            tool_calls: 1,
        },
    }
}

pub fn checkpoint_hypothesis() -> Event {
    Event::CheckpointSaved {
        checkpoint: Checkpoint {
            id: 2,
            stage: Stage::Hypothesis,
            summary:
                "The pool bump in 9f3c2a1 exhausts orders-db connections while the backfill runs"
                    .into(),
            confidence: 0.78,
            evidence: vec![
                Evidence {
                    kind: EvidenceKind::Commit,
                    reference: "9f3c2a1".into(),
                    detail: "max_connections 20 → 80".into(),
                    call: Some("c2".into()),
                },
                Evidence {
                    kind: EvidenceKind::File,
                    reference: "services/checkout/src/db.rs:40-72".into(),
                    detail: "pool config".into(),
                    call: Some("c3".into()),
                },
                Evidence {
                    kind: EvidenceKind::Memory,
                    reference: "mem-backfill-17".into(),
                    detail: "analytics backfill saturates orders-db".into(),
                    call: None,
                },
            ],
            tool_calls: 3,
        },
    }
}

pub fn rollback_proposed() -> Event {
    Event::ActionProposed {
        action: ProposedAction {
            id: 1,
            command: "kubectl rollout undo deploy/checkout-api -n shop".into(),
            class: ActionClass::Write,
            class_reason: "rollout undo changes a Deployment".into(),
            rationale: "Rolls back to the image before 9f3c2a1 (pool size 20), which ran without errors alongside earlier backfills.".into(),
            blocked_by_read_only: true,
            refused: None,
            family: String::new(),
            preapproved_by: None,
        },
    }
}

pub fn turn_complete() -> Event {
    Event::TurnComplete {
        status: TurnStatus::Answered,
        answer: Some(Answer {
            text: String::new(),
            confidence: 0.78,
            evidence: vec![
                Evidence {
                    kind: EvidenceKind::Commit,
                    reference: "9f3c2a1".into(),
                    detail: "pool 20 → 80".into(),
                    call: Some("c2".into()),
                },
                Evidence {
                    kind: EvidenceKind::File,
                    reference: "services/checkout/src/db.rs:40-72".into(),
                    detail: "pool config".into(),
                    call: Some("c3".into()),
                },
            ],
            memories: vec!["mem-backfill-17".into()],
        }),
    }
}

/// The region the preview shows for `services/checkout/src/db.rs:40-72`.
pub fn db_rs_region() -> String {
    let mut lines: Vec<String> = (38..=76)
        .map(|n| match n {
            40 => "pub async fn connect(cfg: &DbConfig) -> Result<PgPool, DbError> {".into(),
            41 => "    // Sized for peak checkout traffic (see incident 2024-11-02).".into(),
            42 => "    let pool = PgPoolOptions::new()".into(),
            43 => "        .max_connections(80)".into(),
            44 => "        .acquire_timeout(Duration::from_secs(2))".into(),
            45 => "        .connect(&cfg.url)".into(),
            46 => "        .await?;".into(),
            47 => "    Ok(pool)".into(),
            48 => "}".into(),
            n => format!("// line {n}"),
        })
        .collect();
    lines.truncate(39);
    lines.join("\n")
}

pub fn correction_proposed() -> Event {
    Event::MemoryProposed {
        memory: "m-1a2b3c4d".into(),
        kind: "correction".into(),
        text: "backfill is the cause; pausing the CronJob instead".into(),
        scope: "service=orders-worker namespace=shop".into(),
        source: "user: rejected `kubectl rollout undo deployment/orders-worker -n shop`".into(),
    }
}

/// The changes the diagnosis weighed, around the alert's start (14:05).
pub fn timeline() -> Event {
    let entry = |at: &str, kind: &str, reference: &str, what: &str, relevant: bool| {
        crate::protocol::TimelineEntry {
            at: at.into(),
            kind: kind.into(),
            reference: reference.into(),
            what: what.into(),
            relevant,
        }
    };
    Event::Timeline {
        start: Some("2025-01-14T14:05:00Z".into()),
        entries: vec![
            entry(
                "2025-01-13T17:00:00Z",
                "job",
                "Job/shop/analytics-backfill-2901",
                "Job started",
                false,
            ),
            entry(
                "2025-01-14T13:58:00Z",
                "commit",
                "9f3c2a1",
                "bump pool size (dana)",
                true,
            ),
            entry(
                "2025-01-14T14:00:00Z",
                "job",
                "Job/shop/analytics-backfill-2902",
                "Job started",
                true,
            ),
            entry(
                "2025-01-14T14:02:00Z",
                "rollout",
                "Deployment/shop/checkout-api",
                "revision 12 (checkout-api-6d8f) created: checkout-api:2.4.1; now 5 of 6 ready",
                true,
            ),
            entry(
                "2025-01-14T14:06:00Z",
                "first warning",
                "Pod/shop/checkout-api-6d8f-x2",
                "Unhealthy: Readiness probe failed: HTTP probe failed with statuscode: 503",
                true,
            ),
        ],
    }
}
