//! Fixture repositories and helpers shared by the integration tests.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

use triage::config::Config;
use triage::index::{IndexOptions, IndexSummary, run_index};
use triage::repo::RepoLocation;

pub struct Fixture {
    pub dir: tempfile::TempDir,
}

impl Fixture {
    pub fn empty() -> Fixture {
        Fixture {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    /// A small polyglot service repository.
    pub fn shop() -> Fixture {
        let f = Fixture::empty();
        for (path, text) in SHOP_FILES {
            f.write(path, text);
        }
        f
    }

    pub fn root(&self) -> &Path {
        self.dir.path()
    }

    pub fn write(&self, rel: &str, text: &str) {
        let p = self.dir.path().join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }

    pub fn git_init(&self) {
        git(self.root(), &["init", "-q", "-b", "main"]);
        git(self.root(), &["add", "-A"]);
        git(self.root(), &["commit", "-q", "-m", "initial"]);
    }

    pub fn location(&self) -> RepoLocation {
        RepoLocation::resolve(Some(self.root()), None).unwrap()
    }
}

pub fn git(dir: &Path, args: &[&str]) {
    let ok = Command::new("git")
        .args(args)
        .current_dir(dir)
        .env("GIT_AUTHOR_NAME", "Test")
        .env("GIT_AUTHOR_EMAIL", "test@example.com")
        .env("GIT_COMMITTER_NAME", "Test")
        .env("GIT_COMMITTER_EMAIL", "test@example.com")
        .status()
        .unwrap()
        .success();
    assert!(ok, "git {args:?} failed");
}

/// Config for tests: no embeddings unless asked for.
pub fn lexical_config() -> Config {
    let mut c = Config::default();
    c.embed.provider = triage::config::EmbedProvider::None;
    c
}

/// [`lexical_config`] with the model at a loopback server that plays a script (no key).
pub fn scripted_config(url: &str) -> Config {
    let mut c = lexical_config();
    c.llm.base_url = Some(url.to_string());
    c.llm.model = Some("scripted".into());
    c.llm.api_key_env = "TRIAGE_TEST_UNSET_KEY".into();
    c
}

/// The sentence model the test setup installs (scripts/setup).
pub fn test_model_dir() -> PathBuf {
    let dir = std::env::var_os("TRIAGE_TEST_MODEL")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            dirs::home_dir()
                .unwrap()
                .join(".cache/triage/models/all-MiniLM-L6-v2")
        });
    assert!(
        dir.join("model.safetensors").is_file(),
        "test embedding model missing at {}: run scripts/setup",
        dir.display()
    );
    dir
}

pub fn model_config() -> Config {
    let mut c = Config::default();
    c.embed.provider = triage::config::EmbedProvider::Local;
    c.embed.model_dir = Some(test_model_dir());
    c
}

pub async fn index(loc: &RepoLocation, config: &Config) -> IndexSummary {
    run_index(
        loc,
        config,
        &IndexOptions {
            embed: true,
            rebuild: false,
            progress: false,
        },
    )
    .await
    .unwrap()
}

/// Run the real binary.
pub fn triage(args: &[&str], cwd: &Path) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_triage"))
        .args(args)
        .current_dir(cwd)
        .env("XDG_CONFIG_HOME", cwd.join(".xdg-config"))
        .env("XDG_STATE_HOME", cwd.join(".xdg-state"))
        .env("XDG_DATA_HOME", cwd.join(".xdg-data"))
        .env("TRIAGE_EMBED_PROVIDER", "none")
        .output()
        .unwrap()
}

/// `triage ask --json --replay SNAPSHOT -n NAMESPACE ALERT` in a fresh git repository:
/// the commands the walk ran, in order, and the answer's text.
pub fn ask_replay(snapshot: &Path, namespace: &str, alert: &str) -> (Vec<String>, String) {
    let repo = tempfile::tempdir().unwrap();
    git(repo.path(), &["init", "-q"]);
    let out = triage(
        &[
            "ask",
            "--json",
            "--replay",
            snapshot.to_str().unwrap(),
            "-n",
            namespace,
            alert,
        ],
        repo.path(),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let events: Vec<serde_json::Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    let commands = events
        .iter()
        .filter(|e| e["type"] == "tool_call_started")
        .filter_map(|e| e["command"].as_str().map(str::to_string))
        .collect();
    let answer = events
        .iter()
        .find(|e| e["type"] == "turn_complete")
        .and_then(|e| e["answer"]["text"].as_str())
        .unwrap_or_default()
        .to_string();
    (commands, answer)
}

pub const SHOP_FILES: &[(&str, &str)] = &[
    (
        "README.md",
        "# Shop\n\nA small shop: checkout API, worker and web front end.\n\n## Deploy\n\nRun `make deploy`; manifests live in k8s/.\n",
    ),
    (
        "checkout/api.py",
        r#""""Checkout HTTP API."""
import os

from checkout.payments import charge_card


class CheckoutHandler:
    """Handles POST /checkout requests."""

    def post(self, request):
        cart = request.json()
        if not cart.get("items"):
            raise ValueError("cart is empty")
        return charge_card(cart["card"], total_amount(cart))


def total_amount(cart):
    """Sum of item prices in cents."""
    return sum(item["price"] * item["qty"] for item in cart["items"])
"#,
    ),
    (
        "checkout/payments.py",
        r#"import requests

PAYMENT_TIMEOUT_SECONDS = 3


def charge_card(card, amount):
    """Send the charge to the payment processor; retries are the caller's job."""
    resp = requests.post("http://payments:8080/charge", json={"card": card, "amount": amount}, timeout=PAYMENT_TIMEOUT_SECONDS)
    if resp.status_code >= 500:
        raise RuntimeError("payment processor unavailable")
    return resp.json()
"#,
    ),
    (
        "worker/src/main.rs",
        r#"//! Order worker: consumes the orders queue and writes invoices.

use std::time::Duration;

/// Connection settings read from the environment.
#[derive(Debug, Clone)]
pub struct WorkerConfig {
    pub queue_url: String,
    pub batch_size: usize,
}

impl WorkerConfig {
    /// Parse settings, failing on a missing QUEUE_URL.
    pub fn from_env() -> Result<Self, String> {
        let queue_url = std::env::var("QUEUE_URL").map_err(|_| "QUEUE_URL not set".to_string())?;
        Ok(Self { queue_url, batch_size: 64 })
    }
}

fn process_batch(cfg: &WorkerConfig, orders: &[String]) -> usize {
    orders.iter().take(cfg.batch_size).count()
}

fn main() {
    let cfg = WorkerConfig::from_env().expect("config");
    loop {
        let n = process_batch(&cfg, &[]);
        if n == 0 {
            std::thread::sleep(Duration::from_secs(1));
        }
    }
}
"#,
    ),
    (
        "gateway/server.go",
        r#"package gateway

import "net/http"

// RateLimiter limits requests per client.
type RateLimiter struct {
	perSecond int
}

// Allow reports whether a request from client may pass.
func (r *RateLimiter) Allow(client string) bool {
	return r.perSecond > 0
}

func NewServer(limiter *RateLimiter) *http.Server {
	return &http.Server{Addr: ":8080"}
}
"#,
    ),
    (
        "web/src/cart.ts",
        r#"export interface CartItem {
  sku: string;
  qty: number;
}

export class CartStore {
  private items: CartItem[] = [];

  addItem(item: CartItem): void {
    this.items.push(item);
  }

  itemCount(): number {
    return this.items.reduce((n, i) => n + i.qty, 0);
  }
}
"#,
    ),
    (
        "web/src/Button.tsx",
        "export function CheckoutButton(props: { onClick: () => void }) {\n  return <button onClick={props.onClick}>Pay</button>;\n}\n",
    ),
    (
        "web/src/legacy.js",
        "function formatPrice(cents) {\n  return (cents / 100).toFixed(2);\n}\nmodule.exports = { formatPrice };\n",
    ),
    (
        "billing/src/main/java/shop/InvoiceService.java",
        r#"package shop;

/** Creates invoices for paid orders. */
public class InvoiceService {
    public Invoice createInvoice(Order order) {
        return new Invoice(order.id(), order.total());
    }
}
"#,
    ),
    (
        "k8s/checkout.yaml",
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: checkout-api\n  namespace: shop\nspec:\n  replicas: 3\n  template:\n    spec:\n      containers:\n        - name: api\n          image: registry.example.com/shop/checkout-api:1.4.2\n",
    ),
    (
        "Dockerfile",
        "FROM python:3.12-slim AS base\nCOPY checkout /app/checkout\nCMD [\"python\", \"-m\", \"checkout.api\"]\n",
    ),
    (
        "deploy.sh",
        "#!/bin/sh\nset -e\ndeploy() {\n  kubectl apply -f k8s/\n}\ndeploy\n",
    ),
    (
        "Cargo.toml",
        "[package]\nname = \"worker\"\nversion = \"0.1.0\"\n\n[dependencies]\n",
    ),
];
