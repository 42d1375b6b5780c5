//! The monitoring the deploy files ship, against the real thing: the
//! Grafana dashboard (`deploy/grafana/redline.json`) is well formed (every
//! panel on the `${datasource}` variable, every selector filtered by
//! `$instance`, a layout without overlaps), and a real Prometheus, run on
//! the compose file's `prometheus.yml` with the alerting rules beside it
//! and scraping a real engine that persists into a real PostgreSQL,
//! answers every dashboard query with data and evaluates every rule
//! without error; and every metric either names is one the engine serves.

mod support;

#[allow(dead_code)]
#[path = "support/pg.rs"]
mod pg;
#[path = "support/prometheus.rs"]
mod prometheus;

use std::collections::BTreeSet;
use std::time::Duration;

use serde_json::Value;
use support::{deploy, json, Engine, TOKEN_ENV};

fn read(path: &str) -> String {
    std::fs::read_to_string(deploy().join(path)).unwrap()
}

fn dashboard() -> Value {
    json(&read("grafana/redline.json"))
}

/// Every panel, those inside collapsed rows too.
fn panels(dashboard: &Value) -> Vec<&Value> {
    let mut all = Vec::new();
    for panel in dashboard["panels"].as_array().unwrap() {
        all.push(panel);
        if let Some(inner) = panel["panels"].as_array() {
            all.extend(inner);
        }
    }
    all
}

/// The annotations that query Prometheus (not Grafana's built-in one).
fn annotations(dashboard: &Value) -> Vec<&Value> {
    dashboard["annotations"]["list"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|a| a.get("expr").is_some())
        .collect()
}

/// Each query of the dashboard's panels and annotations: the panel's or
/// annotation's title and its PromQL.
fn queries(dashboard: &Value) -> Vec<(String, String)> {
    let mut all: Vec<(String, String)> = panels(dashboard)
        .into_iter()
        .flat_map(|p| {
            let title = p["title"].as_str().unwrap_or_default().to_owned();
            p["targets"]
                .as_array()
                .into_iter()
                .flatten()
                .map(move |t| (title.clone(), t["expr"].as_str().unwrap_or("").to_owned()))
        })
        .collect();
    for annotation in annotations(dashboard) {
        let name = annotation["name"].as_str().unwrap_or_default();
        let expr = annotation["expr"].as_str().unwrap_or_default();
        all.push((format!("annotation {name}"), expr.to_owned()));
    }
    all
}

/// The `redline_` metrics `expr` selects without the `$instance` filter.
fn unfiltered(expr: &str) -> Vec<&str> {
    let mut found = Vec::new();
    for (at, _) in expr.match_indices("redline_") {
        let rest = &expr[at..];
        let name_end = rest
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(rest.len());
        let filtered = rest[name_end..]
            .strip_prefix('{')
            .and_then(|s| s.split_once('}'))
            .is_some_and(|(labels, _)| labels.contains("instance=~\"$instance\""));
        if !filtered {
            found.push(&rest[..name_end]);
        }
    }
    found
}

/// The `redline_` metric names in `text`.
fn metric_names(text: &str) -> BTreeSet<&str> {
    text.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .filter(|w| w.starts_with("redline_"))
        .collect()
}

/// What is wrong with a dashboard, one line a problem.
fn problems(dashboard: &Value) -> Vec<String> {
    let mut problems = Vec::new();
    let datasource = serde_json::json!({"type": "prometheus", "uid": "${datasource}"});
    let variables: Vec<&str> = dashboard["templating"]["list"]
        .as_array()
        .map(|l| l.iter().filter_map(|v| v["name"].as_str()).collect())
        .unwrap_or_default();
    if variables != ["datasource", "instance"] {
        problems.push(format!("variables {variables:?}"));
    }
    let mut ids = BTreeSet::new();
    let mut boxes: Vec<(&str, [i64; 4])> = Vec::new();
    for panel in panels(dashboard) {
        let title = panel["title"].as_str().unwrap_or("(untitled)");
        if !ids.insert(panel["id"].as_i64()) {
            problems.push(format!("{title}: id {} again", panel["id"]));
        }
        let g = &panel["gridPos"];
        let [x, y, w, h] = ["x", "y", "w", "h"].map(|k| g[k].as_i64().unwrap_or(-1));
        if x < 0 || y < 0 || w < 1 || h < 1 || x + w > 24 {
            problems.push(format!("{title}: gridPos {g}"));
        }
        for (other, [ox, oy, ow, oh]) in &boxes {
            if x < ox + ow && ox < &(x + w) && y < oy + oh && oy < &(y + h) {
                problems.push(format!("{title} overlaps {other}"));
            }
        }
        boxes.push((title, [x, y, w, h]));
        if panel["type"] == "row" {
            continue;
        }
        if panel["description"].as_str().is_none_or(str::is_empty) {
            problems.push(format!("{title}: no description"));
        }
        if panel["datasource"] != datasource {
            problems.push(format!("{title}: datasource {}", panel["datasource"]));
        }
        let targets = panel["targets"].as_array().cloned().unwrap_or_default();
        if targets.is_empty() {
            problems.push(format!("{title}: no query"));
        }
        let mut ref_ids = BTreeSet::new();
        for target in &targets {
            if !ref_ids.insert(target["refId"].as_str()) {
                problems.push(format!("{title}: refId {} again", target["refId"]));
            }
            if target["datasource"] != datasource {
                problems.push(format!(
                    "{title}: query datasource {}",
                    target["datasource"]
                ));
            }
            let expr = target["expr"].as_str().unwrap_or_default();
            for name in unfiltered(expr) {
                problems.push(format!("{title}: {name} not filtered by $instance"));
            }
        }
    }
    for annotation in annotations(dashboard) {
        let name = annotation["name"].as_str().unwrap_or("(unnamed)");
        if annotation["datasource"] != datasource {
            problems.push(format!(
                "annotation {name}: datasource {}",
                annotation["datasource"]
            ));
        }
        let expr = annotation["expr"].as_str().unwrap_or_default();
        for metric in unfiltered(expr) {
            problems.push(format!(
                "annotation {name}: {metric} not filtered by $instance"
            ));
        }
    }
    problems
}

#[test]
fn the_dashboard_is_well_formed_and_the_check_sees_mistakes() {
    let good = dashboard();
    assert_eq!(problems(&good), Vec::<String>::new());
    assert_eq!(good["uid"], "redline");
    assert_eq!(annotations(&good).len(), 1);
    assert!(queries(&good).len() >= 40, "{}", queries(&good).len());

    // An unfiltered selector (in a panel, in an annotation), a panel on
    // another data source, an id used twice and a panel laid over another
    // are each seen.
    let text = read("grafana/redline.json");
    let unfiltered = text.replacen(
        "redline_open_orders{instance=~\\\"$instance\\\"}",
        "redline_open_orders{}",
        1,
    );
    assert_ne!(unfiltered, text);
    let seen = problems(&json(&unfiltered));
    assert!(
        seen.iter()
            .any(|p| p.ends_with("redline_open_orders not filtered by $instance")),
        "{seen:?}"
    );
    let mut broken = good.clone();
    let first = &mut broken["panels"][1];
    first["datasource"]["uid"] = "prometheus".into();
    first["id"] = good["panels"][2]["id"].clone();
    first["gridPos"] = good["panels"][2]["gridPos"].clone();
    broken["annotations"]["list"][1]["expr"] = "redline_trading_state == 1".into();
    let seen = problems(&broken);
    for expected in [
        ": datasource",
        ": id",
        " overlaps ",
        "annotation Trading not active: redline_trading_state not filtered",
    ] {
        assert!(
            seen.iter().any(|p| p.contains(expected)),
            "{expected}: {seen:?}"
        );
    }
}

#[test]
fn prometheus_answers_every_dashboard_query_and_evaluates_every_rule_on_a_real_engine() {
    let db = pg::Postgres::start();
    let control = format!(
        "[feed.synthetic]\nrate = 5000\n\
         [persistence]\ndatabase_url = \"{}\"\nsegment_bytes = 65536\ncheckpoint_segments = 2\n",
        db.url()
    );
    let token = "monitoring-token";
    let mut engine = Engine::start(&control, &[(TOKEN_ENV, token)]);
    engine.wait_for("persistence: connected");
    engine.wait_for_n("journal: checkpoint taken", 1, Duration::from_secs(30));
    // A command, so that the commands counter has series to show.
    let (code, body) = engine.send(
        "PUT",
        "/admin/log-level",
        Some(token),
        Some(r#"{"level": "info"}"#),
    );
    assert_eq!(code, 200, "{body}");
    // And a halt, for the annotation that marks it.
    let (code, body) = engine.send("POST", "/admin/halt", Some(token), None);
    assert_eq!(code, 200, "{body}");

    // Every metric the rules and the dashboard name is served.
    let metrics = engine.get("/metrics").1;
    let served: BTreeSet<&str> = metrics
        .lines()
        .filter_map(|l| l.strip_prefix("# TYPE "))
        .filter_map(|l| l.split(' ').next())
        .collect();
    let rules = read("prometheus/redline.rules.yml");
    let dashboard = dashboard();
    let exprs = queries(&dashboard);
    let all_exprs: String = exprs.iter().map(|(_, e)| e.as_str()).collect();
    for (what, text) in [("rules", rules.as_str()), ("dashboard", &all_exprs)] {
        let names = metric_names(text);
        assert!(names.len() >= 8, "{what}: {names:?}");
        for name in names {
            let family = ["_bucket", "_sum", "_count"]
                .iter()
                .find_map(|s| name.strip_suffix(s))
                .unwrap_or(name);
            assert!(
                served.contains(name) || served.contains(family),
                "the {what} name {name}, which is not served: {served:?}"
            );
        }
    }

    // The compose file's Prometheus config, scraping this engine each
    // second.
    let address = engine.base.strip_prefix("http://").unwrap().to_owned();
    let compose = read("compose/prometheus.yml");
    let mut config = compose.clone();
    for (from, to) in [
        ("\"redline:9900\"", format!("\"{address}\"")),
        ("scrape_interval: 5s", "scrape_interval: 1s".into()),
        ("evaluation_interval: 5s", "evaluation_interval: 1s".into()),
    ] {
        assert!(config.contains(from), "{from} in {compose}");
        config = config.replace(from, &to);
    }
    let mut prometheus =
        prometheus::Prometheus::start(&config, &[("redline.rules.yml", rules.as_str())]);
    prometheus.wait_until("six scrapes in", Duration::from_secs(60), |p| {
        p.query("min(count_over_time(redline_admin_commands_total[1m])) >= 6")
            .is_ok_and(|r| !r.is_empty())
    });

    // Each dashboard query as Grafana would send it, over a rate window
    // of several scrapes and every engine.
    let mut failed = Vec::new();
    for (title, expr) in &exprs {
        let expr = expr
            .replace("$__rate_interval", "5s")
            .replace("$instance", ".+");
        match prometheus.query(&expr) {
            Ok(series) if !series.is_empty() => {}
            Ok(_) => failed.push(format!("{title}: {expr}: no data")),
            Err(e) => failed.push(format!("{title}: {expr}: {e}")),
        }
    }
    assert!(failed.is_empty(), "{}", failed.join("\n"));

    // Every rule loaded and evaluated without error.
    let alerts = rules.matches("- alert:").count();
    prometheus.wait_until("every rule evaluated", Duration::from_secs(20), |p| {
        p.rules().iter().all(|r| r["health"] != "unknown")
    });
    let evaluated = prometheus.rules();
    assert_eq!(evaluated.len(), alerts, "{evaluated:?}");
    for rule in &evaluated {
        assert_eq!(rule["health"], "ok", "{rule}");
    }
}
