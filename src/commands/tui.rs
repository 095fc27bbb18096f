//! The TUI (no command) and `triage demo`: the TUI, or the headless investigation, on the
//! bundled demo repository and its replayed incident.

use std::process::ExitCode;

use anyhow::Result;

use super::args::{ClusterArgs, DemoArgs, GlobalArgs};
use crate::kube::ClusterChoice;
use crate::tui::launch::Launch;

pub async fn run(global: &GlobalArgs, cluster: &ClusterArgs, write: bool) -> Result<ExitCode> {
    crate::tui::launch::run(Launch {
        workspace: global.workspace(write),
        cluster: cluster.choice(),
        prefill: None,
        offline: false,
    })
    .await
}

pub async fn demo(global: &GlobalArgs, args: &DemoArgs) -> Result<ExitCode> {
    let demo = crate::demo::prepare(&crate::demo::default_dir(), args.fresh)?;
    let workspace = GlobalArgs {
        repo: Some(demo.repo.clone()),
        ..global.clone()
    }
    .workspace(false);
    let cluster = ClusterChoice {
        replay: Some(demo.snapshot.clone()),
        ..ClusterChoice::default()
    };
    if args.headless {
        // The demo is offline by design, even where a model is configured.
        let opened = crate::agent::open::open(&workspace, &cluster, true).await?;
        crate::headless::ask(opened, crate::demo::FIRST_QUESTION.to_string(), args.json).await
    } else {
        crate::tui::launch::run(Launch {
            workspace,
            cluster,
            prefill: Some(crate::demo::FIRST_QUESTION.to_string()),
            offline: true,
        })
        .await
    }
}
