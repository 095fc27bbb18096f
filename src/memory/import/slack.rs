//! Reading a Slack workspace export (the folder, or the zip Slack hands out):
//! `channels.json`, `users.json`, and one JSON file per channel and day
//! (`incidents/2025-05-02.json`) holding that day's messages. Messages are gathered into
//! threads by `thread_ts`, across days.

use std::collections::{BTreeMap, HashMap};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::LazyLock;

use regex::Regex;
use serde_json::Value;

use super::error::ImportError;
use super::extract::Discussion;

/// The most an export may hold, uncompressed: exports are text, and a bigger one is more
/// likely a mistake than a workspace.
const MAX_TOTAL_BYTES: u64 = 512 * 1024 * 1024;

/// The files of an export, by their path inside it (`incidents/2025-05-02.json`).
struct Files {
    root: PathBuf,
    files: BTreeMap<String, Vec<u8>>,
}

fn err(root: &Path, file: &str, problem: impl Into<String>) -> ImportError {
    ImportError::Slack {
        export: root.to_path_buf(),
        file: file.to_string(),
        problem: problem.into(),
    }
}

impl Files {
    fn open(path: &Path) -> Result<Self, ImportError> {
        if path.is_dir() {
            Self::from_dir(path)
        } else {
            Self::from_zip(path)
        }
    }

    fn from_dir(root: &Path) -> Result<Self, ImportError> {
        let mut files = BTreeMap::new();
        let mut total = 0u64;
        for entry in walk(root)? {
            let rel = entry
                .strip_prefix(root)
                .unwrap_or(&entry)
                .to_string_lossy()
                .replace('\\', "/");
            let bytes = std::fs::read(&entry).map_err(|e| err(root, &rel, e.to_string()))?;
            total += bytes.len() as u64;
            if total > MAX_TOTAL_BYTES {
                return Err(err(root, &rel, "the export is larger than 512 MiB"));
            }
            files.insert(rel, bytes);
        }
        Ok(Self {
            root: root.to_path_buf(),
            files,
        })
    }

    fn from_zip(path: &Path) -> Result<Self, ImportError> {
        let file = std::fs::File::open(path).map_err(|e| err(path, "", e.to_string()))?;
        let mut zip = zip::ZipArchive::new(file)
            .map_err(|e| err(path, "", format!("not a folder or a zip file: {e}")))?;
        let mut files = BTreeMap::new();
        let mut total = 0u64;
        for i in 0..zip.len() {
            let mut entry = zip.by_index(i).map_err(|e| err(path, "", e.to_string()))?;
            // Names come from the archive: keep them as keys only, never as paths.
            let name = entry
                .name()
                .map_err(|e| err(path, "", e.to_string()))?
                .trim_start_matches("./")
                .to_string();
            if !entry.is_file() || !name.ends_with(".json") {
                continue;
            }
            // The sizes an archive declares can lie: read at most what is left, plus one
            // byte to notice more.
            let mut bytes = Vec::new();
            (&mut entry)
                .take(MAX_TOTAL_BYTES - total + 1)
                .read_to_end(&mut bytes)
                .map_err(|e| err(path, &name, e.to_string()))?;
            total += bytes.len() as u64;
            if total > MAX_TOTAL_BYTES {
                return Err(err(path, &name, "the export is larger than 512 MiB"));
            }
            files.insert(name, bytes);
        }
        Ok(Self {
            root: path.to_path_buf(),
            files,
        })
    }

    fn json(&self, name: &str) -> Result<Option<Value>, ImportError> {
        let Some(bytes) = self.files.get(name) else {
            return Ok(None);
        };
        serde_json::from_slice(bytes)
            .map(Some)
            .map_err(|e| err(&self.root, name, e.to_string()))
    }
}

fn walk(root: &Path) -> Result<Vec<PathBuf>, ImportError> {
    let mut out = Vec::new();
    let mut dirs = vec![root.to_path_buf()];
    while let Some(dir) = dirs.pop() {
        let rd = std::fs::read_dir(&dir)
            .map_err(|e| err(root, &dir.display().to_string(), e.to_string()))?;
        for e in rd.flatten() {
            let p = e.path();
            match e.file_type() {
                Ok(t) if t.is_dir() => dirs.push(p),
                Ok(t) if t.is_file() && p.extension().is_some_and(|x| x == "json") => out.push(p),
                _ => {}
            }
        }
    }
    Ok(out)
}

/// A day file's name: `2025-05-02.json`.
fn is_day_file(name: &str) -> bool {
    let Some(stem) = name.strip_suffix(".json") else {
        return false;
    };
    chrono::NaiveDate::parse_from_str(stem, "%Y-%m-%d").is_ok()
}

/// What reading an export found.
#[derive(Debug, Default)]
pub struct SlackRead {
    pub discussions: Vec<Discussion>,
    pub threads: usize,
    /// Files that could not be read, with why (the rest was read).
    pub problems: Vec<String>,
}

/// Read the export at `path` (folder or zip), only `channels` when given.
pub fn read(path: &Path, channels: &[String]) -> Result<SlackRead, ImportError> {
    let files = Files::open(path)?;
    let users = user_names(&files)?;
    // Channel folders: those named in channels.json, else any folder of day files.
    let mut names: Vec<String> = match files.json("channels.json")? {
        Some(Value::Array(list)) => list
            .iter()
            .filter_map(|c| c.get("name").and_then(Value::as_str).map(str::to_string))
            .collect(),
        _ => Vec::new(),
    };
    if names.is_empty() {
        names = files
            .files
            .keys()
            .filter_map(|k| k.split_once('/'))
            .filter(|(_, f)| is_day_file(f))
            .map(|(d, _)| d.to_string())
            .collect();
        names.dedup();
    }
    if names.is_empty() {
        return Err(err(
            path,
            "channels.json",
            "not a Slack export: no channels.json and no channel folders of YYYY-MM-DD.json files",
        ));
    }
    if !channels.is_empty() {
        names.retain(|n| channels.iter().any(|c| c.trim_start_matches('#') == n));
    }
    let mut out = SlackRead::default();
    for channel in names {
        let mut messages: Vec<Value> = Vec::new();
        let prefix = format!("{channel}/");
        for (name, _) in files
            .files
            .iter()
            .filter(|(k, _)| k.strip_prefix(&prefix).is_some_and(is_day_file))
        {
            match files.json(name) {
                Ok(Some(Value::Array(day))) => messages.extend(day),
                Ok(_) => out.problems.push(format!("{name}: not a list of messages")),
                Err(e) => out.problems.push(e.to_string()),
            }
        }
        let threads = threads(messages);
        out.threads += threads.len();
        for (ts, msgs) in threads {
            out.discussions
                .push(discussion(&channel, &ts, &msgs, &users));
        }
    }
    Ok(out)
}

fn user_names(files: &Files) -> Result<HashMap<String, String>, ImportError> {
    let mut out = HashMap::new();
    if let Some(Value::Array(users)) = files.json("users.json")? {
        for u in users {
            let id = u.get("id").and_then(Value::as_str).unwrap_or_default();
            let name = [
                "/profile/display_name",
                "/profile/real_name",
                "/real_name",
                "/name",
            ]
            .iter()
            .find_map(|p| {
                u.pointer(p)
                    .and_then(Value::as_str)
                    .filter(|s| !s.is_empty())
            })
            .unwrap_or(id);
            out.insert(id.to_string(), name.to_string());
        }
    }
    Ok(out)
}

/// Messages grouped by thread (a message outside a thread is a thread of one), oldest
/// first within each.
fn threads(messages: Vec<Value>) -> BTreeMap<String, Vec<Value>> {
    let mut out: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    for m in messages {
        let subtype = m.get("subtype").and_then(Value::as_str).unwrap_or("");
        if matches!(
            subtype,
            "channel_join" | "channel_leave" | "channel_topic" | "channel_purpose"
        ) {
            continue;
        }
        let Some(ts) = m.get("ts").and_then(Value::as_str).map(str::to_string) else {
            continue;
        };
        let thread = m
            .get("thread_ts")
            .and_then(Value::as_str)
            .map(str::to_string)
            .unwrap_or(ts);
        out.entry(thread).or_default().push(m);
    }
    for msgs in out.values_mut() {
        msgs.sort_by(|a, b| ts_of(a).total_cmp(&ts_of(b)));
    }
    out
}

fn ts_of(m: &Value) -> f64 {
    m.get("ts")
        .and_then(Value::as_str)
        .and_then(|t| t.parse().ok())
        .unwrap_or(0.0)
}

static LINK: LazyLock<Option<Regex>> =
    LazyLock::new(|| Regex::new(r"<(https?://[^|>]+)(?:\|[^>]*)?>").ok());
static MENTION: LazyLock<Option<Regex>> = LazyLock::new(|| Regex::new(r"<@([A-Z0-9]+)>").ok());

/// A message's text in plain words: its text and its attachments' (alert bots put the
/// alert there), links unwrapped, mentions named.
fn message_text(m: &Value, users: &HashMap<String, String>) -> String {
    let mut parts: Vec<String> = Vec::new();
    if let Some(t) = m.get("text").and_then(Value::as_str) {
        parts.push(t.to_string());
    }
    for a in m
        .get("attachments")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        for k in ["pretext", "title", "text"] {
            if let Some(t) = a.get(k).and_then(Value::as_str) {
                parts.push(t.to_string());
            }
        }
        for f in a
            .get("fields")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let title = f.get("title").and_then(Value::as_str).unwrap_or("");
            let value = f.get("value").and_then(Value::as_str).unwrap_or("");
            parts.push(format!("{title}: {value}"));
        }
    }
    let mut text = parts.join("\n");
    if let Some(re) = LINK.as_ref() {
        text = re.replace_all(&text, "$1").into_owned();
    }
    if let Some(re) = MENTION.as_ref() {
        text = re
            .replace_all(&text, |c: &regex::Captures| {
                let id = c.get(1).map_or("", |m| m.as_str());
                format!("@{}", users.get(id).map_or(id, String::as_str))
            })
            .into_owned();
    }
    text.replace("&gt;", ">")
        .replace("&lt;", "<")
        .replace("&amp;", "&")
}

fn discussion(
    channel: &str,
    ts: &str,
    msgs: &[Value],
    users: &HashMap<String, String>,
) -> Discussion {
    let texts: Vec<String> = msgs.iter().map(|m| message_text(m, users)).collect();
    let day = ts
        .split('.')
        .next()
        .and_then(|s| s.parse::<i64>().ok())
        .and_then(|s| chrono::DateTime::from_timestamp(s, 0))
        .map(|d| d.format("%Y-%m-%d").to_string())
        .unwrap_or_default();
    Discussion {
        source: format!("slack:#{channel}/{ts}"),
        origin: format!("#{channel} thread, {day}"),
        title: texts.first().cloned().unwrap_or_default(),
        messages: texts.into_iter().skip(1).collect(),
        ..Discussion::default()
    }
}
