//! Reading Markdown postmortems: an optional front matter (`alert:`, `service:`,
//! `namespace:`, `date:`), a title, sections by heading, and `**Alert:** X` style lines.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::error::ImportError;
use super::extract::Discussion;

/// The Markdown files at `path` (a file, or a folder searched recursively), sorted.
pub fn files(path: &Path) -> Result<Vec<PathBuf>, ImportError> {
    if path.is_file() {
        return Ok(vec![path.to_path_buf()]);
    }
    let mut out = Vec::new();
    let mut dirs = vec![path.to_path_buf()];
    while let Some(dir) = dirs.pop() {
        let rd = std::fs::read_dir(&dir).map_err(|e| ImportError::Postmortem {
            file: dir.clone(),
            problem: e.to_string(),
        })?;
        for e in rd.flatten() {
            let p = e.path();
            match e.file_type() {
                Ok(t) if t.is_dir() => dirs.push(p),
                Ok(t) if t.is_file() && p.extension().is_some_and(|x| x == "md") => out.push(p),
                _ => {}
            }
        }
    }
    out.sort();
    Ok(out)
}

/// Keys a postmortem may state outright, in front matter or as `Key: value` lines.
const STATED: &[&str] = &["alert", "service", "namespace", "date"];

/// One postmortem as a discussion.
pub fn read(path: &Path) -> Result<Discussion, ImportError> {
    let text = std::fs::read_to_string(path).map_err(|e| ImportError::Postmortem {
        file: path.to_path_buf(),
        problem: e.to_string(),
    })?;
    Ok(parse(&text, &path.display().to_string()))
}

fn stated_line(line: &str) -> Option<(String, String)> {
    let plain = line
        .trim()
        .trim_start_matches(['-', '*', ' '])
        .replace("**", "");
    let (k, v) = plain.split_once(':')?;
    let key = k.trim().to_lowercase();
    let key = match key.as_str() {
        "alert" | "alerts" | "alert name" | "alertname" => "alert",
        "service" | "services" | "service affected" | "affected service" => "service",
        "namespace" => "namespace",
        "date" => "date",
        _ => return None,
    };
    let value = v.trim().trim_matches('`').trim().to_string();
    (!value.is_empty() && STATED.contains(&key)).then(|| (key.to_string(), value))
}

/// Parse a postmortem's text (`name` identifies it).
pub fn parse(text: &str, name: &str) -> Discussion {
    let mut stated = BTreeMap::new();
    let mut body = text;
    if let Some(rest) = text.strip_prefix("---\n")
        && let Some(end) = rest.find("\n---")
    {
        for line in rest[..end].lines() {
            if let Some((k, v)) = stated_line(line) {
                stated.insert(k, v.trim_matches('"').to_string());
            }
        }
        body = rest[end + 4..].trim_start_matches(['-', '\n']);
    }
    let mut title = String::new();
    let mut sections: BTreeMap<String, String> = BTreeMap::new();
    let mut current = String::from("summary");
    let mut messages: Vec<String> = Vec::new();
    let mut continues = false;
    for line in body.lines() {
        let trimmed = line.trim();
        let item = trimmed.starts_with(['-', '*', '|'])
            || trimmed.chars().next().is_some_and(|c| c.is_ascii_digit());
        if let Some(h) = trimmed.strip_prefix("# ") {
            if title.is_empty() {
                title = h.trim().to_string();
            }
            continues = false;
            continue;
        }
        if trimmed.starts_with("##") {
            current = trimmed.trim_start_matches('#').trim().to_lowercase();
            continues = false;
            continue;
        }
        if let Some((k, v)) = stated_line(trimmed) {
            stated.entry(k).or_insert(v);
        }
        if trimmed.is_empty() {
            continues = false;
            continue;
        }
        // A paragraph's lines are one text; list items and new paragraphs start anew.
        let s = sections.entry(current.clone()).or_default();
        match messages.last_mut() {
            Some(last) if continues && !item => {
                last.push(' ');
                last.push_str(trimmed);
                s.pop();
                s.push(' ');
            }
            _ => messages.push(trimmed.to_string()),
        }
        s.push_str(trimmed);
        s.push('\n');
        continues = true;
    }
    // A service list keeps its first name.
    if let Some(s) = stated.get_mut("service") {
        *s = s
            .split([',', ' '])
            .find(|p| !p.is_empty())
            .unwrap_or("")
            .to_string();
    }
    let file = Path::new(name)
        .file_name()
        .map(|f| f.to_string_lossy().into_owned())
        .unwrap_or_else(|| name.to_string());
    Discussion {
        source: format!("postmortem:{file}"),
        origin: format!(
            "postmortem {file}{}",
            stated
                .get("date")
                .map(|d| format!(", {d}"))
                .unwrap_or_default()
        ),
        title,
        messages,
        sections,
        stated,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::memory::import::extract::extract;

    #[test]
    fn sections_and_stated_facts_are_read() {
        let d = parse(
            "---\ntitle: x\nservice: payments\n---\n# Payments down\n\n**Alert:** KubeDeploymentReplicasMismatch\n\n## Root cause\nThe HPA scaled payments to zero replicas because of a bad min setting.\n\n## Resolution\nScaled payments back to 2 replicas. Fixed the HPA in https://github.com/acme/shop/pull/512.\n",
            "pm/2025-05-payments.md",
        );
        assert_eq!(d.title, "Payments down");
        assert_eq!(
            d.stated.get("service").map(String::as_str),
            Some("payments")
        );
        assert_eq!(d.source, "postmortem:2025-05-payments.md");
        let i = extract(&d, true).unwrap();
        assert_eq!(i.alert.as_deref(), Some("KubeDeploymentReplicasMismatch"));
        assert!(
            i.found[0].starts_with("The HPA scaled payments to zero"),
            "{:?}",
            i.found
        );
        assert!(
            i.done[0].starts_with("Scaled payments back"),
            "{:?}",
            i.done
        );
        assert_eq!(
            i.prs,
            vec!["https://github.com/acme/shop/pull/512".to_string()]
        );
        assert_eq!(i.check, crate::memory::Check::NoEndpoints);
    }
}
