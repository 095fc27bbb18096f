//! The maintained rule table (`secrets.toml`): secret formats by issuer, as data. Each
//! rule carries an example it must catch, so a rule that stops matching fails a test.

use serde::Deserialize;

#[derive(Debug, Deserialize)]
struct RuleFile {
    rule: Vec<TableRule>,
}

/// One format: the kind shown in placeholders, its regex, and an example.
#[derive(Debug, Clone, Deserialize)]
pub struct TableRule {
    pub kind: String,
    pub regex: String,
    pub example: String,
}

const RULES: &str = include_str!("secrets.toml");

/// The rules, in file order.
pub fn rules() -> Result<Vec<TableRule>, String> {
    toml::from_str::<RuleFile>(RULES)
        .map(|f| f.rule)
        .map_err(|e| format!("secrets.toml: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::agent::redact::Redactor;
    use crate::config::AgentConfig;

    #[test]
    fn every_rule_catches_its_example_and_kinds_are_distinct() {
        let rules = rules().unwrap();
        assert!(rules.len() >= 40, "{} rules", rules.len());
        let mut kinds: Vec<&str> = rules.iter().map(|r| r.kind.as_str()).collect();
        kinds.sort();
        kinds.dedup();
        assert_eq!(kinds.len(), rules.len(), "a kind is listed twice");
        let redactor = Redactor::new(&AgentConfig::default()).unwrap();
        for r in &rules {
            let out = redactor.redact(&r.example);
            assert!(out.count >= 1, "{}: nothing redacted in {:?}", r.kind, r.example);
            assert!(
                out.text.contains("[REDACTED:"),
                "{}: {:?}",
                r.kind,
                out.text
            );
        }
    }
}
