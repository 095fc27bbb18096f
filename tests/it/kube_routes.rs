//! The Gateway API's and Traefik's kinds through the real client and the replay server:
//! served, listed and recorded when the recorded cluster had them; a clear "not
//! installed" answer, and nothing recorded, when it did not. Read only: nothing is written.

use std::path::PathBuf;

use triage::kube::resources::{GATEWAYCLASSES, HTTPROUTES, INGRESSROUTES, MIDDLEWARES};
use triage::kube::{Scope, Snapshot};

use crate::kube::{options, replay, shop, shop_scope};

fn incident(name: &str) -> Snapshot {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join(format!("tests/fixtures/incidents/{name}/snapshot.json"));
    Snapshot::load(&path).expect("the incident's snapshot loads")
}

#[tokio::test]
async fn routes_of_other_controllers_are_served_and_recorded_when_installed() {
    let source = replay(
        incident("checkout-route-backend-renamed"),
        Vec::new(),
        options(),
    )
    .await;
    let route = source
        .kube_get("httproutes", Some("payments"), Some("checkout-route"), None)
        .await
        .unwrap();
    assert_eq!(route["kind"], "HTTPRoute");
    assert_eq!(route["spec"]["hostnames"][0], "checkout.acme-pay.com");
    // Cluster-scoped: listed whole.
    let classes = source.kube_list_all("gatewayclasses", None).await.unwrap();
    assert_eq!(classes.as_array().map(Vec::len), Some(1));
    let recorded = triage::kube::record(&source, &Scope::AllNamespaces)
        .await
        .unwrap();
    assert_eq!(recorded.objects_of(&HTTPROUTES).len(), 1);
    assert_eq!(recorded.objects_of(&GATEWAYCLASSES).len(), 1);

    let source = replay(incident("ledger-traefik-route-port"), Vec::new(), options()).await;
    let routes = source
        .kube_get("ingressroutes", Some("ledger"), None, None)
        .await
        .unwrap();
    assert_eq!(routes[0]["spec"]["routes"][0]["services"][0]["port"], 8080);
    let recorded = triage::kube::record(&source, &Scope::AllNamespaces)
        .await
        .unwrap();
    assert_eq!(recorded.objects_of(&INGRESSROUTES).len(), 1);
    assert_eq!(recorded.objects_of(&MIDDLEWARES).len(), 1);
}

#[tokio::test]
async fn a_cluster_without_them_says_they_are_not_installed() {
    let source = replay(shop(), Vec::new(), options()).await;
    for (resource, add_on) in [
        ("httproutes", "the Gateway API is not installed"),
        ("ingressroutes", "Traefik is not installed"),
    ] {
        let err = source
            .kube_get(resource, Some("shop"), None, None)
            .await
            .unwrap_err()
            .to_string();
        assert!(
            err.contains(add_on),
            "the error says what is missing: {err}"
        );
    }
    let recorded = triage::kube::record(&source, &shop_scope()).await.unwrap();
    for t in [GATEWAYCLASSES, HTTPROUTES, INGRESSROUTES, MIDDLEWARES] {
        assert!(!recorded.objects.contains_key(&t.key()));
    }
    assert!(
        recorded
            .errors
            .iter()
            .all(|e| !e.resource.contains("gateway") && !e.resource.contains("traefik")),
        "{:?}",
        recorded.errors
    );
}
