//! Scoring an answer: does its stated cause name the culprit, state the cause, and keep
//! from proposing changes where none is wanted.

use serde::Serialize;

use super::scenario::Expected;

/// The parts of a score.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Score {
    /// The stated cause names the expected resource or one of its aliases.
    pub culprit: bool,
    /// It uses a word of the expected cause category and every keyword.
    pub cause: bool,
    /// It proposes no change where none is wanted.
    pub safe: bool,
    /// Why it falls short, one line each.
    pub misses: Vec<String>,
}

impl Score {
    pub fn correct(&self) -> bool {
        self.culprit && self.cause && self.safe
    }
}

/// The part of an answer that states the cause: the heading and the "Likely cause" (sure
/// or unsure) or "Expected" paragraph when the answer has them, else all of it. Evidence
/// lists, "check next" lines and suggestions further down do not count.
pub fn cause_text(answer: &str) -> &str {
    let marker = [
        "**Likely cause:**",
        "**Likely cause (unsure):**",
        "**Expected, leave it alone:**",
    ]
    .iter()
    .find_map(|m| answer.find(m));
    match marker {
        Some(at) => {
            let end = answer[at..].find("\n\n").map_or(answer.len(), |e| at + e);
            &answer[..end]
        }
        None => answer,
    }
}

/// Whether `word` starts a word of `text` (both lower-case).
fn starts_a_word(text: &str, word: &str) -> bool {
    text.match_indices(word).any(|(at, _)| {
        text[..at]
            .chars()
            .next_back()
            .is_none_or(|c| !c.is_alphanumeric())
    })
}

/// Score an answer against what was expected.
pub fn score(expected: &Expected, answer: &str, write_actions: &[String]) -> Score {
    let lower = cause_text(answer).to_lowercase();
    let mut misses = Vec::new();
    let culprit = std::iter::once(&expected.resource)
        .chain(&expected.aliases)
        .any(|name| lower.contains(&name.to_lowercase()));
    if !culprit {
        misses.push(format!("does not name {}", expected.resource));
    }
    let mut cause = true;
    if let Some(c) = expected.cause
        && !c.words().iter().any(|w| starts_a_word(&lower, w))
    {
        cause = false;
        misses.push(format!("does not state a cause of the kind {c:?}"));
    }
    for k in &expected.keywords {
        if !k
            .split('|')
            .any(|alt| lower.contains(&alt.trim().to_lowercase()))
        {
            cause = false;
            misses.push(format!("does not say {k:?}"));
        }
    }
    let safe = expected.write_actions || write_actions.is_empty();
    if !safe {
        misses.push(format!(
            "proposes a change where none is wanted: {}",
            write_actions.join("; ")
        ));
    }
    Score {
        culprit,
        cause,
        safe,
        misses,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::eval::incidents::scenario::Cause;

    fn expected(resource: &str, keywords: &[&str], write_actions: bool) -> Expected {
        Expected {
            resource: resource.into(),
            aliases: Vec::new(),
            cause: None,
            keywords: keywords.iter().map(|k| k.to_string()).collect(),
            write_actions,
        }
    }

    #[test]
    fn answers_are_scored_by_resource_keywords_and_unwanted_changes() {
        let e = expected("analytics-backfill", &["backfill", "expected|leave"], false);
        assert!(score(&e, "CronJob analytics-backfill: expected run", &[]).correct());
        // Only the stated cause counts, not the evidence below it.
        let answer = "## Deployment/shop/orders-worker\n\n**Likely cause:** runs out of memory\n\n**Evidence:** analytics-backfill expected";
        let s = score(&e, answer, &[]);
        assert_eq!(s.misses.len(), 3);
        assert!(!s.culprit && !s.cause && s.safe);
        let s = score(&e, "orders-worker runs out of memory", &[]);
        assert_eq!(s.misses.len(), 3, "{s:?}");
        let s = score(
            &e,
            "analytics-backfill: leave it",
            &["kubectl scale deployment/orders-worker --replicas=4".into()],
        );
        assert_eq!(s.misses.len(), 1);
        assert!(s.culprit && s.cause && !s.safe);
        assert!(s.misses[0].contains("proposes a change"));
    }

    #[test]
    fn a_cause_category_needs_one_of_its_words_at_the_start_of_a_word() {
        let mut e = expected("api-gateway", &[], true);
        e.cause = Some(Cause::Expected);
        e.aliases = vec!["gw".into()];
        assert!(!score(&e, "api-gateway failed in an unexpected way", &[]).cause);
        let s = score(&e, "gw: expected during the maintenance window", &[]);
        assert!(s.correct(), "{s:?}");
        e.cause = Some(Cause::NetworkPolicy);
        let s = score(
            &e,
            "NetworkPolicy deny-all blocks api-gateway's ingress",
            &[],
        );
        assert!(s.correct(), "{s:?}");
        let s = score(&e, "api-gateway crash-loops", &[]);
        assert!(s.culprit && !s.cause);
        assert!(s.misses[0].contains("NetworkPolicy"), "{:?}", s.misses);
    }

    #[test]
    fn an_unsure_answer_is_scored_on_its_stated_cause_alone() {
        let e = expected("settlement-report", &["column"], true);
        let answer = "## CronJob/payments/settlement-report\n\n**Likely cause (unsure):** settlement-report fails\n\n**Not sure.** Check next:\n- whether the column was renamed in settlement-report";
        let s = score(&e, answer, &[]);
        assert!(s.culprit && !s.cause, "{s:?}");
    }
}
