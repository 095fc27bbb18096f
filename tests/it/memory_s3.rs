//! Memories shared by a team through an S3-compatible store (moto on loopback); built
//! with the `s3` feature only.

use serde_json::Value;

use crate::common::*;
use crate::memory::{mem, stdout};

/// PyPI's moto in server mode on loopback: an S3-compatible store (`scripts/setup`
/// installs it into `~/.cache/triage-moto`, or `$TRIAGE_TEST_MOTO`).
struct Moto {
    child: std::process::Child,
    port: u16,
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Moto {
    fn start() -> Moto {
        let dir = std::env::var_os("TRIAGE_TEST_MOTO")
            .map(std::path::PathBuf::from)
            .unwrap_or_else(|| dirs::home_dir().unwrap().join(".cache/triage-moto"));
        assert!(
            dir.join("moto").is_dir(),
            "moto is not installed in {} (scripts/setup installs it)",
            dir.display()
        );
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = std::process::Command::new("python3")
            .args([
                "-m",
                "moto.server",
                "-H",
                "127.0.0.1",
                "-p",
                &port.to_string(),
            ])
            .env("PYTHONPATH", &dir)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("python3 runs moto");
        let moto = Moto { child, port };
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(std::time::Instant::now() < deadline, "moto did not start");
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        moto
    }

    /// Create a bucket with a plain S3 `PUT /bucket`.
    fn bucket(&self, name: &str) {
        use std::io::{Read, Write};
        let mut s = std::net::TcpStream::connect(("127.0.0.1", self.port)).unwrap();
        write!(
            s,
            "PUT /{name} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
            self.port
        )
        .unwrap();
        let mut reply = String::new();
        s.read_to_string(&mut reply).unwrap();
        assert!(reply.starts_with("HTTP/1.1 200"), "{reply}");
    }
}

#[test]
fn a_team_shares_memories_on_an_s3_compatible_store() {
    let moto = Moto::start();
    moto.bucket("triage-memory");
    let f = Fixture::empty();
    let config = f.root().join("config.toml");
    std::fs::write(
        &config,
        format!(
            "[memory]\nuri = \"s3://triage-memory/team\"\n\n[memory.storage_options]\naws_endpoint = \"http://127.0.0.1:{}\"\naws_region = \"us-east-1\"\naws_allow_http = \"true\"\naws_access_key_id = \"testing\"\naws_secret_access_key = \"testing\"\n",
            moto.port
        ),
    )
    .unwrap();
    let run = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_triage"))
            .arg("memory")
            .args(args)
            .current_dir(f.root())
            .env("TRIAGE_CONFIG", &config)
            .env_remove("TRIAGE_MEMORY_URI")
            .output()
            .unwrap()
    };
    // One engineer's correction…
    let id = stdout(&run(&[
        "add",
        "--kind",
        "correction",
        "--scope",
        "service=orders-worker",
        "lag at 17:00 is the analytics backfill; leave it alone",
    ]))
    .trim()
    .to_string();
    // …two more processes writing at once…
    let writers: Vec<_> = (0..2)
        .map(|w| {
            let root = f.root().to_path_buf();
            let config = config.clone();
            std::thread::spawn(move || {
                for i in 0..3 {
                    let o = std::process::Command::new(env!("CARGO_BIN_EXE_triage"))
                        .args(["memory", "add", &format!("writer {w} memory {i}")])
                        .current_dir(&root)
                        .env("TRIAGE_CONFIG", &config)
                        .env_remove("TRIAGE_MEMORY_URI")
                        .output()
                        .unwrap();
                    stdout(&o);
                }
            })
        })
        .collect();
    for w in writers {
        w.join().unwrap();
    }
    // …and everyone reads all of them from the bucket, exactly as written.
    let listed: Value = serde_json::from_str(&stdout(&run(&["list", "--json"]))).unwrap();
    assert_eq!(listed.as_array().unwrap().len(), 7, "{listed}");
    let shown: Value = serde_json::from_str(&stdout(&run(&["show", &id]))).unwrap();
    assert_eq!(shown["scope"]["service"], "orders-worker");
    let exported = stdout(&run(&["export"]));
    let local = f.root().join("local");
    let file = f.root().join("export.json");
    std::fs::write(&file, &exported).unwrap();
    stdout(&mem(&["import", file.to_str().unwrap()], f.root(), &local));
    let back = stdout(&mem(&["export"], f.root(), &local));
    assert_eq!(
        serde_json::from_str::<Value>(&exported).unwrap(),
        serde_json::from_str::<Value>(&back).unwrap()
    );
}
