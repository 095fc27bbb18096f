//! The watched cluster picture: kept current through watches on a replay server whose
//! state changes (a pod starts crash-looping after the watch started), resynced after a
//! 410, and honest about its age when the watches fail.

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use triage::kube::live::LivePicture;
use triage::kube::resources;
use triage::kube::scan::{ScanReport, scan};
use triage::kube::{ClusterSource, Fault, FindingKind, Snapshot};

use crate::kube::{options, replay, shop, shop_scope};

fn redis_pod(s: &Snapshot) -> Value {
    s.objects_of(&resources::PODS)
        .iter()
        .find(|p| p["metadata"]["name"] == "redis-0")
        .cloned()
        .unwrap()
}

/// redis-0 as it looks when its container keeps crashing.
fn crashing(mut pod: Value) -> Value {
    pod["status"]["containerStatuses"] = json!([{
        "name": "redis",
        "ready": false,
        "restartCount": 6,
        "image": "docker.io/library/redis:7.2.5",
        "imageID": "",
        "started": false,
        "state": {"waiting": {"reason": "CrashLoopBackOff", "message": "back-off 2m40s restarting failed container=redis"}},
        "lastState": {"terminated": {"exitCode": 1, "reason": "Error",
            "startedAt": "2025-06-01T11:57:00Z", "finishedAt": "2025-06-01T11:57:02Z"}}
    }]);
    pod
}

fn redis_crash_looping(r: &ScanReport) -> bool {
    r.findings
        .iter()
        .any(|f| f.kind == FindingKind::CrashLoopBackOff && f.resource.name == "redis")
}

/// Scan until `pred` holds (a generous deadline; no timing is asserted).
async fn scan_until(source: &ClusterSource, pred: impl Fn(&ScanReport) -> bool) -> ScanReport {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let r = scan(source, &shop_scope()).await.unwrap();
        if pred(&r) || Instant::now() > deadline {
            return r;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn pod_lists(source: &ClusterSource) -> usize {
    source
        .replay_server()
        .unwrap()
        .requests()
        .iter()
        .filter(|r| r.path == "/api/v1/namespaces/shop/pods" && !r.query.contains("watch="))
        .count()
}

#[tokio::test(flavor = "multi_thread")]
async fn watches_keep_the_picture_current_and_resync_after_a_410() {
    let snapshot = shop();
    let redis = redis_pod(&snapshot);
    let source = replay(snapshot, vec![], options()).await;
    let picture = LivePicture::start(&source, &shop_scope(), Duration::from_secs(300)).await;
    assert!(picture.wait_synced(Duration::from_secs(30)).await);
    assert!(picture.attach_to(&source));
    let first = scan(&source, &shop_scope()).await.unwrap();
    assert!(!redis_crash_looping(&first));
    assert!(
        first
            .source
            .contains("kept current by watches, data 0 s old"),
        "{}",
        first.source
    );
    let lists_after_sync = pod_lists(&source);
    assert_eq!(lists_after_sync, 1, "one list, then a watch");

    // After the watch started, redis-0 starts crash-looping.
    let state = source.replay_server().unwrap().state().clone();
    state.apply(&resources::PODS, crashing(redis.clone()));
    let r = scan_until(&source, redis_crash_looping).await;
    assert!(redis_crash_looping(&r), "{:?}", r.findings);
    // Scans read the picture: no pod list was made again.
    assert_eq!(pod_lists(&source), lists_after_sync);

    // The server compacts: every watch ends with 410 and the fix is only in a new list.
    state.expire_watches(Some((&resources::PODS, redis.clone())));
    let r = scan_until(&source, |r| !redis_crash_looping(r)).await;
    assert!(!redis_crash_looping(&r), "{:?}", r.findings);
    let live = LivePicture::of(&source).unwrap();
    assert!(live.resyncs() >= 1, "resyncs: {}", live.resyncs());
    assert!(pod_lists(&source) > lists_after_sync);
}

#[tokio::test(flavor = "multi_thread")]
async fn failing_watches_make_the_data_stale_and_the_scan_says_so() {
    let source = replay(shop(), vec![], options()).await;
    let picture = LivePicture::start(&source, &shop_scope(), Duration::from_secs(1)).await;
    assert!(picture.wait_synced(Duration::from_secs(30)).await);
    assert!(picture.attach_to(&source));
    // From now on the pods endpoint fails; the watches are told to start over.
    let server = source.replay_server().unwrap();
    server.inject(Fault::status(500, "/namespaces/shop/pods"));
    server.state().expire_watches(None);
    let r = scan_until(&source, |r| {
        r.errors
            .iter()
            .any(|e| e.resource == "pods" && e.message.contains("data is stale"))
    })
    .await;
    let stale = r
        .errors
        .iter()
        .find(|e| e.resource == "pods" && e.message.contains("data is stale"))
        .unwrap_or_else(|| panic!("no stale note in {:?}", r.errors));
    assert!(
        stale.message.contains("past the 1 s limit"),
        "{}",
        stale.message
    );
    // What was known is still there.
    assert!(r.findings.iter().any(|f| f.resource.name == "checkout-api"));
}
