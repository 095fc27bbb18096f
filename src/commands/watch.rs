//! `triage watch`: a session base opened like `ask`'s, then the watch; `--tui` hands it
//! the inbox as its view.

use std::future::Future;
use std::pin::Pin;
use std::process::ExitCode;

use anyhow::Result;

use super::args::{ClusterArgs, GlobalArgs, WatchArgs};

pub async fn run(global: &GlobalArgs, cluster: &ClusterArgs, args: &WatchArgs) -> Result<ExitCode> {
    let opened =
        crate::agent::open::open(&global.workspace(false), &cluster.choice(), false).await?;
    if let Some(e) = &opened.cluster_error {
        tracing::warn!("watching without a cluster: {e}");
    }
    let view: Option<crate::watch::View> = args.tui.then(|| {
        Box::new(|live, past| {
            Box::pin(crate::tui::inbox::run_live(live, past))
                as Pin<Box<dyn Future<Output = Result<()>> + Send>>
        }) as crate::watch::View
    });
    crate::watch::run(opened.session, &args.flags(), view).await?;
    drop(opened.kubeconfig);
    Ok(ExitCode::SUCCESS)
}
