//! `triage index`: what it stores, and what a re-run redoes.

use std::time::{Duration, SystemTime};

use triage::index::store::{IndexTable, Store};
use triage::index::walk::SkipReason;

use crate::common::*;

#[tokio::test]
async fn indexes_every_language_with_symbols_and_chunks() {
    let f = Fixture::shop();
    f.git_init();
    let loc = f.location();
    let s = index(&loc, &lexical_config()).await;
    assert_eq!(s.files.indexed, SHOP_FILES.len(), "{s:#?}");
    assert_eq!(s.files.parsed, SHOP_FILES.len());
    assert!(s.warnings.is_empty(), "{:?}", s.warnings);
    assert!(
        loc.index_dir.join(".gitignore").is_file(),
        "index dir ignores itself"
    );

    let store = Store::open(&loc.index_dir).await.unwrap();
    let defs = store
        .count_where(IndexTable::Symbols, "role = 'def'".into())
        .await
        .unwrap();
    assert_eq!(defs, s.symbols);
    for (name, kind, path) in [
        ("CheckoutHandler", "class", "checkout/api.py"),
        ("total_amount", "function", "checkout/api.py"),
        ("WorkerConfig", "struct", "worker/src/main.rs"),
        ("from_env", "method", "worker/src/main.rs"),
        ("Allow", "method", "gateway/server.go"),
        ("CartStore", "class", "web/src/cart.ts"),
        ("CheckoutButton", "function", "web/src/Button.tsx"),
        ("formatPrice", "function", "web/src/legacy.js"),
        (
            "createInvoice",
            "method",
            "billing/src/main/java/shop/InvoiceService.java",
        ),
    ] {
        let n = store
            .count_where(
                IndexTable::Symbols,
                format!("name = '{name}' AND kind = '{kind}' AND path = '{path}' AND role = 'def'"),
            )
            .await
            .unwrap();
        assert_eq!(n, 1, "{name} {kind} in {path}");
    }
    // Sections of prose and config are chunks too.
    let n = store
        .count_where(
            IndexTable::Chunks,
            "path = 'k8s/checkout.yaml' AND symbol = 'Deployment/checkout-api'".into(),
        )
        .await
        .unwrap();
    assert_eq!(n, 1);
    let n = store
        .count_where(
            IndexTable::Chunks,
            "path = 'README.md' AND symbols LIKE '%Deploy%'".into(),
        )
        .await
        .unwrap();
    assert_eq!(n, 1);
}

#[tokio::test]
async fn rerun_reparses_only_what_changed() {
    let f = Fixture::shop();
    f.git_init();
    let loc = f.location();
    let cfg = lexical_config();
    let first = index(&loc, &cfg).await;

    // Nothing changed: nothing read.
    let s = index(&loc, &cfg).await;
    assert_eq!(
        (s.files.parsed, s.files.touched, s.files.unchanged),
        (0, 0, first.files.indexed)
    );
    assert_eq!(s.chunks, first.chunks);

    // Touched but unchanged: read and hashed, not parsed.
    let p = f.root().join("checkout/api.py");
    let file = std::fs::File::options().write(true).open(&p).unwrap();
    file.set_modified(SystemTime::now() + Duration::from_secs(5))
        .unwrap();
    drop(file);
    let s = index(&loc, &cfg).await;
    assert_eq!((s.files.parsed, s.files.touched), (0, 1));
    let s = index(&loc, &cfg).await;
    assert_eq!(
        (s.files.parsed, s.files.touched),
        (0, 0),
        "mtime was recorded"
    );

    // Edited: re-parsed, old chunks replaced.
    f.write(
        "checkout/payments.py",
        "def refund_card(card, amount):\n    \"\"\"Give the money back.\"\"\"\n    return None\n",
    );
    let s = index(&loc, &cfg).await;
    assert_eq!(s.files.parsed, 1);
    let store = Store::open(&loc.index_dir).await.unwrap();
    let q = |name: &str| format!("name = '{name}' AND role = 'def'");
    assert_eq!(
        store
            .count_where(IndexTable::Symbols, q("charge_card"))
            .await
            .unwrap(),
        0
    );
    assert_eq!(
        store
            .count_where(IndexTable::Symbols, q("refund_card"))
            .await
            .unwrap(),
        1
    );
    // A file's definitions, looked up by path, are the new ones only.
    let defs = store
        .definitions_in_files(&["checkout/payments.py".to_string()])
        .await
        .unwrap();
    let names: Vec<&str> = defs.iter().map(|d| d.name.as_str()).collect();
    assert_eq!(names, ["refund_card"]);

    // Deleted: gone from every table.
    std::fs::remove_file(f.root().join("web/src/legacy.js")).unwrap();
    let s = index(&loc, &cfg).await;
    assert_eq!(s.files.removed, 1);
    assert_eq!(s.files.indexed, first.files.indexed - 1);
    let store = Store::open(&loc.index_dir).await.unwrap();
    for t in [IndexTable::Files, IndexTable::Chunks, IndexTable::Symbols] {
        let n = store
            .count_where(t, "path = 'web/src/legacy.js'".into())
            .await
            .unwrap();
        assert_eq!(n, 0);
    }

    // Newly excluded by config: leaves the index.
    let mut cfg2 = cfg.clone();
    cfg2.index.exclude = vec!["web/".into()];
    let s = index(&loc, &cfg2).await;
    assert_eq!(s.files.removed, 2);
}

#[tokio::test]
async fn honours_gitignore_hidden_and_vendored() {
    let f = Fixture::shop();
    f.write(".gitignore", "build-output/\n*.log\n");
    f.write("build-output/gen.py", "def generated(): pass\n");
    f.write("server.log", "lots of log\n");
    f.write(".hidden/secret.py", "def hidden(): pass\n");
    f.write("node_modules/left-pad/index.js", "function leftPad() {}\n");
    f.write("web/dist/app.min.js", "function x(){}\n");
    f.write("vendor/lib/dep.go", "package dep\n");
    f.git_init();
    let loc = f.location();
    let s = index(&loc, &lexical_config()).await;
    let store = Store::open(&loc.index_dir).await.unwrap();
    for p in [
        "build-output/gen.py",
        "server.log",
        ".hidden/secret.py",
        "node_modules/left-pad/index.js",
        "web/dist/app.min.js",
        "vendor/lib/dep.go",
    ] {
        let n = store
            .count_where(IndexTable::Files, format!("path = '{p}'"))
            .await
            .unwrap();
        assert_eq!(n, 0, "{p} must not be indexed");
    }
    // .gitignore itself has no known type; everything else from the fixture is in.
    assert_eq!(s.files.indexed, SHOP_FILES.len());
}

#[tokio::test]
async fn embeddings_fill_in_after_the_lexical_index_and_resume() {
    let f = Fixture::shop();
    f.git_init();
    let loc = f.location();
    let cfg = model_config();
    // Lexical pass only: vectors pending, search already works.
    let s = triage::index::run_index(
        &loc,
        &cfg,
        &triage::index::IndexOptions {
            embed: false,
            rebuild: false,
            progress: false,
        },
    )
    .await
    .unwrap();
    assert_eq!(s.embeddings.pending, s.chunks);
    assert!(
        s.embeddings
            .embedder
            .as_deref()
            .unwrap()
            .starts_with("local:")
    );
    let store = Store::open(&loc.index_dir).await.unwrap();
    let r = triage::index::search(&store, None, "payment processor", 5)
        .await
        .unwrap();
    assert_eq!(r.files[0].path, "checkout/payments.py");

    // The next run embeds what is pending.
    let s = index(&loc, &cfg).await;
    assert_eq!(s.files.parsed, 0);
    assert_eq!(s.embeddings.embedded, s.chunks);
    assert_eq!(s.embeddings.pending, 0);
    let store = Store::open(&loc.index_dir).await.unwrap();
    assert_eq!(store.count_pending_vectors().await.unwrap(), 0);

    // An edit embeds only the new chunks.
    f.write(
        "web/src/legacy.js",
        "function formatPrice(cents) {\n  return `$${cents / 100}`;\n}\n",
    );
    let s = index(&loc, &cfg).await;
    assert_eq!(s.files.parsed, 1);
    assert!(
        s.embeddings.embedded >= 1 && s.embeddings.embedded <= 2,
        "{:?}",
        s.embeddings
    );
}

#[tokio::test]
async fn skipped_files_are_counted_by_reason() {
    let f = Fixture::shop();
    f.write("assets/logo.py", "");
    std::fs::write(
        f.root().join("assets/logo.py"),
        b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR",
    )
    .unwrap();
    f.write("big.txt", "");
    std::fs::File::options()
        .write(true)
        .open(f.root().join("big.txt"))
        .unwrap()
        .set_len(2 * 1024 * 1024)
        .unwrap();
    let loc = f.location();
    let s = index(&loc, &lexical_config()).await;
    assert_eq!(s.skipped.get(&SkipReason::Binary), Some(&1), "{s:#?}");
    assert_eq!(s.skipped.get(&SkipReason::TooLarge), Some(&1), "{s:#?}");
    assert!(s.skipped_examples[&SkipReason::TooLarge][0].contains("big.txt"));
}
