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

    /// The rule's regex as the redactor compiles it (ASCII word boundaries).
    fn regex(rule: &TableRule) -> regex::Regex {
        regex::Regex::new(&rule.regex.replace(r"\b", r"(?-u:\b)")).unwrap()
    }

    /// What the rule would replace in `text`: its `secret` group, or the whole match.
    fn found(rule: &TableRule, text: &str) -> Vec<String> {
        regex(rule)
            .captures_iter(text)
            .filter_map(|c| c.name("secret").or_else(|| c.get(0)))
            .map(|m| m.as_str().to_string())
            .collect()
    }

    #[test]
    fn every_rule_catches_its_example_and_kinds_are_distinct() {
        let rules = rules().unwrap();
        assert!(rules.len() >= 40, "{} rules", rules.len());
        let mut kinds: Vec<&str> = rules.iter().map(|r| r.kind.as_str()).collect();
        kinds.sort();
        kinds.dedup();
        assert_eq!(kinds.len(), rules.len(), "a kind is listed twice");
        for r in &rules {
            let hits = found(r, &r.example);
            assert!(
                hits.iter().any(|h| !h.is_empty()),
                "{}: nothing found in {:?}",
                r.kind,
                r.example
            );
        }
    }

    /// A token is found whatever follows it, including when its own last character is
    /// one a word boundary does not see (`-`, `.`, `~`).
    #[test]
    fn tokens_are_found_before_any_terminator_and_when_they_end_in_punctuation() {
        let rules = rules().unwrap();
        let rule = |kind: &str| rules.iter().find(|r| r.kind == kind).unwrap();
        let tokens = [
            (
                "telegram-bot-token",
                "774744897:AAsDQMH3zYtrDT43EObPEaWt8CUNW-P6Wu-",
            ),
            ("gcp-api-key", "AIzaSyD3adb33fC0ffeeC0ffeeC0ffeeC0ffee-"),
            (
                "azure-client-secret",
                "abc8Q~Zm9vYmFyYmF6cXV4Zm9vYmFyYmF6cXV4.-",
            ),
            (
                "azure-client-secret",
                "~bc8Q~Zm9vYmFyYmF6cXV4Zm9vYmFyYmF6cXV4Zm",
            ),
        ];
        for (kind, token) in tokens {
            for text in [
                token.to_string(),
                format!("{token} started"),
                format!("token={token}\n"),
                format!("\"{token}\","),
                format!("({token});"),
            ] {
                assert_eq!(found(rule(kind), &text), [token], "{kind}: {text:?}");
            }
        }
        for r in &rules {
            for text in [format!("{} end", r.example), format!("({});", r.example)] {
                assert!(
                    !found(r, &text).is_empty(),
                    "{}: nothing in {text:?}",
                    r.kind
                );
            }
        }
    }
}
