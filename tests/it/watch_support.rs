//! What the `triage watch` tests run against: the watch as a child process with its
//! events collected, a real Alertmanager on loopback, a loopback incoming-webhook
//! receiver, raw HTTP calls, and the alerts and payloads they send.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

pub(crate) const DEADLINE: Duration = Duration::from_secs(120);

fn shop() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/kube/shop.json")
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// One HTTP/1.1 request on loopback; the status and the body.
pub(crate) fn http(
    addr: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> (u16, String) {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let mut req = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    s.write_all(req.as_bytes()).unwrap();
    // A server may answer (413) before reading a large body.
    let _ = s.write_all(body);
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    let text = String::from_utf8_lossy(&out).to_string();
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    (status, body)
}

/// A loopback incoming-webhook receiver that keeps every JSON body it gets.
pub(crate) struct Hook {
    addr: String,
    got: Arc<Mutex<Vec<Value>>>,
}

impl Hook {
    pub(crate) fn start() -> Hook {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let got = Arc::new(Mutex::new(Vec::new()));
        let sink = got.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let sink = sink.clone();
                std::thread::spawn(move || serve_hook(stream, &sink));
            }
        });
        Hook { addr, got }
    }

    pub(crate) fn url(&self) -> String {
        format!("http://{}/hook", self.addr)
    }

    pub(crate) fn bodies(&self) -> Vec<Value> {
        self.got.lock().unwrap().clone()
    }
}

fn serve_hook(stream: TcpStream, sink: &Mutex<Vec<Value>>) {
    let mut reader = BufReader::new(stream);
    let mut length = 0usize;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let l = line.trim_end();
        if l.is_empty() {
            break;
        }
        if let Some((k, v)) = l.split_once(':')
            && k.eq_ignore_ascii_case("content-length")
        {
            length = v.trim().parse().unwrap_or(0);
        }
    }
    let mut body = vec![0; length];
    if reader.read_exact(&mut body).is_ok()
        && let Ok(v) = serde_json::from_slice(&body)
    {
        sink.lock().unwrap().push(v);
    }
    let _ = reader
        .get_mut()
        .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok");
}

/// `triage watch --json` as a child process, its events collected as they come.
pub(crate) struct Watch {
    child: Child,
    events: Arc<Mutex<Vec<Value>>>,
    pub(crate) addr: String,
}

impl Drop for Watch {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Watch {
    pub(crate) fn start(cwd: &Path, args: &[&str], env: &[(&str, &str)]) -> Watch {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_triage"));
        cmd.args(["watch", "--json", "--listen", "127.0.0.1:0", "--replay"])
            .arg(shop())
            .args(args)
            .current_dir(cwd)
            .env("XDG_CONFIG_HOME", cwd.join(".xdg-config"))
            .env("XDG_STATE_HOME", cwd.join(".xdg-state"))
            .env("XDG_DATA_HOME", cwd.join(".xdg-data"))
            .env("TRIAGE_EMBED_PROVIDER", "none")
            .env_remove("OPENAI_MODEL")
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().unwrap();
        let stdout = child.stdout.take().unwrap();
        let events = Arc::new(Mutex::new(Vec::new()));
        let sink = events.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Ok(v) = serde_json::from_str::<Value>(&line) {
                    sink.lock().unwrap().push(v);
                }
            }
        });
        let mut w = Watch {
            child,
            events,
            addr: String::new(),
        };
        let listening = w.wait("listening", |e| e["type"] == "listening");
        w.addr = listening["address"].as_str().unwrap().to_string();
        w
    }

    pub(crate) fn url(&self) -> String {
        format!("http://{}/alertmanager", self.addr)
    }

    pub(crate) fn all(&self, pred: impl Fn(&Value) -> bool) -> Vec<Value> {
        self.events
            .lock()
            .unwrap()
            .iter()
            .filter(|e| pred(e))
            .cloned()
            .collect()
    }

    /// The first event that matches, waiting for it.
    pub(crate) fn wait(&self, what: &str, pred: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + DEADLINE;
        loop {
            if let Some(e) = self.all(&pred).into_iter().next() {
                return e;
            }
            assert!(
                Instant::now() < deadline,
                "no {what} event; got {:#?}",
                self.events.lock().unwrap()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Wait until `n` events match.
    pub(crate) fn wait_n(&self, what: &str, n: usize, pred: impl Fn(&Value) -> bool) -> Vec<Value> {
        let deadline = Instant::now() + DEADLINE;
        loop {
            let got = self.all(&pred);
            if got.len() >= n {
                return got;
            }
            assert!(
                Instant::now() < deadline,
                "{} of {n} {what} events",
                got.len()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

/// A real Alertmanager on loopback whose one receiver is the watch.
pub(crate) struct Alertmanager {
    child: Child,
    addr: String,
}

impl Drop for Alertmanager {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Alertmanager {
    pub(crate) fn start(
        dir: &Path,
        webhook: &str,
        token_file: &Path,
        group_by: &str,
    ) -> Alertmanager {
        let config = dir.join("alertmanager.yml");
        std::fs::write(
            &config,
            format!(
                "route:\n  receiver: triage\n  group_by: {group_by}\n  group_wait: 1s\n  group_interval: 2s\n  repeat_interval: 3s\nreceivers:\n- name: triage\n  webhook_configs:\n  - url: {webhook}\n    send_resolved: true\n    http_config:\n      authorization:\n        type: Bearer\n        credentials_file: {}\n",
                token_file.display()
            ),
        )
        .unwrap();
        let addr = format!("127.0.0.1:{}", free_port());
        let child = Command::new("prometheus-alertmanager")
            .arg(format!("--config.file={}", config.display()))
            .arg(format!("--storage.path={}", dir.join("am-data").display()))
            .arg(format!("--web.listen-address={addr}"))
            .arg("--cluster.listen-address=")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("prometheus-alertmanager is installed (scripts/setup)");
        let am = Alertmanager { child, addr };
        let deadline = Instant::now() + DEADLINE;
        while TcpStream::connect(&am.addr).is_err()
            || http(&am.addr, "GET", "/-/ready", &[], b"").0 != 200
        {
            assert!(Instant::now() < deadline, "Alertmanager did not start");
            std::thread::sleep(Duration::from_millis(100));
        }
        am
    }

    /// Post alerts to Alertmanager's own API.
    pub(crate) fn post(&self, alerts: &Value) {
        let body = serde_json::to_vec(alerts).unwrap();
        let (status, text) = http(&self.addr, "POST", "/api/v2/alerts", &[], &body);
        assert_eq!(status, 200, "{text}");
    }
}

pub(crate) fn payload(alertname: &str, n: usize) -> Value {
    json!({
        "version": "4",
        "groupKey": format!("{{}}:{{alertname=\"{alertname}\"}}"),
        "status": "firing",
        "receiver": "triage",
        "groupLabels": {"alertname": alertname},
        "commonLabels": {},
        "commonAnnotations": {},
        "externalURL": "http://alertmanager.example",
        "alerts": (0..n).map(|i| json!({
            "status": "firing",
            "labels": {"alertname": alertname, "namespace": "shop", "deployment": "payments", "i": i.to_string()},
            "annotations": {"summary": "payments has no available replicas"},
            "startsAt": "2025-06-01T11:50:00Z",
            "fingerprint": format!("{alertname}-{i}"),
        })).collect::<Vec<_>>(),
    })
}
