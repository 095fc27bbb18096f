//! The memory table against a real LanceDB: round trips, scopes, recall.

use super::super::types::{MemoryKind, Scope};
use super::*;

#[tokio::test]
async fn memories_round_trip_and_recall_by_scope_and_words() {
    let dir = tempfile::tempdir().unwrap();
    let store = MemoryStore::open(dir.path().to_str().unwrap())
        .await
        .unwrap();
    let mut scope = Scope::default();
    scope.set("service=orders-worker").unwrap();
    let backfill = Memory::new(
        MemoryKind::Correction,
        "Consumer lag at 17:00 is the analytics backfill CronJob; leave it alone",
        scope,
        "user",
    );
    let other = Memory::new(
        MemoryKind::Procedural,
        "Roll back checkout-api when a release needs new config",
        Scope::default(),
        "runbook:docs/runbooks/checkout-api.md",
    );
    store
        .upsert(&[backfill.clone(), other.clone()])
        .await
        .unwrap();
    assert_eq!(store.list().await.unwrap().len(), 2);
    assert_eq!(store.get(&backfill.id).await.unwrap(), backfill);

    let hits = store
        .recall(
            &RecallQuery {
                text: "orders-worker consumer lag alert".into(),
                scope: Scope::default(),
            },
            5,
        )
        .await
        .unwrap();
    assert_eq!(hits[0].memory.id, backfill.id);
    assert!(
        hits[0].why.contains("service orders-worker"),
        "{}",
        hits[0].why
    );

    // Another service's memory does not leak into this one.
    let mut q = RecallQuery {
        text: "consumer lag".into(),
        scope: Scope::default(),
    };
    q.scope.service = Some("checkout-api".into());
    let hits = store.recall(&q, 5).await.unwrap();
    assert!(hits.iter().all(|h| h.memory.id != backfill.id));

    let mut retired = backfill.clone();
    retired.status = MemoryStatus::Retired;
    store.upsert(&[retired]).await.unwrap();
    assert_eq!(store.list().await.unwrap().len(), 2, "replaced, not added");
    store.forget(&other.id).await.unwrap();
    assert!(matches!(
        store.get(&other.id).await,
        Err(MemoryError::NotFound(_))
    ));
}

#[tokio::test]
async fn path_and_alert_pattern_scopes_match_only_their_own() {
    let dir = tempfile::tempdir().unwrap();
    let store = MemoryStore::open(dir.path().to_str().unwrap())
        .await
        .unwrap();
    let mut scope = Scope::default();
    scope.set("paths=services/checkout-api/**").unwrap();
    let code = Memory::new(
        MemoryKind::Correction,
        "the payments timeout is in milliseconds",
        scope,
        "user",
    );
    let mut scope = Scope::default();
    scope.set("alert=Kube*CrashLooping").unwrap();
    let alert = Memory::new(
        MemoryKind::Procedural,
        "read the previous container log first",
        scope,
        "user",
    );
    store.upsert(&[code.clone(), alert.clone()]).await.unwrap();
    let recall = |text: &str, paths: &[&str]| {
        let q = RecallQuery {
            text: text.into(),
            scope: Scope {
                paths: paths.iter().map(|p| p.to_string()).collect(),
                ..Scope::default()
            },
        };
        let store = &store;
        async move {
            store
                .recall(&q, 5)
                .await
                .unwrap()
                .into_iter()
                .map(|h| (h.memory.id, h.why))
                .collect::<Vec<_>>()
        }
    };
    let hits = recall(
        "panic in services/checkout-api/cmd/checkout-api/config.go",
        &[],
    )
    .await;
    assert_eq!(hits.len(), 1, "{hits:?}");
    assert_eq!(hits[0].0, code.id);
    assert!(
        hits[0].1.contains("path services/checkout-api/**"),
        "{}",
        hits[0].1
    );
    assert!(
        recall("timeout", &["services/orders-worker/worker.py"])
            .await
            .is_empty()
    );
    let hits = recall("KubePodCrashLooping orders-worker", &[]).await;
    assert_eq!(hits.len(), 1, "{hits:?}");
    assert_eq!(hits[0].0, alert.id);
    assert!(recall("KubeJobFailed backfill", &[]).await.is_empty());
}
