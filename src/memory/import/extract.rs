//! From an incident discussion (a Slack thread, a postmortem) to what an episode keeps:
//! the alert, the service, what was found, what was done, and the pull requests. Words
//! only: what is extracted is proposed to a person, never relied on as it stands.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use regex::Regex;

use crate::memory::Check;

/// A discussion about one incident, whatever it came from.
#[derive(Debug, Clone, Default)]
pub struct Discussion {
    /// `slack:#incidents/1714650000.000100` or `postmortem:2025-04-checkout.md`.
    pub source: String,
    /// Where it came from, for a person: `#incidents thread, 2025-05-02`.
    pub origin: String,
    pub title: String,
    pub messages: Vec<String>,
    /// Named sections (lower-case heading → text), for postmortems.
    pub sections: BTreeMap<String, String>,
    /// Facts stated outright (front matter, `Alert: X` lines).
    pub stated: BTreeMap<String, String>,
}

/// What an episode keeps of an incident.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Incident {
    pub alert: Option<String>,
    pub service: Option<String>,
    pub namespace: Option<String>,
    pub found: Vec<String>,
    pub done: Vec<String>,
    pub prs: Vec<String>,
    pub check: Check,
}

static ALERT: LazyLock<Vec<Regex>> = LazyLock::new(|| {
    [
        r"\[(?:FIRING|RESOLVED)(?::\d+)?\]\s*([A-Z][A-Za-z0-9_]+)",
        r#"alertname\s*[=:]\s*"?([A-Za-z][A-Za-z0-9_]+)"#,
        r"(?i:alert)\s*[:=]\s*\*{0,2}`?([A-Z][A-Za-z0-9_]+)",
    ]
    .iter()
    .filter_map(|p| Regex::new(p).ok())
    .collect()
});

static SERVICE: LazyLock<Vec<Regex>> = LazyLock::new(|| {
    [
        r#"(?i:service|deployment|app|workload|job)\s*[=:]\s*\*{0,2}"?`?([a-z0-9][a-z0-9-]*[a-z0-9])"#,
        r"(?i:deploy(?:ment)?s?)/([a-z0-9][a-z0-9-]*[a-z0-9])",
    ]
    .iter()
    .filter_map(|p| Regex::new(p).ok())
    .collect()
});

static NAMESPACE: LazyLock<Vec<Regex>> = LazyLock::new(|| {
    [
        r#"(?i:namespace)\s*[=:]\s*"?`?([a-z0-9][a-z0-9-]*)"#,
        r"\s-n\s+([a-z0-9][a-z0-9-]*)",
    ]
    .iter()
    .filter_map(|p| Regex::new(p).ok())
    .collect()
});

static PR: LazyLock<Option<Regex>> =
    LazyLock::new(|| Regex::new(r"https?://[^\s<>|)\]]+/(?:pull|pulls|merge_requests)/\d+").ok());

static HYPHENATED: LazyLock<Option<Regex>> =
    LazyLock::new(|| Regex::new(r"\b[a-z][a-z0-9]*(?:-[a-z0-9]+)+\b").ok());

static CONFIG_KEY: LazyLock<Option<Regex>> =
    LazyLock::new(|| Regex::new(r"\b[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+\b").ok());

static CONFIGMAP: LazyLock<Option<Regex>> =
    LazyLock::new(|| Regex::new(r"(?i:configmap)[/ ]`?([a-z0-9][a-z0-9-]*[a-z0-9])").ok());

/// Words that say a cause was found.
const FOUND: &[&str] = &[
    "root cause",
    "caused by",
    "turned out",
    "the cause",
    "culprit",
    "was due to",
    "due to",
    "because",
    "found that",
    "found the",
    "it was",
    "was missing",
    "ran out of",
];

/// Words that say something was done about it.
const DONE: &[&str] = &[
    "rolled back",
    "roll back",
    "rollback",
    "reverted",
    "revert",
    "restarted",
    "scaled",
    "bumped",
    "increased",
    "raised the",
    "fixed",
    "hotfix",
    "deployed",
    "mitigated",
    "patched",
    "added the",
    "merged",
    "kubectl ",
];

/// Words that make a discussion about an incident on their own.
const INCIDENT: &[&str] = &[
    "incident",
    "outage",
    "paged",
    "sev1",
    "sev2",
    "sev-1",
    "sev-2",
    "5xx",
    "500s",
    "crashloop",
    "crash loop",
    "crash-loop",
    "oomkilled",
    "firing",
    "alert",
    "postmortem",
    "post-mortem",
];

/// Words that do so only about a named service ("the coffee machine is down" is not).
const TROUBLE: &[&str] = &[
    "down",
    "errors",
    "latency",
    "degraded",
    "outage",
    "failing",
    "restarting",
];

/// Hyphenated words that are not service names.
const NOT_SERVICES: &[&str] = &[
    "on-call",
    "follow-up",
    "roll-back",
    "post-mortem",
    "read-only",
    "crash-loop",
    "re-run",
    "sev-1",
    "sev-2",
    "sev-3",
    "in-flight",
    "out-of-memory",
    "e-mail",
    "x-ray",
    "time-out",
    "set-up",
    "hot-fix",
    "co-worker",
    "self-healing",
    "auto-scaling",
];

fn first_capture(res: &[Regex], text: &str) -> Option<String> {
    res.iter().find_map(|r| {
        r.captures(text)
            .and_then(|c| c.get(1))
            .map(|m| m.as_str().to_string())
    })
}

/// Sentences (and list items) of a text, trimmed.
fn sentences(text: &str) -> Vec<String> {
    text.lines()
        .flat_map(|l| l.split(". "))
        .map(|s| {
            s.trim()
                .trim_start_matches(['-', '*', '•', '>', ' '])
                .trim()
                .trim_end_matches('.')
                .to_string()
        })
        .filter(|s| s.len() > 8)
        .collect()
}

fn pick(texts: &[&str], words: &[&str], max: usize) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    // Earlier words are stronger signals: try them first across all sentences.
    for w in words {
        for t in texts {
            for s in sentences(t) {
                if out.len() == max {
                    return out;
                }
                if s.to_lowercase().contains(w) && !out.iter().any(|o| o == &s) {
                    out.push(cut(&s, 220));
                }
            }
        }
    }
    out
}

fn cut(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let mut out: String = s.chars().take(max - 1).collect();
    out.push('…');
    out
}

/// The service a discussion is about: named outright, else the hyphenated name it
/// mentions most (at least twice), else one its first line names.
fn service_of(all: &str, stated: Option<&String>) -> Option<String> {
    if let Some(s) = stated {
        return Some(s.trim().to_string());
    }
    if let Some(s) = first_capture(&SERVICE, all) {
        return Some(s);
    }
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    let lower = all.to_lowercase();
    for m in HYPHENATED.iter().flat_map(|r| r.find_iter(&lower)) {
        if !NOT_SERVICES.contains(&m.as_str()) {
            *counts.entry(m.as_str()).or_default() += 1;
        }
    }
    counts
        .iter()
        .filter(|(_, n)| **n >= 2)
        .max_by_key(|(name, n)| (**n, std::cmp::Reverse(**name)))
        .map(|(name, _)| name.to_string())
        .or_else(|| {
            // Named once, in the first message (the alert or the page): that one.
            let title = all.lines().next().unwrap_or("").to_lowercase();
            HYPHENATED
                .iter()
                .flat_map(|r| r.find_iter(&title))
                .map(|m| m.as_str().to_string())
                .find(|m| !NOT_SERVICES.contains(&m.as_str()))
        })
}

/// The read that would check the cause today, when the words say which one.
fn check_of(found_and_done: &str, service: Option<&str>) -> Check {
    let t = found_and_done.to_lowercase();
    let has = |ws: &[&str]| ws.iter().any(|w| t.contains(w));
    if has(&["oomkilled", "out of memory", "memory limit", " oom"]) {
        return Check::OomAtLimit;
    }
    if has(&["configmap"])
        && let (Some(cm), Some(key)) = (
            CONFIGMAP
                .as_ref()
                .and_then(|r| r.captures(found_and_done))
                .and_then(|c| c.get(1)),
            CONFIG_KEY.as_ref().and_then(|r| r.find(found_and_done)),
        )
    {
        return Check::ConfigKey {
            configmap: cm.as_str().to_string(),
            key: key.as_str().to_string(),
            value: None,
        };
    }
    if has(&[
        "scaled to zero",
        "scaled to 0",
        "0 replicas",
        "zero replicas",
        "no endpoints",
    ]) {
        return Check::NoEndpoints;
    }
    if has(&[
        "unschedulable",
        "insufficient cpu",
        "insufficient memory",
        "failedscheduling",
    ]) {
        return Check::Unschedulable;
    }
    if service.is_some()
        && has(&[
            "rolled back",
            "roll back",
            "rollback",
            "reverted the deploy",
            "bad release",
            "bad rollout",
        ])
    {
        return Check::NewReplicaSetFailing;
    }
    Check::None
}

/// Whether a discussion is about an incident, and if so what it says. A Slack thread
/// needs a reply, incident words, and a finding or an action; a postmortem needs a
/// finding or an action.
pub fn extract(d: &Discussion, is_postmortem: bool) -> Option<Incident> {
    let mut texts: Vec<&str> = Vec::new();
    texts.push(&d.title);
    texts.extend(d.messages.iter().map(String::as_str));
    let all = texts.join("\n");
    let everything = format!(
        "{all}\n{}",
        d.sections.values().cloned().collect::<Vec<_>>().join("\n")
    );
    let service = service_of(&everything, d.stated.get("service"));
    if !is_postmortem {
        let lower = all.to_lowercase();
        let about_incident = INCIDENT.iter().any(|w| lower.contains(w))
            || service.is_some() && TROUBLE.iter().any(|w| lower.contains(w));
        if d.messages.is_empty() || !about_incident {
            return None;
        }
    }
    let section = |names: &[&str]| -> Vec<&str> {
        d.sections
            .iter()
            .filter(|(h, _)| names.iter().any(|n| h.contains(n)))
            .map(|(_, t)| t.as_str())
            .collect()
    };
    let (found, done) = if is_postmortem {
        let causes = section(&[
            "root cause",
            "cause",
            "what happened",
            "analysis",
            "contributing",
        ]);
        let fixes = section(&[
            "resolution",
            "mitigation",
            "remediation",
            "fix",
            "what we did",
            "recovery",
            "response",
        ]);
        let mut found: Vec<String> = causes
            .iter()
            .flat_map(|t| sentences(t))
            .take(2)
            .map(|s| cut(&s, 220))
            .collect();
        let mut done: Vec<String> = fixes
            .iter()
            .flat_map(|t| sentences(t))
            .take(2)
            .map(|s| cut(&s, 220))
            .collect();
        if found.is_empty() {
            found = pick(&texts, FOUND, 2);
        }
        if done.is_empty() {
            done = pick(&texts, DONE, 2);
        }
        (found, done)
    } else {
        (pick(&texts[1..], FOUND, 2), pick(&texts[1..], DONE, 2))
    };
    if found.is_empty() && done.is_empty() {
        return None;
    }
    let alert = d
        .stated
        .get("alert")
        .cloned()
        .or_else(|| first_capture(&ALERT, &everything));
    let namespace = d
        .stated
        .get("namespace")
        .cloned()
        .or_else(|| first_capture(&NAMESPACE, &everything));
    let mut prs: Vec<String> = PR
        .iter()
        .flat_map(|r| r.find_iter(&everything))
        .map(|m| m.as_str().to_string())
        .collect();
    prs.sort();
    prs.dedup();
    let check = check_of(
        &format!("{}\n{}", found.join("\n"), done.join("\n")),
        service.as_deref(),
    );
    Some(Incident {
        alert,
        service,
        namespace,
        found,
        done,
        prs,
        check,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn thread(messages: &[&str]) -> Discussion {
        Discussion {
            source: "slack:#incidents/1".into(),
            origin: "#incidents".into(),
            title: messages[0].into(),
            messages: messages[1..].iter().map(|s| s.to_string()).collect(),
            ..Discussion::default()
        }
    }

    #[test]
    fn an_alert_thread_gives_alert_service_cause_action_and_pr() {
        let d = thread(&[
            "[FIRING:1] KubePodCrashLooping (namespace=shop, deployment=checkout-api)",
            "looking",
            "Root cause: the 1.4.3 release made PAYMENTS_TIMEOUT_MS required and it was missing from checkout-config.",
            "Rolled back checkout-api to revision 6 with kubectl rollout undo deploy/checkout-api -n shop",
            "Fix in https://github.com/acme/shop/pull/481 adds the default",
        ]);
        let i = extract(&d, false).unwrap();
        assert_eq!(i.alert.as_deref(), Some("KubePodCrashLooping"));
        assert_eq!(i.service.as_deref(), Some("checkout-api"));
        assert_eq!(i.namespace.as_deref(), Some("shop"));
        assert!(i.found[0].starts_with("Root cause"), "{:?}", i.found);
        assert!(
            i.done.iter().any(|d| d.starts_with("Rolled back")),
            "{:?}",
            i.done
        );
        assert_eq!(
            i.prs,
            vec!["https://github.com/acme/shop/pull/481".to_string()]
        );
        assert_eq!(i.check, Check::NewReplicaSetFailing);
    }

    #[test]
    fn chatter_is_not_an_incident() {
        assert!(extract(&thread(&["lunch at noon?", "sure", "because tacos"]), false).is_none());
        assert!(extract(&thread(&["deploy of frontend is done"]), false).is_none());
        // Incident words but neither a cause nor an action.
        assert!(
            extract(
                &thread(&["alert firing on payments", "seeing it too"]),
                false
            )
            .is_none()
        );
    }

    #[test]
    fn memory_words_become_the_oom_check() {
        let d = thread(&[
            "orders-worker paged: ConsumerLag firing",
            "it was OOMKilled at its 512Mi memory limit",
            "bumped the limit to 1Gi",
        ]);
        let i = extract(&d, false).unwrap();
        assert_eq!(i.check, Check::OomAtLimit);
        assert_eq!(i.service.as_deref(), Some("orders-worker"));
    }
}
