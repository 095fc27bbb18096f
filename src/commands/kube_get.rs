//! How `triage kube get` and `kube logs` print: kubectl's table (the same columns the
//! replay server hands kubectl), `-o json|yaml|wide|name`, and followed logs.

use std::io::Write;

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use super::args::GetOutput;
use crate::kube::resources::ResourceType;
use crate::kube::source::ClusterSource;
use crate::kube::{LogOptions, table};

/// The objects `kube_get` returned (one object, or an array for a list) as text.
pub fn render(
    t: &ResourceType,
    value: &Value,
    output: Option<GetOutput>,
    all_namespaces: bool,
    now: DateTime<Utc>,
) -> anyhow::Result<String> {
    let items: Vec<&Value> = match value {
        Value::Array(items) => items.iter().collect(),
        one => vec![one],
    };
    let typed = |v: &Value| table::with_type(v, t);
    let whole = || match value {
        Value::Array(_) => json!({
            "apiVersion": "v1",
            "kind": "List",
            "items": items.iter().map(|v| typed(v)).collect::<Vec<_>>(),
        }),
        one => typed(one),
    };
    Ok(match output {
        Some(GetOutput::Json) => format!("{}\n", serde_json::to_string_pretty(&whole())?),
        Some(GetOutput::Yaml) => serde_yaml_ng::to_string(&whole())?,
        Some(GetOutput::Name) => items
            .iter()
            .map(|v| {
                let name = v.pointer("/metadata/name").and_then(Value::as_str);
                format!("{}/{}\n", t.singular, name.unwrap_or(""))
            })
            .collect(),
        wide => {
            if items.is_empty() {
                return Ok(String::new());
            }
            let table = table::table(t, &items, now, "None", json!({}));
            text_table(
                &table,
                &items,
                matches!(wide, Some(GetOutput::Wide)),
                all_namespaces && t.namespaced,
            )
        }
    })
}

/// kubectl's layout: upper-case headers, columns three spaces apart, the last one
/// unpadded; priority-0 columns unless `wide`; a NAMESPACE column first with `-A`.
fn text_table(table: &Value, items: &[&Value], wide: bool, namespace: bool) -> String {
    let columns: Vec<(usize, String)> = table["columnDefinitions"]
        .as_array()
        .map(|cols| {
            cols.iter()
                .enumerate()
                .filter(|(_, c)| wide || c["priority"].as_i64().unwrap_or(0) == 0)
                .map(|(i, c)| (i, c["name"].as_str().unwrap_or("").to_uppercase()))
                .collect()
        })
        .unwrap_or_default();
    let mut rows: Vec<Vec<String>> = Vec::new();
    let mut header: Vec<String> = columns.iter().map(|(_, n)| n.clone()).collect();
    if namespace {
        header.insert(0, "NAMESPACE".into());
    }
    rows.push(header);
    let empty = Vec::new();
    for (row, obj) in table["rows"].as_array().unwrap_or(&empty).iter().zip(items) {
        let cells = row["cells"].as_array().unwrap_or(&empty);
        let mut line: Vec<String> = columns
            .iter()
            .map(|(i, _)| cell_text(cells.get(*i).unwrap_or(&Value::Null)))
            .collect();
        if namespace {
            let ns = obj.pointer("/metadata/namespace").and_then(Value::as_str);
            line.insert(0, ns.unwrap_or("").to_string());
        }
        rows.push(line);
    }
    let n = rows.first().map_or(0, Vec::len);
    let widths: Vec<usize> = (0..n)
        .map(|c| rows.iter().map(|r| r[c].chars().count()).max().unwrap_or(0))
        .collect();
    let mut out = String::new();
    for r in &rows {
        let mut line = String::new();
        for (c, cell) in r.iter().enumerate() {
            if c + 1 == n {
                line.push_str(cell);
            } else {
                line.push_str(cell);
                line.push_str(&" ".repeat(widths[c] - cell.chars().count() + 3));
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

fn cell_text(v: &Value) -> String {
    match v {
        Value::Null => "<none>".into(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// `kube logs`: the text at once, or followed line by line until the stream ends or
/// Ctrl-C.
pub async fn print_logs(
    source: &ClusterSource,
    namespace: Option<&str>,
    pod: &str,
    opts: &LogOptions,
) -> anyhow::Result<()> {
    let client = source.client();
    let ns = namespace
        .or(source.default_scope().namespace())
        .unwrap_or(client.default_namespace())
        .to_string();
    if !opts.follow {
        let text = client.logs_with(&ns, pod, opts).await?;
        let mut out = std::io::stdout().lock();
        out.write_all(text.as_bytes())?;
        return Ok(out.flush()?);
    }
    let mut print = |line: &str| {
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "{line}");
        let _ = out.flush();
    };
    tokio::select! {
        r = client.follow_logs(&ns, pod, opts, &mut print) => Ok(r?),
        _ = tokio::signal::ctrl_c() => Ok(()),
    }
}
