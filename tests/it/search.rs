//! `triage search`: hybrid ranking with reasons.

use triage::index::graph::FileGraph;
use triage::index::store::Store;

use crate::common::*;

#[tokio::test]
async fn exact_symbol_and_text_matches_rank_first_with_reasons() {
    let f = Fixture::shop();
    f.git_init();
    let loc = f.location();
    index(&loc, &lexical_config()).await;
    let store = Store::open(&loc.index_dir).await.unwrap();

    let r = triage::index::search(&store, None, "total_amount", 5)
        .await
        .unwrap();
    assert_eq!(r.mode, "lexical");
    let top = &r.files[0];
    assert_eq!(top.path, "checkout/api.py");
    assert!(
        top.reasons
            .iter()
            .any(|x| x.starts_with("symbol: total_amount (function")),
        "{:?}",
        top.reasons
    );
    let c = &top.chunks[0];
    assert_eq!(c.symbol.as_deref(), Some("total_amount"));

    // camelCase identifiers are found from their words.
    let r = triage::index::search(&store, None, "item count", 5)
        .await
        .unwrap();
    assert_eq!(r.files[0].path, "web/src/cart.ts", "{:#?}", r.files);

    // Natural language over doc comments.
    let r = triage::index::search(&store, None, "rate limit requests per client", 5)
        .await
        .unwrap();
    assert_eq!(r.files[0].path, "gateway/server.go", "{:#?}", r.files);

    // Paths named in the query.
    let r = triage::index::search(&store, None, "error in checkout/payments.py", 5)
        .await
        .unwrap();
    assert_eq!(r.files[0].path, "checkout/payments.py");
    assert!(
        r.files[0]
            .reasons
            .iter()
            .any(|x| x == "path named in the query")
    );
}

#[tokio::test]
async fn a_symbol_boost_goes_to_its_own_chunk_every_time() {
    // The file-level chunk (imports and the code at the bottom) spans the function's
    // lines too; the boost and its reason belong to the function's chunk.
    let f = Fixture::empty();
    let mut text = String::from("import os\nimport sys\n\n");
    for i in 0..3 {
        text.push_str(&format!(
            "def helper_{i}(x):\n    return os.path.join(x, '{i}')\n\n\n"
        ));
    }
    // Long enough to be a chunk of its own, not merged with its small neighbours.
    text.push_str("def reload_settings(path):\n");
    for i in 0..10 {
        text.push_str(&format!("    value_{i} = os.environ.get(path + '{i}')\n"));
    }
    text.push_str("    return value_0\n\n\n");
    text.push_str("if __name__ == '__main__':\n    reload_settings(sys.argv[1])\n");
    f.write("app/settings.py", &text);
    let loc = f.location();
    index(&loc, &lexical_config()).await;
    let store = Store::open(&loc.index_dir).await.unwrap();
    for _ in 0..10 {
        let r = triage::index::search(&store, None, "reload_settings argv", 5)
            .await
            .unwrap();
        let top = &r.files[0];
        assert_eq!(top.path, "app/settings.py");
        let boosted: Vec<_> = top
            .chunks
            .iter()
            .filter(|c| {
                c.reasons
                    .iter()
                    .any(|x| x.starts_with("symbol: reload_settings"))
            })
            .collect();
        assert_eq!(boosted.len(), 1, "{:#?}", top.chunks);
        assert_eq!(boosted[0].symbol.as_deref(), Some("reload_settings"));
        assert_eq!(top.chunks[0].symbol.as_deref(), Some("reload_settings"));
    }
}

#[tokio::test]
async fn hybrid_search_uses_vectors_when_present() {
    let f = Fixture::shop();
    f.git_init();
    let loc = f.location();
    let cfg = model_config();
    index(&loc, &cfg).await;
    let store = Store::open(&loc.index_dir).await.unwrap();
    // The embedder the index recorded, as search and issue load it.
    let embedder = triage::index::embedder_for(&store, &cfg)
        .await
        .unwrap()
        .unwrap();
    let r = triage::index::search(
        &store,
        Some(&embedder),
        "bill the customer's credit card",
        5,
    )
    .await
    .unwrap();
    assert_eq!(r.mode, "hybrid");
    assert!(r.notes.is_empty(), "{:?}", r.notes);
    let payments = r
        .files
        .iter()
        .take(3)
        .find(|f| f.path == "checkout/payments.py")
        .unwrap_or_else(|| panic!("{:#?}", r.files));
    assert!(
        payments
            .reasons
            .iter()
            .any(|x| x.starts_with("semantic: similarity")),
        "{:?}",
        payments.reasons
    );
}

#[test]
fn cli_search_json_shape() {
    let f = Fixture::shop();
    let out = triage(&["index", "--json"], f.root());
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let s: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    for key in [
        "files",
        "chunks",
        "symbols",
        "skipped",
        "timings_ms",
        "embeddings",
    ] {
        assert!(s.get(key).is_some(), "summary has {key}: {s:#}");
    }
    let out = triage(
        &["search", "WorkerConfig", "from_env", "--json", "--top", "3"],
        f.root(),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let r: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(r["mode"], "lexical");
    let files = r["files"].as_array().unwrap();
    assert!(files.len() <= 3 && !files.is_empty());
    assert_eq!(files[0]["path"], "worker/src/main.rs");
    let chunk = &files[0]["chunks"][0];
    for key in [
        "symbol",
        "kind",
        "start_line",
        "end_line",
        "score",
        "reasons",
    ] {
        assert!(chunk.get(key).is_some(), "chunk has {key}: {chunk:#}");
    }
    // Human output names file, lines and why.
    let out = triage(&["search", "charge_card"], f.root());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("checkout/payments.py") && text.contains("why:"),
        "{text}"
    );
}

#[tokio::test]
async fn whole_files_rank_by_matches_over_their_length() {
    // A long module naming each word of the issue once, far apart, against a short one
    // about exactly that: as whole documents the short one ranks first.
    let f = Fixture::empty();
    let mut long = String::new();
    for (i, w) in ["retry", "backoff", "timeout", "jitter"].iter().enumerate() {
        long.push_str(&format!("def {w}_step_{i}(x):\n"));
        for j in 0..40 {
            long.push_str(&format!("    value_{j} = x + {j}\n"));
        }
        long.push_str("    return x\n\n\n");
    }
    f.write("app/engine.py", &long);
    f.write(
        "app/retry.py",
        "def retry_with_backoff(call, timeout):\n    \"\"\"Retry with jitter and backoff until the timeout.\"\"\"\n    return call()\n",
    );
    f.write("app/unrelated.py", "def render(page):\n    return page\n");
    let loc = f.location();
    index(&loc, &lexical_config()).await;
    let store = Store::open(&loc.index_dir).await.unwrap();
    let paths = store
        .files_matching("retry backoff timeout jitter", 10)
        .await
        .unwrap();
    assert_eq!(paths, ["app/retry.py", "app/engine.py"]);

    let only_files = triage::index::localize::Signals::parse("files").unwrap();
    let r = triage::index::localize::rank_files_for_issue(
        &store,
        None,
        "retries ignore the backoff and the timeout",
        5,
        only_files,
    )
    .await
    .unwrap();
    assert_eq!(r.files[0].path, "app/retry.py", "{:#?}", r.files);
    assert!(r.files[0].reasons[0].starts_with("file text match"));
}

#[tokio::test]
async fn a_file_found_as_a_whole_names_the_functions_the_issue_describes() {
    // Only the whole-file signal runs, so no chunk names a function: the file's own
    // functions are matched against the issue's words.
    let f = Fixture::empty();
    f.write(
        "shop/billing.py",
        "def charge(card, amount):\n    \"\"\"Charge the card.\"\"\"\n    return card.pay(amount)\n\n\n\
         def refund_payment(payment):\n    \"\"\"Give the money back in the payment's currency.\"\"\"\n    cents = round(payment.amount * 100)\n    return payment.currency.refund(cents)\n\n\n\
         def render_invoice(order):\n    return order.lines\n",
    );
    f.write("shop/pages.py", "def render(page):\n    return page\n");
    let loc = f.location();
    index(&loc, &lexical_config()).await;
    let store = Store::open(&loc.index_dir).await.unwrap();
    let only_files = triage::index::localize::Signals::parse("files").unwrap();
    let r = triage::index::localize::rank_files_for_issue(
        &store,
        None,
        "refunds in another currency come back rounded wrong",
        5,
        only_files,
    )
    .await
    .unwrap();
    let billing = r.files.iter().find(|f| f.path == "shop/billing.py");
    let names: Vec<&str> = billing
        .map(|f| f.symbols.iter().map(|s| s.name.as_str()).collect())
        .unwrap_or_default();
    assert_eq!(names.first(), Some(&"refund_payment"), "{:#?}", r.files);
    // A function the issue says nothing about is not named.
    assert!(!names.contains(&"render_invoice"), "{names:?}");
}

#[tokio::test]
async fn a_file_the_first_one_calls_is_lifted_by_default_and_says_why() {
    let f = Fixture::empty();
    f.write(
        "app/render.py",
        "\"\"\"Render a page from the template cache.\"\"\"\nfrom app.loader import load_template\n\n\ndef render_page(name, cache):\n    \"\"\"The template cache is stale after a deploy: render from the template cache.\"\"\"\n    cached = cache.get(name)\n    if cached is None:\n        cached = load_template(name)\n        cache[name] = cached\n    return cached.render()\n",
    );
    f.write(
        "app/cache.py",
        "\"\"\"The template cache.\"\"\"\n\n\nclass TemplateCache(dict):\n    \"\"\"A stale template cache entry is dropped after a deploy.\"\"\"\n\n    def drop_stale(self):\n        self.clear()\n",
    );
    f.write(
        "app/views.py",
        "\"\"\"Views that read the template cache.\"\"\"\n\n\ndef index_view(request):\n    \"\"\"Index page, rendered from the template cache.\"\"\"\n    return request.app.pages['index']\n",
    );
    f.write(
        "app/loader.py",
        "\"\"\"Reading files from disk.\"\"\"\n\n\ndef load_template(name):\n    \"\"\"Read a template file.\"\"\"\n    with open(name) as fh:\n        return fh.read()\n",
    );
    f.write(
        "app/mail.py",
        "\"\"\"Outgoing mail.\"\"\"\n\n\ndef send_mail(to, body):\n    \"\"\"Send one message after a deploy.\"\"\"\n    return (to, body)\n",
    );
    // Each file its own commit: no two files ever changed together, so the only
    // link between them is render.py calling loader.py's function.
    let paths = [
        "app/cache.py",
        "app/views.py",
        "app/loader.py",
        "app/mail.py",
        "app/render.py",
    ];
    git(f.root(), &["init", "-q", "-b", "main"]);
    for p in paths {
        git(f.root(), &["add", p]);
        git(f.root(), &["commit", "-q", "-m", &format!("Add {p}")]);
    }
    let loc = f.location();
    index(&loc, &lexical_config()).await;
    let store = Store::open(&loc.index_dir).await.unwrap();
    // A one-hop expansion reads only its seeds' links and finds what the whole graph does.
    let seeds: std::collections::HashMap<String, f32> =
        [("app/render.py", 1.0), ("app/mail.py", 0.5)]
            .into_iter()
            .map(|(p, s)| (p.to_string(), s))
            .collect();
    let seed_paths: Vec<String> = seeds.keys().cloned().collect();
    let whole = FileGraph::load(&store)
        .await
        .unwrap()
        .expand(&seeds, 1, 0.15);
    let around = FileGraph::load_around(&store, &seed_paths)
        .await
        .unwrap()
        .expand(&seeds, 1, 0.15);
    assert!(whole.contains_key("app/loader.py"), "{whole:?}");
    assert_eq!(whole, around);
    let issue = "stale template cache after a deploy";
    let lifted = "related: references with app/render.py";
    let has = |files: &[triage::index::localize::RankedFile]| {
        files
            .iter()
            .find(|f| f.reasons.iter().any(|r| r == lifted))
            .map(|f| f.path.clone())
    };
    let r = triage::index::localize::rank_files_for_issue(
        &store,
        None,
        issue,
        10,
        triage::index::localize::Signals::default(),
    )
    .await
    .unwrap();
    assert_eq!(
        has(&r.files).as_deref(),
        Some("app/loader.py"),
        "{:#?}",
        r.files
    );
    let without =
        triage::index::localize::Signals::parse("fulltext,files,structure,questions,history")
            .unwrap();
    let r = triage::index::localize::rank_files_for_issue(&store, None, issue, 10, without)
        .await
        .unwrap();
    assert_eq!(has(&r.files), None, "{:#?}", r.files);
}
