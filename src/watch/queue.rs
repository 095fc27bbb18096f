//! The queue of investigations waiting to run (most severe first, then oldest) and the
//! daily budget every background investigation draws from.

use std::collections::BTreeSet;
use std::path::PathBuf;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

/// Investigations waiting for a free slot.
#[derive(Debug)]
pub struct Queue {
    items: BTreeSet<(u8, u64, String)>,
    max: usize,
    seq: u64,
}

/// What happened to an investigation put in the queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Pushed {
    /// Waiting at this position (1 = next).
    At(usize),
    /// The queue was full: this investigation (the new one or a less urgent one that was
    /// waiting) will not run.
    Overflow {
        skipped: String,
        position: Option<usize>,
    },
}

impl Queue {
    pub fn new(max: usize) -> Self {
        Self {
            items: BTreeSet::new(),
            max: max.max(1),
            seq: 0,
        }
    }

    /// Queue an investigation; `rank` from [`super::groups::severity_rank`].
    pub fn push(&mut self, id: &str, rank: u8) -> Pushed {
        self.seq += 1;
        let key = (rank, self.seq, id.to_string());
        if self.items.len() < self.max {
            self.items.insert(key);
            return Pushed::At(self.position(id).unwrap_or(self.items.len()));
        }
        match self.items.last().cloned() {
            Some(last) if last.0 > rank => {
                self.items.remove(&last);
                self.items.insert(key);
                Pushed::Overflow {
                    skipped: last.2,
                    position: self.position(id),
                }
            }
            _ => Pushed::Overflow {
                skipped: id.to_string(),
                position: None,
            },
        }
    }

    pub fn pop(&mut self) -> Option<String> {
        self.items.pop_first().map(|(_, _, id)| id)
    }

    pub fn remove(&mut self, id: &str) -> bool {
        let found = self.items.iter().find(|k| k.2 == id).cloned();
        found.is_some_and(|k| self.items.remove(&k))
    }

    /// 1-based position, in the order investigations will start.
    pub fn position(&self, id: &str) -> Option<usize> {
        self.items.iter().position(|k| k.2 == id).map(|p| p + 1)
    }

    pub fn len(&self) -> usize {
        self.items.len()
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Everything waiting, in order.
    pub fn drain(&mut self) -> Vec<String> {
        std::mem::take(&mut self.items)
            .into_iter()
            .map(|(_, _, id)| id)
            .collect()
    }
}

/// Limits for one day of background work.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DailyLimits {
    pub investigations: u32,
    pub tokens: u64,
    pub tool_calls: u32,
}

/// What one day's background work has spent.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DailyUsage {
    pub day: Option<NaiveDate>,
    pub investigations: u32,
    pub tokens: u64,
    pub tool_calls: u32,
}

/// What the next investigation may spend at most.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Allowance {
    pub tokens: u64,
    pub tool_calls: u32,
}

/// The daily budget, kept across restarts in a small JSON file.
#[derive(Debug)]
pub struct DailyBudget {
    limits: DailyLimits,
    usage: DailyUsage,
    path: Option<PathBuf>,
}

impl DailyBudget {
    /// A budget remembered in `path` (what today already spent is read back).
    pub fn new(limits: DailyLimits, path: Option<PathBuf>) -> Self {
        let usage = path
            .as_ref()
            .and_then(|p| std::fs::read_to_string(p).ok())
            .and_then(|t| serde_json::from_str(&t).ok())
            .unwrap_or_default();
        Self {
            limits,
            usage,
            path,
        }
    }

    pub fn usage(&self) -> &DailyUsage {
        &self.usage
    }

    pub fn limits(&self) -> DailyLimits {
        self.limits
    }

    fn roll(&mut self, today: NaiveDate) {
        if self.usage.day != Some(today) {
            self.usage = DailyUsage {
                day: Some(today),
                ..DailyUsage::default()
            };
        }
    }

    /// Take one investigation out of today's budget, or say why not.
    pub fn start(&mut self, today: NaiveDate) -> Result<Allowance, String> {
        self.roll(today);
        let (u, l) = (&self.usage, self.limits);
        if u.investigations >= l.investigations {
            return Err(format!(
                "the daily budget is spent: {} of {} investigations today",
                u.investigations, l.investigations
            ));
        }
        if u.tokens >= l.tokens {
            return Err(format!(
                "the daily budget is spent: {} of {} tokens today",
                u.tokens, l.tokens
            ));
        }
        if u.tool_calls >= l.tool_calls {
            return Err(format!(
                "the daily budget is spent: {} of {} tool calls today",
                u.tool_calls, l.tool_calls
            ));
        }
        let allowance = Allowance {
            tokens: l.tokens - u.tokens,
            tool_calls: l.tool_calls - u.tool_calls,
        };
        self.usage.investigations += 1;
        self.save();
        Ok(allowance)
    }

    /// What a finished investigation spent.
    pub fn spend(&mut self, today: NaiveDate, tokens: u64, tool_calls: u32) {
        self.roll(today);
        self.usage.tokens = self.usage.tokens.saturating_add(tokens);
        self.usage.tool_calls = self.usage.tool_calls.saturating_add(tool_calls);
        self.save();
    }

    fn save(&self) {
        let Some(path) = &self.path else { return };
        let write = || -> std::io::Result<()> {
            if let Some(dir) = path.parent() {
                std::fs::create_dir_all(dir)?;
            }
            let tmp = path.with_extension("json.tmp");
            std::fs::write(&tmp, serde_json::to_vec(&self.usage)?)?;
            std::fs::rename(&tmp, path)
        };
        if let Err(e) = write() {
            tracing::warn!("cannot save the watch budget to {}: {e}", path.display());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_most_severe_waits_least_and_overflow_skips_the_least_urgent() {
        let mut q = Queue::new(3);
        assert_eq!(q.push("warn-1", 2), Pushed::At(1));
        assert_eq!(q.push("crit-1", 0), Pushed::At(1));
        assert_eq!(q.push("warn-2", 2), Pushed::At(3));
        assert_eq!(
            q.push("crit-2", 0),
            Pushed::Overflow {
                skipped: "warn-2".into(),
                position: Some(2)
            }
        );
        assert_eq!(
            q.push("info", 4),
            Pushed::Overflow {
                skipped: "info".into(),
                position: None
            }
        );
        assert!(q.remove("crit-2"));
        assert_eq!(q.pop().as_deref(), Some("crit-1"));
        assert_eq!(q.drain(), vec!["warn-1".to_string()]);
        assert!(q.is_empty());
    }

    #[test]
    fn the_daily_budget_refuses_when_spent_and_resets_the_next_day() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("budget.json");
        let limits = DailyLimits {
            investigations: 2,
            tokens: 1000,
            tool_calls: 100,
        };
        let day = NaiveDate::from_ymd_opt(2025, 6, 1).unwrap();
        let mut b = DailyBudget::new(limits, Some(path.clone()));
        let a = b.start(day).unwrap();
        assert_eq!(a.tokens, 1000);
        b.spend(day, 900, 10);
        assert_eq!(b.start(day).unwrap().tokens, 100);
        let e = b.start(day).unwrap_err();
        assert!(e.contains("2 of 2 investigations"), "{e}");
        // Kept across restarts.
        let mut again = DailyBudget::new(limits, Some(path));
        assert!(again.start(day).is_err());
        assert!(again.start(day.succ_opt().unwrap()).is_ok());
    }
}
