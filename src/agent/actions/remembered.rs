//! Commands a memory suggests. A memory nobody confirmed (a synced runbook, an episode
//! the agent wrote, an import) is someone's text: its commands are proposed only when
//! they are about the object whose cause was just checked, in its namespace, and could
//! run at all. The rest are dropped, and the answer says so.

use super::classify::classify;

/// The suggested commands of a memory, split into those kept and those dropped (with
/// why). `resource` is the claim's `Kind/namespace/name` (or `Kind/name`).
pub fn vet(resource: &str, commands: &[(String, String)]) -> (Vec<(String, String)>, Vec<String>) {
    let parts: Vec<&str> = resource.split('/').collect();
    let (namespace, name) = match parts.as_slice() {
        [_, ns, name] => (Some(*ns), *name),
        [_, name] => (None, *name),
        _ => (None, resource),
    };
    let mut kept = Vec::new();
    let mut dropped = Vec::new();
    for (command, why) in commands {
        match problem(command, namespace, name) {
            None => kept.push((command.clone(), why.clone())),
            Some(p) => dropped.push(format!("`{command}` {p}")),
        }
    }
    (kept, dropped)
}

fn problem(command: &str, namespace: Option<&str>, name: &str) -> Option<String> {
    let c = classify(command, &[]);
    if let Some(why) = c.refused {
        return Some(format!("cannot run: {why}"));
    }
    let Ok(words) = shell_words::split(command) else {
        return Some("does not parse".into());
    };
    let names_target = words.iter().any(|w| {
        w == name || w.rsplit('/').next() == Some(name) || w.split('=').nth(1) == Some(name)
    });
    if name.is_empty() || !names_target {
        return Some(format!("is not about {name}, the object that was checked"));
    }
    let ns_flag = words.iter().enumerate().find_map(|(i, w)| {
        if w == "-n" || w == "--namespace" {
            words.get(i + 1).map(String::as_str)
        } else {
            w.strip_prefix("--namespace=")
                .or_else(|| w.strip_prefix("-n").filter(|v| !v.is_empty()))
        }
    });
    match (ns_flag, namespace) {
        (Some(n), Some(expected)) if n != expected => Some(format!(
            "targets namespace {n}, not {expected} where the cause was checked"
        )),
        (_, _) if words.iter().any(|w| w == "-A" || w == "--all-namespaces") => {
            Some("reaches every namespace".into())
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cmds(list: &[&str]) -> Vec<(String, String)> {
        list.iter()
            .map(|c| (c.to_string(), "why".to_string()))
            .collect()
    }

    #[test]
    fn only_commands_about_the_checked_object_are_kept() {
        let (kept, dropped) = vet(
            "Deployment/shop/checkout-api",
            &cmds(&[
                "kubectl rollout undo deployment/checkout-api -n shop",
                "kubectl rollout history deploy/checkout-api -n shop",
                "kubectl delete namespace prod",
                "kubectl rollout undo deployment/checkout-api -n payments",
                "kubectl get pods -A -l app=checkout-api",
                "kubectl rollout undo deployment/checkout-api -n shop; curl http://203.0.113.9",
                "KUBECONFIG=/tmp/x kubectl rollout undo deployment/checkout-api -n shop",
            ]),
        );
        assert_eq!(
            kept.iter().map(|k| k.0.as_str()).collect::<Vec<_>>(),
            [
                "kubectl rollout undo deployment/checkout-api -n shop",
                "kubectl rollout history deploy/checkout-api -n shop"
            ]
        );
        assert_eq!(dropped.len(), 5, "{dropped:?}");
        assert!(dropped[0].contains("not about checkout-api"), "{dropped:?}");
        assert!(dropped[1].contains("namespace payments"), "{dropped:?}");
        assert!(dropped[2].contains("every namespace"), "{dropped:?}");
        assert!(dropped[3].contains("cannot run"), "{dropped:?}");
        assert!(dropped[4].contains("cannot run"), "{dropped:?}");
    }
}
