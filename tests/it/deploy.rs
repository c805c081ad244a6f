//! The deployment files in `deploy/` checked by the tools that will read them:
//! promtool (scrape config, alert rules and their unit tests), docker-compose (the
//! Compose file, no Docker engine needed), kubernetes-validate (the manifests against
//! the Kubernetes schemas), the engine's own config loader (every accesswatch.toml we
//! ship), and the Grafana dashboard against what the engine really exports.

use crate::live_process::which;
use crate::support::root;
use std::collections::BTreeSet;
use std::process::Command;

fn tool(name: &str, install: &str) -> std::path::PathBuf {
    which(name).unwrap_or_else(|| panic!("{name} not found: {install} (tests/setup.sh does)"))
}

fn run(cmd: &mut Command) -> String {
    let out = cmd.current_dir(root()).output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "{cmd:?} failed:\n{text}");
    text
}

#[test]
fn prometheus_config_and_alert_rules_pass_promtool() {
    let promtool = tool("promtool", "install Debian's prometheus package");
    run(Command::new(&promtool).args(["check", "config", "deploy/prometheus/prometheus.yml"]));
    let rules = run(Command::new(&promtool).args(["check", "rules", "deploy/prometheus/rules/accesswatch.rules.yml"]));
    assert!(rules.contains("SUCCESS: 10 rules found"), "{rules}");
    // The rules' own unit tests: each alert fires on its pattern and not on the twin.
    run(Command::new(&promtool).args(["test", "rules", "deploy/prometheus/rules/accesswatch.rules.test.yml"]));
}

#[test]
fn compose_file_is_valid_and_has_the_whole_stack() {
    let compose = tool("docker-compose", "install Debian's docker-compose package");
    let text = run(Command::new(compose).args(["-f", "deploy/compose.yaml", "config"]));
    for service in ["kafka:", "topics:", "accesswatch:", "dashboard:", "generator:", "prometheus:", "grafana:"] {
        assert!(text.contains(&format!("  {service}\n")), "compose.yaml lacks the {service} service:\n{text}");
    }
    assert!(text.contains("KAFKA_PROCESS_ROLES: broker,controller"), "Kafka should run in KRaft mode:\n{text}");
}

#[test]
fn kubernetes_manifests_match_the_kubernetes_schemas() {
    let validate = tool("kubernetes-validate", "pip install kubernetes-validate");
    let manifests: Vec<String> = std::fs::read_dir(root().join("deploy/k8s"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml") && !p.ends_with("kustomization.yaml"))
        .map(|p| p.display().to_string())
        .collect();
    assert!(manifests.len() >= 5, "{manifests:?}");
    let text = run(Command::new(validate).arg("--strict").args(&manifests));
    for kind in [
        "deployment/accesswatch",
        "service/accesswatch",
        "poddisruptionbudget/accesswatch",
        "deployment/accesswatch-dashboard",
        "persistentvolumeclaim/accesswatch-dashboard",
    ] {
        assert!(text.contains(&format!("passed for resource {kind}")), "{kind} not validated:\n{text}");
    }
    // kustomization.yaml lists every manifest.
    let kustomization = std::fs::read_to_string(root().join("deploy/k8s/kustomization.yaml")).unwrap();
    for m in &manifests {
        let name = std::path::Path::new(m).file_name().unwrap().to_str().unwrap();
        assert!(kustomization.contains(name), "kustomization.yaml does not list {name}");
    }
}

/// The indented block under `key: |` in a ConfigMap.
fn configmap_block(configmap: &str, key: &str) -> String {
    configmap
        .lines()
        .skip_while(|l| !l.trim_start().starts_with(&format!("{key}: |")))
        .skip(1)
        .take_while(|l| l.is_empty() || l.starts_with("    "))
        .map(|l| format!("{}\n", l.strip_prefix("    ").unwrap_or(l)))
        .collect()
}

#[test]
fn every_shipped_engine_and_dashboard_config_loads() {
    let compose = std::fs::read_to_string(root().join("deploy/config/accesswatch.toml")).unwrap();
    accesswatch::config::Config::from_toml("deploy/config/accesswatch.toml", &compose).unwrap();
    let configmap = std::fs::read_to_string(root().join("deploy/k8s/configmap.yaml")).unwrap();
    let block = configmap_block(&configmap, "accesswatch.toml");
    assert!(block.contains("[kafka]"), "no accesswatch.toml in the ConfigMap");
    let config = accesswatch::config::Config::from_toml("deploy/k8s/configmap.yaml", &block).unwrap();
    assert_eq!(config.http.listen, "0.0.0.0:9464");
    assert!(!config.dashboard.enabled, "the engines leave the board to the dashboard service");
    let deployment = std::fs::read_to_string(root().join("deploy/k8s/deployment.yaml")).unwrap();
    assert!(deployment.contains("containerPort: 9464"));

    // The dashboard service's, with its account's hash from the environment as the
    // Secret gives it.
    std::env::set_var("ACCESSWATCH_ACU_PASSWORD_HASH", accesswatch::dashboard::auth::hash_password("a passphrase"));
    for (name, text) in [
        ("deploy/config/dashboard.toml", std::fs::read_to_string(root().join("deploy/config/dashboard.toml")).unwrap()),
        ("deploy/k8s/configmap.yaml", configmap_block(&configmap, "dashboard.toml")),
    ] {
        let config = accesswatch::config::Config::from_toml(name, &text).unwrap();
        assert!(config.dashboard.enabled && config.dashboard.users.contains_key("acu"), "{name}");
        assert_eq!(config.http.listen, "0.0.0.0:8080", "{name}");
    }
    let board = std::fs::read_to_string(root().join("deploy/k8s/dashboard.yaml")).unwrap();
    assert!(board.contains("replicas: 1") && board.contains("type: Recreate"), "one writer of the database");
}

/// The metric names a dashboard query uses.
fn metric_names(expr: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = expr;
    while let Some(i) = rest.find("accesswatch_") {
        let name: String = rest[i..].chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect();
        rest = &rest[i + name.len()..];
        out.push(name);
    }
    out
}

/// Every query of the Grafana dashboard names a metric present in `metrics` (the text of
/// a live engine's `/metrics`, from `live_process`).
pub fn assert_dashboard_uses_exported_metrics(metrics: &str) {
    let path = root().join("deploy/grafana/dashboards/accesswatch.json");
    let dashboard: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap())
        .unwrap_or_else(|e| panic!("{} is not valid JSON: {e}", path.display()));
    assert_eq!(dashboard["uid"], "accesswatch");
    let exported: BTreeSet<&str> = metrics
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .filter_map(|l| l.split(['{', ' ']).next())
        .collect();
    let panels = dashboard["panels"].as_array().unwrap();
    assert!(panels.len() >= 8, "{} panels", panels.len());
    let mut used = BTreeSet::new();
    for panel in panels {
        let targets = panel["targets"].as_array().unwrap();
        assert!(!targets.is_empty(), "panel {} has no query", panel["title"]);
        for t in targets {
            let expr = t["expr"].as_str().unwrap();
            let names = metric_names(expr);
            assert!(!names.is_empty(), "panel {}: {expr} names no accesswatch metric", panel["title"]);
            for name in names {
                assert!(
                    exported.contains(name.as_str()),
                    "panel {} queries {name}, which the engine does not export; it exports {exported:?}",
                    panel["title"]
                );
                used.insert(name);
            }
        }
    }
    // What the issue asks the dashboard to show.
    for needed in [
        "accesswatch_events_total",
        "accesswatch_consumer_lag",
        "accesswatch_alerts_total",
        "accesswatch_event_to_alert_seconds",
        "accesswatch_dead_letters_total",
    ] {
        assert!(used.contains(needed), "the dashboard does not show {needed}");
    }
}

#[test]
fn metric_names_are_read_from_queries() {
    assert_eq!(
        metric_names("sum(rate(accesswatch_dead_letters_total[5m])) / sum(rate(accesswatch_events_total[5m]))"),
        ["accesswatch_dead_letters_total", "accesswatch_events_total"]
    );
}
