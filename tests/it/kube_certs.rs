//! cert-manager's kinds through the real client and the replay server: served, listed and
//! recorded when the recorded cluster had them; a clear "not installed" answer, and
//! nothing recorded, when it did not.

use std::path::PathBuf;

use triage::kube::resources::{CERTIFICATES, CHALLENGES, CLUSTERISSUERS};
use triage::kube::{Scope, Snapshot};

use crate::kube::{options, replay, shop, shop_scope};

fn acme() -> Snapshot {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/incidents/acme-challenge-unserved/snapshot.json");
    Snapshot::load(&path).expect("the acme incident's snapshot loads")
}

#[tokio::test]
async fn cert_manager_objects_are_served_and_recorded_when_installed() {
    let source = replay(acme(), Vec::new(), options()).await;
    let cert = source
        .kube_get(
            "certificates",
            Some("payments"),
            Some("api-acme-pay-com"),
            None,
        )
        .await
        .unwrap();
    assert_eq!(cert["kind"], "Certificate");
    assert_eq!(cert["spec"]["secretName"], "api-acme-pay-com-tls");
    let challenges = source
        .kube_get("challenges", Some("payments"), None, None)
        .await
        .unwrap();
    assert_eq!(challenges.as_array().map(Vec::len), Some(1));
    // Cluster-scoped: listed whole.
    let issuers = source.kube_list_all("clusterissuers", None).await.unwrap();
    assert!(
        issuers
            .as_array()
            .unwrap()
            .iter()
            .any(|i| i["metadata"]["name"] == "letsencrypt-prod")
    );
    let recorded = triage::kube::record(&source, &Scope::AllNamespaces)
        .await
        .unwrap();
    assert_eq!(recorded.objects_of(&CHALLENGES).len(), 1);
    assert_eq!(recorded.objects_of(&CLUSTERISSUERS).len(), 2);
}

#[tokio::test]
async fn a_cluster_without_cert_manager_says_it_is_not_installed() {
    let source = replay(shop(), Vec::new(), options()).await;
    let err = source
        .kube_get("certificates", Some("shop"), None, None)
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("cert-manager is not installed"),
        "the error says what is missing: {err}"
    );
    // Recording it keeps no key for the absent kinds and no error about them.
    let recorded = triage::kube::record(&source, &shop_scope()).await.unwrap();
    assert!(!recorded.objects.contains_key(&CERTIFICATES.key()));
    assert!(
        recorded
            .errors
            .iter()
            .all(|e| !e.resource.contains("cert-manager")),
        "{:?}",
        recorded.errors
    );
    // The rest reads as before.
    assert!(
        !recorded
            .objects_of(&triage::kube::resources::PODS)
            .is_empty()
    );
}
