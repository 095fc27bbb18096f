//! The coordinator: alerts in, investigations queued and run within the budgets, and
//! each answer sent or kept quiet by its threshold. One task owns the state; the
//! receiver and the investigations talk to it over channels.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::mpsc;

use super::alert::{self, WebhookPayload};
use super::events::{EventSink, WatchEvent};
use super::groups::{Change, Groups, Phase, severity_rank};
use super::investigate::{Finished, SessionBase, heading, investigate};
use super::notify::{self, AlertRef, Links, Notification, Webhook};
use super::queue::{DailyBudget, DailyLimits, Pushed, Queue};
use super::routes::{Threshold, threshold_for};
use crate::config::watch::Route;
use crate::llm::redact::Redactor;
use crate::protocol::TurnStatus;

/// How the coordinator decides and where answers go.
#[derive(Debug, Clone)]
pub struct Options {
    pub threshold: f32,
    pub routes: Vec<Route>,
    pub webhooks: Vec<Webhook>,
    pub command: Vec<String>,
    pub session_url: Option<String>,
    pub concurrency: usize,
    pub queue_max: usize,
    pub limits: DailyLimits,
    pub budget_path: Option<PathBuf>,
    pub stale_after: Duration,
    pub reopen_within_secs: u64,
}

/// A message from an investigation task.
#[derive(Debug)]
pub enum Msg {
    Started {
        investigation: String,
        session: String,
    },
    Finished {
        investigation: String,
        result: Result<Finished, String>,
    },
}

/// The state the coordinator owns.
pub struct Coordinator {
    groups: Groups,
    queue: Queue,
    budget: DailyBudget,
    running: usize,
    queued_at: HashMap<String, Instant>,
    events: Arc<EventSink>,
    opts: Arc<Options>,
    base: Arc<SessionBase>,
    http: reqwest::Client,
    redactor: Arc<Redactor>,
    msgs: mpsc::UnboundedSender<Msg>,
}

impl Coordinator {
    pub fn new(
        opts: Options,
        base: SessionBase,
        events: Arc<EventSink>,
        msgs: mpsc::UnboundedSender<Msg>,
    ) -> anyhow::Result<Self> {
        let redactor = Redactor::from_env(&base.session.config.config.agent)?;
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(5))
            .timeout(Duration::from_secs(15))
            .build()?;
        Ok(Self {
            groups: Groups::new(opts.reopen_within_secs),
            queue: Queue::new(opts.queue_max),
            budget: DailyBudget::new(opts.limits, opts.budget_path.clone()),
            running: 0,
            queued_at: HashMap::new(),
            events,
            opts: Arc::new(opts),
            base: Arc::new(base),
            http,
            redactor: Arc::new(redactor),
            msgs,
        })
    }

    /// Run until `inbound` closes or `stop` fires; what is still queued then is recorded
    /// as not investigated.
    pub async fn run(
        mut self,
        mut inbound: mpsc::UnboundedReceiver<WebhookPayload>,
        mut msgs: mpsc::UnboundedReceiver<Msg>,
        stop: tokio_util::sync::CancellationToken,
    ) {
        loop {
            tokio::select! {
                p = inbound.recv() => match p {
                    Some(p) => self.payload(&p),
                    None => break,
                },
                Some(m) = msgs.recv() => self.message(m),
                _ = stop.cancelled() => break,
            }
        }
        for id in self.queue.drain() {
            self.quiet(
                &id,
                None,
                None,
                "triage watch stopped before it ran".into(),
                None,
            );
        }
    }

    fn payload(&mut self, p: &WebhookPayload) {
        let changes = self.groups.receive(p, chrono::Utc::now());
        for a in &p.alerts {
            let fp = a.identity();
            self.events.emit(WatchEvent::AlertReceived {
                group_key: p.group_key.clone(),
                fingerprint: fp.clone(),
                alertname: a.name().to_string(),
                status: a.status.as_str().to_string(),
                investigation: self.groups.of_alert(&p.group_key, &fp),
            });
        }
        for c in changes {
            self.change(c);
        }
        self.pump();
    }

    fn change(&mut self, c: Change) {
        match c {
            Change::Opened { investigation } => self.enqueue(&investigation),
            Change::Joined {
                investigation,
                fingerprint,
                reason,
            } => self.events.emit(WatchEvent::InvestigationJoined {
                investigation,
                fingerprint,
                reason: serde_json::to_value(reason)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_string))
                    .unwrap_or_default(),
            }),
            Change::Closed {
                investigation,
                note,
            } => {
                if self.queue.remove(&investigation) {
                    self.quiet(
                        &investigation,
                        None,
                        None,
                        "resolved before it was investigated".into(),
                        None,
                    );
                }
                self.events.emit(WatchEvent::InvestigationClosed {
                    investigation,
                    note,
                });
            }
            Change::AlertResolved { .. } | Change::Ignored { .. } => {}
        }
    }

    fn enqueue(&mut self, id: &str) {
        let Some(inv) = self.groups.get(id) else {
            return;
        };
        let rank = severity_rank(inv.lead().and_then(|a| a.severity()));
        let request = alert::request_text(&inv.firing());
        let group_key = inv.group_key.clone();
        let (position, skipped) = match self.queue.push(id, rank) {
            Pushed::At(p) => (Some(p), None),
            Pushed::Overflow { skipped, position } => (position, Some(skipped)),
        };
        if let Some(position) = position {
            self.queued_at.insert(id.to_string(), Instant::now());
            self.events.emit(WatchEvent::InvestigationQueued {
                investigation: id.to_string(),
                group_key,
                request,
                position,
                queued: self.queue.len(),
                running: self.running,
            });
        }
        if let Some(skipped) = skipped {
            let reason = format!(
                "the queue was full ({} waiting, watch.queue_max) and this was the least urgent",
                self.queue.len()
            );
            self.quiet(&skipped, None, None, reason, None);
        }
    }

    /// Start queued investigations while there are free slots and budget.
    fn pump(&mut self) {
        while self.running < self.opts.concurrency {
            let Some(id) = self.queue.pop() else { break };
            let Some(inv) = self.groups.get(&id).filter(|i| i.is_open()) else {
                continue;
            };
            let request = alert::request_text(&inv.firing());
            let allowance = match self.budget.start(chrono::Utc::now().date_naive()) {
                Ok(a) => a,
                Err(reason) => {
                    self.quiet(&id, None, None, reason, None);
                    continue;
                }
            };
            if let Some(inv) = self.groups.get_mut(&id) {
                inv.phase = Phase::Running {
                    session: String::new(),
                };
            }
            self.running += 1;
            let waited_ms = self
                .queued_at
                .remove(&id)
                .map_or(0, |t| t.elapsed().as_millis() as u64);
            let (base, events, msgs) = (self.base.clone(), self.events.clone(), self.msgs.clone());
            tokio::spawn(async move {
                let started = |session: &str| {
                    let _ = msgs.send(Msg::Started {
                        investigation: id.clone(),
                        session: session.to_string(),
                    });
                    events.emit(WatchEvent::InvestigationStarted {
                        investigation: id.clone(),
                        session: session.to_string(),
                        request: request.clone(),
                        waited_ms,
                    });
                };
                let result = investigate(&base, allowance, request.clone(), started)
                    .await
                    .map_err(|e| format!("{e:#}"));
                let _ = msgs.send(Msg::Finished {
                    investigation: id,
                    result,
                });
            });
        }
    }

    fn message(&mut self, m: Msg) {
        match m {
            Msg::Started {
                investigation,
                session,
            } => {
                if let Some(inv) = self.groups.get_mut(&investigation)
                    && matches!(inv.phase, Phase::Running { .. })
                {
                    inv.phase = Phase::Running { session };
                }
            }
            Msg::Finished {
                investigation,
                result,
            } => {
                self.running = self.running.saturating_sub(1);
                match result {
                    Ok(f) => self.finished(&investigation, f),
                    Err(e) => self.quiet(
                        &investigation,
                        None,
                        None,
                        format!("the investigation could not run: {e}"),
                        None,
                    ),
                }
                self.pump();
            }
        }
    }

    fn threshold(&self, id: &str) -> Threshold {
        let lead = self.groups.get(id).and_then(|i| i.lead().cloned());
        threshold_for(
            &self.opts.routes,
            self.opts.threshold,
            lead.as_ref().and_then(|a| a.namespace()),
            lead.as_ref().map_or("", |a| a.name()),
            lead.as_ref().and_then(|a| a.severity()),
        )
    }

    fn finished(&mut self, id: &str, f: Finished) {
        self.budget.spend(
            chrono::Utc::now().date_naive(),
            f.usage.tokens(),
            f.usage.tool_calls,
        );
        let threshold = self.threshold(id);
        let open = self.groups.get(id).is_some_and(|i| i.is_open());
        let confidence = f.answer.as_ref().map(|a| a.confidence);
        let summary = f.answer.as_ref().map(heading);
        let reason = match (&f.status, &f.answer) {
            _ if !open => Some("the alert resolved before the answer".to_string()),
            (Some(TurnStatus::Answered), Some(a)) if a.confidence >= threshold.value => None,
            (Some(TurnStatus::Answered), Some(a)) => Some(format!(
                "confidence {:.2} is below the threshold {:.2} ({})",
                a.confidence, threshold.value, threshold.from
            )),
            (Some(TurnStatus::BudgetExhausted), _) => {
                Some("the investigation's budget ran out before an answer".to_string())
            }
            (status, _) => Some(format!(
                "no answer ({})",
                status.map_or("the session ended".to_string(), |s| format!("{s:?}")
                    .to_lowercase())
            )),
        };
        match reason {
            Some(reason) => {
                self.record(id, &f, "quiet", &threshold, &reason);
                self.quiet(id, Some(f.session.clone()), confidence, reason, summary);
            }
            None => {
                self.record(id, &f, "notified", &threshold, "at or above the threshold");
                self.notify(id, &f, threshold);
            }
        }
    }

    /// The watch's verdict in the session's own trace, for `triage sessions`.
    fn record(&self, id: &str, f: &Finished, outcome: &str, t: &Threshold, reason: &str) {
        let Some(dir) = &self.base.session.trace_dir else {
            return;
        };
        let group_key = self
            .groups
            .get(id)
            .map(|i| i.group_key.clone())
            .unwrap_or_default();
        match crate::trace::TraceWriter::create(dir, &f.session) {
            Ok(w) => w.write(crate::trace::RecordBody::Watch {
                investigation: id.to_string(),
                group_key,
                outcome: outcome.to_string(),
                confidence: f.answer.as_ref().map(|a| a.confidence),
                threshold: t.value,
                reason: reason.to_string(),
            }),
            Err(e) => tracing::warn!("{e}"),
        }
    }

    fn quiet(
        &mut self,
        id: &str,
        session: Option<String>,
        confidence: Option<f32>,
        reason: String,
        summary: Option<String>,
    ) {
        let threshold = self.threshold(id).value;
        self.queued_at.remove(id);
        if let Some(inv) = self.groups.get_mut(id) {
            inv.phase = Phase::Quiet {
                session: session.clone(),
                confidence,
                reason: reason.clone(),
            };
        }
        self.events.emit(WatchEvent::Quiet {
            investigation: id.to_string(),
            session,
            confidence,
            threshold,
            reason,
            summary,
        });
    }

    fn notify(&mut self, id: &str, f: &Finished, threshold: Threshold) {
        let Some(answer) = &f.answer else { return };
        let Some(inv) = self.groups.get_mut(id) else {
            return;
        };
        inv.phase = Phase::Notified {
            session: f.session.clone(),
            confidence: answer.confidence,
        };
        let inv = inv.clone();
        let (age, stale) = self.staleness();
        let text = self.redactor.redact(&answer.text).text;
        let n = Notification {
            kind: "triage.notification",
            investigation: id.to_string(),
            session: f.session.clone(),
            group_key: inv.group_key.clone(),
            alerts: inv
                .firing()
                .iter()
                .map(|a| AlertRef {
                    alertname: a.name().to_string(),
                    fingerprint: a.identity(),
                    severity: a.severity().map(str::to_string),
                    namespace: a.namespace().map(str::to_string),
                })
                .collect(),
            confidence: answer.confidence,
            threshold: threshold.value,
            threshold_from: threshold.from.clone(),
            summary: self.redactor.redact(&heading(answer)).text,
            answer: text.chars().take(6000).collect(),
            evidence: answer
                .evidence
                .iter()
                .take(8)
                .map(|e| {
                    self.redactor
                        .redact(&format!("{}: {}", e.reference, e.detail))
                        .text
                })
                .collect(),
            data_age_secs: age,
            stale: stale.clone(),
            links: Links {
                command: format!("triage sessions show {}", f.session),
                trace: f.trace.as_ref().map(|p| p.display().to_string()),
                url: self
                    .opts
                    .session_url
                    .as_ref()
                    .map(|u| u.replace("{session}", &f.session)),
            },
        };
        let (opts, http, events) = (self.opts.clone(), self.http.clone(), self.events.clone());
        tokio::spawn(async move {
            let (mut targets, mut failed) = notify::send_webhooks(&http, &opts.webhooks, &n).await;
            if !opts.command.is_empty() {
                let label = format!("command {}", opts.command[0]);
                match notify::run_command(&opts.command, &n).await {
                    Ok(()) => targets.push(label),
                    Err(e) => failed.push((label, e)),
                }
            }
            targets.push("inbox".into());
            for (target, error) in failed {
                events.emit(WatchEvent::NotifyFailed {
                    investigation: n.investigation.clone(),
                    target,
                    error,
                });
            }
            events.emit(WatchEvent::Notified {
                investigation: n.investigation.clone(),
                session: n.session.clone(),
                confidence: n.confidence,
                threshold: n.threshold,
                threshold_from: n.threshold_from.clone(),
                summary: n.summary.clone(),
                targets,
                stale,
            });
        });
    }

    /// The age of the cluster data, and a note when it is past the limit.
    fn staleness(&self) -> (Option<u64>, Option<String>) {
        let Some(picture) = self
            .base
            .session
            .cluster
            .as_ref()
            .and_then(|c| crate::kube::live::LivePicture::of(c))
        else {
            return (None, None);
        };
        let age = picture.age();
        let stale = (age > self.opts.stale_after).then(|| {
            format!(
                "cluster data was {} s old (limit {} s)",
                age.as_secs(),
                self.opts.stale_after.as_secs()
            )
        });
        (Some(age.as_secs()), stale)
    }
}
