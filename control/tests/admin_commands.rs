//! The admin commands as an operator sends them: the real binary, a real
//! HTTP client, the bearer token. Halt stops orders and resume starts them
//! again; a limits change takes effect on the next order; flatten leaves
//! every position flat; bad bodies are refused, counted, recorded in the
//! audit stream and change nothing; drain (over HTTP or SIGTERM) exits 0 with no order open; and
//! each command is recorded with who sent it.

mod support;

use std::time::Duration;

use serde_json::Value;
use support::{dump, event, events, json, sample, Engine, TOKEN_ENV};

const TOKEN: &str = "admin-commands-test-token";

fn engine() -> Engine {
    Engine::start("", &[(TOKEN_ENV, TOKEN)])
}

impl Engine {
    /// `method path` with the token and `body`; the answer as JSON.
    fn command(&self, method: &str, path: &str, body: Option<&str>) -> (u16, Value) {
        let (code, text) = self.send(method, path, Some(TOKEN), body);
        (code, json(&text))
    }

    fn metric(&self, name: &str) -> f64 {
        sample(&self.get("/metrics").1, &format!("redline_{name}"))
    }

    /// New orders sent in `wait`.
    fn orders_in(&self, wait: Duration) -> f64 {
        let before = self.metric("orders_sent_total{kind=\"new\"}");
        std::thread::sleep(wait);
        self.metric("orders_sent_total{kind=\"new\"}") - before
    }
}

#[test]
fn halt_stops_new_orders_and_resume_starts_them_again() {
    let mut engine = engine();
    assert!(engine.orders_in(Duration::from_millis(300)) > 0.0);
    let (code, halted) = engine.command("POST", "/admin/halt", Some(r#"{"reason": "test"}"#));
    assert_eq!(code, 200, "{halted}");
    assert_eq!(halted["outcome"], "done");
    assert_eq!(halted["trading_state"], "halted");
    assert!(halted["positions"].is_object() && halted["open_orders"].is_u64());
    // The snapshot is published on the next idle poll; give it a moment.
    std::thread::sleep(Duration::from_millis(100));
    assert_eq!(engine.orders_in(Duration::from_millis(500)), 0.0);
    // The market maker reads the halt in its context: it withdraws its
    // quotes and writes nothing for the gate to refuse.
    assert_eq!(engine.metric("open_orders"), 0.0);
    assert_eq!(
        engine.metric("risk_rejections_total{reason=\"HALTED\"}"),
        0.0
    );
    assert_eq!(engine.metric("trading_state{state=\"halted\"}"), 1.0);
    let (code, resumed) = engine.command("POST", "/admin/resume", None);
    assert_eq!(code, 200, "{resumed}");
    assert_eq!(resumed["trading_state"], "active");
    assert!(engine.orders_in(Duration::from_millis(300)) > 0.0);
    let (code, reduced) = engine.command("POST", "/admin/reduce-only", Some("{}"));
    assert_eq!(
        (code, &reduced["trading_state"]),
        (200, &"reduce-only".into())
    );
    assert_eq!(
        engine.metric("admin_commands_total{command=\"halt\",outcome=\"done\"}"),
        1.0
    );
    assert!(engine.stop(), "{}", engine.out);
    for command in ["halt", "resume", "reduce-only"] {
        assert!(
            events(&engine.out, "admin")
                .iter()
                .any(|e| e.get("command") == command && e.get("result") == "done"),
            "{command} is recorded:\n{}",
            engine.out
        );
    }
}

#[test]
fn a_limits_change_takes_effect_on_the_next_order() {
    let mut engine = engine();
    let (code, limits) = engine.command("GET", "/admin/limits", None);
    assert_eq!(code, 200);
    assert_eq!(limits["limits"]["max_open_orders"], 64);
    std::thread::sleep(Duration::from_millis(200));
    let (_, orders) = engine.command("GET", "/admin/orders", None);
    assert!(orders["count"].as_u64().unwrap() > 1, "{orders}");
    let refused = engine.metric("risk_rejections_total{reason=\"MAX_OPEN_ORDERS\"}");
    let (code, changed) = engine.command("PUT", "/admin/limits", Some(r#"{"max_open_orders": 1}"#));
    assert_eq!(code, 200, "{changed}");
    assert_eq!(changed["limits"]["max_open_orders"], 1);
    assert_eq!(changed["limits"]["max_order_qty"], 10, "the rest kept");
    std::thread::sleep(Duration::from_millis(300));
    assert!(engine.metric("risk_rejections_total{reason=\"MAX_OPEN_ORDERS\"}") > refused + 10.0);
    let (_, orders) = engine.command("GET", "/admin/orders", None);
    assert!(orders["count"].as_u64().unwrap() <= 1, "{orders}");
    let (_, config) = engine.command("GET", "/admin/config", None);
    assert_eq!(config["risk"]["max_open_orders"], 1, "the effective config");
    assert_eq!(
        engine.metric("risk_limit{limit=\"max_open_orders\"}"),
        1.0,
        "and the metric"
    );
    assert_eq!(config["control"]["token_env"], TOKEN_ENV);
    assert!(!config.to_string().contains(TOKEN), "no secret in it");
    assert!(engine.stop(), "{}", engine.out);
}

#[test]
fn bad_bodies_and_bad_limits_are_refused_counted_and_change_nothing() {
    // A slower feed keeps the journal (and its dump) small.
    let slow = "[feed.synthetic]\nrate = 5000\n";
    let mut engine = Engine::start(slow, &[(TOKEN_ENV, TOKEN)]);
    let bad = [
        ("POST", "/admin/halt", "halt now"),
        ("POST", "/admin/halt", r#"{"reason": 7}"#),
        ("POST", "/admin/cancel-all", r#"{"everything": true}"#),
        ("PUT", "/admin/limits", "[1, 2]"),
        ("PUT", "/admin/limits", r#"{"max_ordr_qty": 5}"#),
        ("PUT", "/admin/limits", r#"{"max_order_qty": "five"}"#),
        ("PUT", "/admin/limits", r#"{"max_daily_loss": 1000}"#),
        ("PUT", "/admin/limits", r#"{"max_order_qty": 50}"#),
        ("PUT", "/admin/limits", r#"{"max_open_orders": 65}"#),
        ("PUT", "/admin/limits", r#"{"price_collar_bps": 0}"#),
    ];
    for (method, path, body) in bad {
        let (code, answer) = engine.command(method, path, Some(body));
        assert_eq!(code, 400, "{method} {path} {body}: {answer}");
        assert!(answer["error"].is_string(), "{answer}");
    }
    let (_, answer) = engine.command("PUT", "/admin/limits", Some(r#"{"max_order_qty": 50}"#));
    assert!(
        answer["problems"][0]
            .as_str()
            .unwrap()
            .contains("max_position"),
        "says which limits contradict: {answer}"
    );
    let huge = format!(r#"{{"reason": "{}"}}"#, "x".repeat(70 * 1024));
    assert_eq!(engine.command("POST", "/admin/halt", Some(&huge)).0, 413);
    assert_eq!(
        engine.metric("malformed_inputs_total{source=\"admin\"}"),
        (bad.len() + 2) as f64
    );
    assert_eq!(
        engine.metric("admin_commands_total{command=\"limits\",outcome=\"bad_request\"}"),
        8.0,
        "each refused command is recorded"
    );
    assert_eq!(engine.command("GET", "/admin/halt", None).0, 405);
    assert_eq!(engine.command("POST", "/admin/limits", None).0, 405);
    assert_eq!(engine.command("POST", "/admin/no-such", None).0, 404);
    assert_eq!(
        engine.send("POST", "/admin/halt", None, None).0,
        401,
        "no token, no halt"
    );
    assert_eq!(engine.metric("trading_state{state=\"active\"}"), 1.0);
    let (_, limits) = engine.command("GET", "/admin/limits", None);
    assert_eq!(limits["limits"]["max_order_qty"], 10, "unchanged");
    assert!(engine.stop(), "{}", engine.out);

    // Each refusal is in the audit stream with who asked for what and the
    // answer; none was taken as a command.
    let entries = dump(engine.journal.path());
    let rejected: Vec<(String, u64)> = entries
        .iter()
        .filter(|e| e["type"] == "rejected")
        .map(|e| {
            assert_eq!(e["token"].as_str().unwrap().len(), 8, "{e}");
            assert_ne!(e["token"], "00000000", "the admin token's id: {e}");
            let action = e["action"].as_str().unwrap().to_owned();
            (action, e["status"].as_u64().unwrap())
        })
        .collect();
    let mut expected: Vec<(String, u64)> = bad
        .iter()
        .map(|(_, path, _)| (path.trim_start_matches("/admin/").to_owned(), 400))
        .collect();
    // The contradiction asked again above; the door answers the 413
    // before a request reaches the admin endpoints.
    expected.push(("limits".into(), 400));
    assert_eq!(rejected, expected);
    let taken = |action: &str| {
        entries
            .iter()
            .filter(|e| e["type"] == "command" && e["action"] == action)
            .count()
    };
    assert_eq!((taken("halt"), taken("limits")), (0, 0));
}

#[test]
fn flatten_leaves_every_position_flat_and_trading_halted() {
    let mut engine = engine();
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let (_, positions) = engine.command("GET", "/admin/positions", None);
        let held = positions["instruments"]
            .as_object()
            .unwrap()
            .values()
            .any(|i| i["position"] != 0);
        if held {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "{positions}");
        std::thread::sleep(Duration::from_millis(50));
    }
    let (code, flat) = engine.command("POST", "/admin/flatten", None);
    assert_eq!(code, 200, "{flat}");
    assert_eq!(flat["outcome"], "done");
    assert_eq!(flat["trading_state"], "halted");
    assert_eq!(flat["open_orders"], 0);
    for (symbol, instrument) in flat["positions"].as_object().unwrap() {
        assert_eq!(instrument["position"], 0, "{symbol}: {flat}");
    }
    let (_, orders) = engine.command("GET", "/admin/orders", None);
    assert_eq!(orders["count"], 0, "{orders}");
    let (code, cancelled) = engine.command("POST", "/admin/cancel-all", None);
    assert_eq!((code, &cancelled["outcome"]), (200, &"done".into()));
    assert!(engine.stop(), "{}", engine.out);
}

#[test]
fn drain_over_http_cancels_everything_and_exits_0() {
    let mut engine = engine();
    std::thread::sleep(Duration::from_millis(200));
    let (_, orders) = engine.command("GET", "/admin/orders", None);
    assert!(orders["count"].as_u64().unwrap() > 0, "{orders}");
    let (code, answer) = engine.command("POST", "/admin/drain", None);
    assert_eq!(code, 202, "{answer}");
    assert!(engine.exits_0(), "{}", engine.out);
    assert!(
        engine.out.contains("drained: no order open"),
        "{}",
        engine.out
    );
    assert!(engine.out.contains("stopped cleanly"), "{}", engine.out);
    assert!(engine.out.contains("command=drain"), "{}", engine.out);
}

#[test]
fn sigterm_drains_and_exits_0() {
    let mut engine = engine();
    std::thread::sleep(Duration::from_millis(200));
    assert!(engine.stop(), "{}", engine.out);
    assert_eq!(
        event(
            &engine.out,
            "draining: trading halted, cancelling open orders"
        )
        .get("asked_by"),
        "a signal"
    );
    assert!(
        engine.out.contains("drained: no order open"),
        "{}",
        engine.out
    );
}

impl Engine {
    /// Fills (whole and partial) in `wait`.
    fn fills_in(&self, wait: Duration) -> f64 {
        let fills = |e: &Engine| {
            e.metric("executions_total{type=\"fill\"}")
                + e.metric("executions_total{type=\"partial_fill\"}")
        };
        let before = fills(self);
        std::thread::sleep(wait);
        fills(self) - before
    }
}

#[test]
fn strategy_parameters_change_while_it_runs() {
    let mut engine = engine();
    let (code, strategy) = engine.command("GET", "/admin/strategy", None);
    assert_eq!(code, 200, "{strategy}");
    assert_eq!(strategy["name"], "market-maker");
    assert_eq!(strategy["tunable"], true);
    assert_eq!(strategy["params"]["half_spread_ticks"], 1);
    assert!(engine.fills_in(Duration::from_millis(500)) > 0.0);
    // Twenty ticks from the mid, on a market that moves a tick at a time:
    // once the old quotes are replaced, nothing reaches them.
    let (code, changed) = engine.command(
        "PUT",
        "/admin/strategy",
        Some(r#"{"half_spread_ticks": 20}"#),
    );
    assert_eq!(code, 200, "{changed}");
    assert_eq!(changed["params"]["half_spread_ticks"], 20);
    assert_eq!(changed["params"]["qty"], 1, "the rest kept");
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(engine.fills_in(Duration::from_millis(500)), 0.0);
    assert!(
        engine.orders_in(Duration::from_millis(300)) > 0.0,
        "still quoting"
    );
    let (_, config) = engine.command("GET", "/admin/config", None);
    assert_eq!(
        config["strategy"]["params"]["market-maker"]["half_spread_ticks"],
        20
    );

    for bad in [
        r#"{"half_spread_ticks": 0}"#,
        r#"{"half_spread_tiks": 2}"#,
        r#"{"qty": "two"}"#,
        r#"{"qty": null}"#,
        "[]",
    ] {
        let (code, answer) = engine.command("PUT", "/admin/strategy", Some(bad));
        assert_eq!(code, 400, "{bad}: {answer}");
    }
    let (_, answer) = engine.command(
        "PUT",
        "/admin/strategy",
        Some(r#"{"half_spread_ticks": 0}"#),
    );
    assert!(
        answer["error"]
            .as_str()
            .unwrap()
            .contains("`half_spread_ticks` must be at least 1"),
        "{answer}"
    );
    let (_, strategy) = engine.command("GET", "/admin/strategy", None);
    assert_eq!(strategy["params"]["half_spread_ticks"], 20, "unchanged");
    assert!(engine.stop(), "{}", engine.out);
    assert!(
        events(&engine.out, "admin")
            .iter()
            .any(|e| e.get("command") == "strategy" && e.get("result") == "done"),
        "{}",
        engine.out
    );
}

#[test]
fn the_log_level_changes_while_it_runs() {
    let mut engine = engine();
    let (code, level) = engine.command("GET", "/admin/log-level", None);
    assert_eq!((code, &level["level"]), (200, &"info".into()));
    engine.get("/ping");
    let (code, changed) = engine.command("PUT", "/admin/log-level", Some(r#"{"level": "debug"}"#));
    assert_eq!(code, 200, "{changed}");
    assert_eq!(changed["level"], "debug");
    engine.get("/ping");
    engine.wait_for("msg=request method=GET path=/ping");
    for bad in [r#"{"level": "loud"}"#, r#"{"level": 3}"#, "{}", "null"] {
        let (code, answer) = engine.command("PUT", "/admin/log-level", Some(bad));
        assert_eq!(code, 400, "{bad}: {answer}");
    }
    let (code, _) = engine.command("PUT", "/admin/log-level", Some(r#"{"level": "warn"}"#));
    assert_eq!(code, 200);
    assert!(engine.stop(), "{}", engine.out);
    let pings = engine.out.matches("path=/ping").count();
    assert_eq!(pings, 1, "only the ping sent at debug: {}", engine.out);
    assert!(
        !engine.out.contains("msg=\"stopped cleanly\""),
        "info is below warn: {}",
        engine.out
    );
}

#[test]
fn sighup_reloads_limits_strategy_and_log_level_and_names_what_needs_a_restart() {
    let mut engine = engine();
    engine.rewrite_config(
        "[risk]\nmax_order_qty = 3\n\
         [strategy.params.market-maker]\nhalf_spread_ticks = 2\n\
         [log]\nlevel = \"debug\"\n\
         [feed.synthetic]\nrate = 50000\n",
    );
    engine.signal("-HUP");
    engine.wait_for("msg=reloaded");
    engine.wait_for("change=log-level");
    let (_, limits) = engine.command("GET", "/admin/limits", None);
    assert_eq!(limits["limits"]["max_order_qty"], 3);
    let (_, strategy) = engine.command("GET", "/admin/strategy", None);
    assert_eq!(strategy["params"]["half_spread_ticks"], 2);
    let (_, level) = engine.command("GET", "/admin/log-level", None);
    assert_eq!(level["level"], "debug");
    let reloaded = event(&engine.out, "reloaded");
    assert_eq!(reloaded.get("changes"), "limits,strategy,log-level");
    let restart = event(
        &engine.out,
        "reload: these differ from the running config and take a restart",
    );
    assert_eq!(restart.get("keys"), "feed.synthetic.rate");

    // A file that no longer loads, or whose values fail their checks,
    // changes nothing.
    engine.rewrite_config("[risk]\nmax_order_qty = 4\nmax_ordr_qty = 1\n");
    engine.signal("-HUP");
    engine.wait_for("unknown field `max_ordr_qty`");
    engine.rewrite_config(
        "[risk]\nmax_order_qty = 4\n[strategy.params.market-maker]\nhalf_spread_ticks = 0\n",
    );
    engine.signal("-HUP");
    engine.wait_for("`half_spread_ticks` must be at least 1");
    assert_eq!(
        events(&engine.out, "reload refused: nothing changed").len(),
        2
    );
    let (_, limits) = engine.command("GET", "/admin/limits", None);
    assert_eq!(limits["limits"]["max_order_qty"], 3, "all or nothing");
    assert!(engine.stop(), "{}", engine.out);
}
