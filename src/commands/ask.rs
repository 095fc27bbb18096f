//! `triage ask`: one question through the agent, its investigation printed.

use std::process::ExitCode;

use anyhow::Result;

use super::args::{AskArgs, GlobalArgs};

pub async fn run(global: &GlobalArgs, args: &AskArgs) -> Result<ExitCode> {
    let question = args.question.join(" ");
    anyhow::ensure!(
        !question.trim().is_empty(),
        "ask what? e.g. triage ask \"checkout-api 5xx since 14:05\""
    );
    let opened =
        crate::agent::open::open(&global.workspace(args.write), &args.cluster.choice(), false)
            .await?;
    crate::headless::ask(opened, question, args.json).await
}
