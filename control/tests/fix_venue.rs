//! A FIX venue as a user runs one: `redline run` with `venue.kind =
//! "fix"` sending its orders over FIX 4.4 on loopback to the stand-in
//! venue, trading on its answers, losing the connection and making it
//! again, and telling all of it through /health, /health/ready, /metrics
//! and its log; a venue that is not there; and a restart that logs on with
//! the sequence numbers where the killed run left them, takes back from
//! its session file the orders and reports the killed run's journal never
//! got (with a venue that lost all it sent), and cancels at the venue the
//! orders left open.

mod support;

use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use redline_engine::domain::{InstrumentSpec, Instruments, Intent, Price, Quote};
use redline_engine::venue::fix::{Credentials, SessionConfig, StandInVenue};
use redline_engine::venue::SimVenueConfig;
use support::{assert_promtool_passes, event, events, json, sample, Engine, TOKEN_ENV};

/// Two instruments, as both the engine and the stand-in know them.
const INSTRUMENTS: &str = "[[instruments]]\nsymbol = \"ESZ6\"\ntick_size = \"0.25\"\n\
     lot_size = \"1\"\nmultiplier = \"50\"\nreference_price = \"6000.00\"\n\
     [[instruments]]\nsymbol = \"CLF7\"\ntick_size = \"0.01\"\nlot_size = \"1\"\n\
     multiplier = \"1000\"\nreference_price = \"70.00\"\n";

fn instruments() -> Instruments {
    let spec = |symbol: &str, tick: &str, multiplier: &str, reference: &str| InstrumentSpec {
        symbol: symbol.into(),
        tick_size: tick.parse().unwrap(),
        lot_size: "1".parse().unwrap(),
        multiplier: multiplier.parse().unwrap(),
        reference_price: reference.parse().unwrap(),
    };
    Instruments::new(&[
        spec("ESZ6", "0.25", "50", "6000.00"),
        spec("CLF7", "0.01", "1000", "70.00"),
    ])
    .unwrap()
}

/// The stand-in, its market a tick either side of each reference price.
fn stand_in() -> StandInVenue {
    stand_in_asking(None)
}

/// As [`stand_in`], refusing a Logon without `credentials` when given.
fn stand_in_asking(credentials: Option<Credentials>) -> StandInVenue {
    let instruments = instruments();
    let market = StandInVenue::market_at_references(&instruments, 50);
    StandInVenue::start(
        "127.0.0.1:0".parse().unwrap(),
        SessionConfig {
            sender_comp_id: "STANDIN".into(),
            target_comp_id: "REDLINE".into(),
            heartbeat_s: 2,
            answer_timeout_ms: 2_000,
            credentials,
        },
        &SimVenueConfig {
            seed: 5,
            fill_probability: 0.5,
            latency_us: 100,
            max_orders: 4_096,
            touch_fill_probability: 0.0,
        },
        &instruments,
        &market,
    )
    .unwrap()
}

/// The engine's config: a calm synthetic feed, the two instruments, and
/// the FIX venue at `venue`, trying again after `reconnect_ms`.
fn fix_config(venue: SocketAddr, reconnect_ms: u64) -> String {
    format!(
        "[feed.synthetic]\nrate = 5000\n{INSTRUMENTS}\
         [venue]\nkind = \"fix\"\n\
         [venue.fix]\nconnect = \"{venue}\"\ntarget_comp_id = \"STANDIN\"\nheartbeat_s = 2\n\
         answer_timeout_ms = 2000\nreconnect_min_ms = {reconnect_ms}\n\
         reconnect_max_ms = {reconnect_ms}\n"
    )
}

/// Polls `get` until `done` holds, up to 15 s.
fn until(engine: &Engine, what: &str, done: impl FnMut(&Engine) -> bool) {
    until_within(engine, 15, what, done);
}

/// As [`until`], up to `seconds`: for a restart that takes back thousands
/// of orders, which a debug build on a busy CI machine takes its time over.
fn until_within(engine: &Engine, seconds: u64, what: &str, mut done: impl FnMut(&Engine) -> bool) {
    let deadline = Instant::now() + Duration::from_secs(seconds);
    while !done(engine) {
        assert!(
            Instant::now() < deadline,
            "not within {seconds} s: {what}\n{}",
            engine.out
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn venue_component(engine: &Engine) -> serde_json::Value {
    let (_, body) = engine.get("/health");
    json(&body)["components"]["venue"].clone()
}

#[test]
fn orders_go_to_a_fix_venue_and_a_lost_connection_is_made_again() {
    let venue = stand_in();
    let mut engine = Engine::start(&fix_config(venue.address(), 1_500), &[]);
    engine.wait_for("msg=\"venue: FIX session logged on\"");
    let started = event(&engine.out, "starting");
    assert_eq!(
        started.get("venue"),
        format!("fix {} (STANDIN)", venue.address())
    );
    until(&engine, "orders reach the venue and it answers", |_| {
        venue.counts().orders.load(Ordering::SeqCst) >= 20
            && venue.counts().reports.load(Ordering::SeqCst) >= 20
    });
    until(&engine, "ready", |e| e.get("/health/ready").0 == 200);
    let component = venue_component(&engine);
    assert_eq!(component["status"], "healthy", "{component}");
    let message = component["message"].as_str().unwrap();
    assert!(
        message.starts_with(&format!(
            "FIX session with STANDIN at {} logged on; next MsgSeqNum out",
            venue.address()
        )),
        "{message}"
    );
    let (_, metrics) = engine.get("/metrics");
    assert_promtool_passes(&metrics);
    assert_eq!(
        sample(&metrics, "redline_venue_state{state=\"active\"}"),
        1.0
    );
    assert!(sample(&metrics, "redline_venue_events_total{event=\"sent\"}") >= 20.0);
    assert!(sample(&metrics, "redline_venue_events_total{event=\"received\"}") >= 20.0);
    assert!(sample(&metrics, "redline_orders_sent_total{kind=\"new\"}") >= 20.0);
    let fills = sample(&metrics, "redline_executions_total{type=\"fill\"}")
        + sample(&metrics, "redline_executions_total{type=\"partial_fill\"}");
    assert!(fills > 0.0, "the venue's fills reach the engine: {metrics}");

    // The venue drops the line: not ready, the venue unhealthy, orders
    // refused VENUE_DOWN; then it is made again.
    venue.drop_connection();
    engine.wait_for("msg=\"venue: FIX link down");
    let down = events(
        &engine.out,
        "venue: FIX link down; new orders are refused VENUE_DOWN until it is back",
    );
    assert_eq!(down[0].get("why"), "the venue closed the connection");
    let (status, body) = engine.get("/health/ready");
    assert_eq!(status, 503, "{body}");
    assert!(body.contains("venue: no FIX session logged on"), "{body}");
    let component = venue_component(&engine);
    assert_eq!(component["status"], "unhealthy", "{component}");
    // The market maker sees in its context that the venue is down and
    // waits: the orders refused VENUE_DOWN (those that met the line as it
    // dropped, if any) do not grow while it stays down.
    let refused_down = |e: &Engine| {
        let (_, metrics) = e.get("/metrics");
        sample(
            &metrics,
            "redline_venue_rejections_total{reason=\"VENUE_DOWN\"}",
        )
    };
    std::thread::sleep(Duration::from_millis(200));
    let first = refused_down(&engine);
    std::thread::sleep(Duration::from_millis(400));
    assert_eq!(
        refused_down(&engine),
        first,
        "no order sent into the outage"
    );
    assert!(first < 100.0, "{first} refused VENUE_DOWN");
    engine.wait_for_n(
        "msg=\"venue: FIX session logged on\"",
        2,
        Duration::from_secs(10),
    );
    until(&engine, "ready again", |e| e.get("/health/ready").0 == 200);
    assert_eq!(venue.counts().logons.load(Ordering::SeqCst), 2);
    let orders = venue.counts().orders.load(Ordering::SeqCst);
    until(&engine, "orders flow again", |_| {
        venue.counts().orders.load(Ordering::SeqCst) > orders + 10
    });
    // A drain cancels what rests at the venue, which answers, and exits 0.
    assert!(engine.stop(), "{}", engine.out);
    assert!(
        engine.out.contains("msg=\"drained: no order open\""),
        "{}",
        engine.out
    );
}

#[test]
fn with_no_venue_there_the_engine_runs_and_says_why_it_cannot_trade() {
    let address = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let mut engine = Engine::start(&fix_config(address, 200), &[]);
    engine.wait_for("msg=\"venue: cannot connect; trying again with a growing backoff\"");
    let (status, body) = engine.get("/health/ready");
    assert_eq!(status, 503, "{body}");
    assert!(body.contains("venue: no FIX session logged on"), "{body}");
    let component = venue_component(&engine);
    assert_eq!(component["status"], "unhealthy");
    assert!(
        component["message"]
            .as_str()
            .unwrap()
            .contains("last down: the connection could not be made"),
        "{component}"
    );
    until(&engine, "several attempts", |e| {
        let (_, metrics) = e.get("/metrics");
        sample(
            &metrics,
            "redline_venue_events_total{event=\"connect_failures\"}",
        ) >= 3.0
            && sample(&metrics, "redline_venue_state{state=\"active\"}") == 0.0
    });
    assert_eq!(
        events(
            &engine.out,
            "venue: cannot connect; trying again with a growing backoff"
        )
        .len(),
        1,
        "said once, not at every attempt"
    );
    assert!(engine.stop(), "{}", engine.out);
}

#[test]
fn a_restart_keeps_the_sequence_numbers_and_cancels_what_the_journal_left_open() {
    let venue = stand_in();
    let mut first = Engine::start(&fix_config(venue.address(), 200), &[]);
    until(&first, "orders rest at the venue", |e| {
        let (_, metrics) = e.get("/metrics");
        sample(&metrics, "redline_venue_open_orders") >= 3.0
    });
    // kill -9: the journal holds orders that rest at the venue.
    first.child.kill().unwrap();
    first.child.wait().unwrap();
    let journal = std::mem::replace(&mut first.journal, tempfile::tempdir().unwrap());
    let before = venue.taken().len();
    let mut second = Engine::start_on(journal, &fix_config(venue.address(), 200), &[]);
    // The orders left open: those the journal holds open, and any the last
    // run sent that its journal never got, less those that reports it
    // took and its journal never got ended.
    let restored = event(&second.out, "state restored from the journal");
    assert!(restored.num("open_orders") >= 1.0, "{}", second.out);
    let left_open = event(&second.out, "cancelling the orders the journal left open").num("orders");
    let last_run = events(
        &second.out,
        "venue: orders the last run sent that its journal never got, taken back",
    )
    .last()
    .map_or(restored.num("last_order_id"), |back| back.num("last_id")) as u64;
    second.wait_for("msg=\"venue: FIX session logged on\"");
    // Within the trading day the second run logs on where the first left
    // off: only the first logon reset the numbers.
    let kept = event(&second.out, "venue: FIX session file");
    assert_eq!(
        kept.get("logon"),
        "where the last run of the trading day left off"
    );
    assert!(kept.num("next_out") > 1.0, "{}", second.out);
    assert_eq!(venue.counts().logons.load(Ordering::SeqCst), 2);
    assert_eq!(venue.counts().resets.load(Ordering::SeqCst), 1);
    // The venue gets a cancel of each order of the last run that was
    // open; this run's own orders have higher ids.
    until(
        &second,
        "a cancel of each order the journal left open",
        |_| {
            let mut ids: Vec<u64> = venue.taken()[before..]
                .iter()
                .filter_map(|intent| match intent {
                    Intent::Cancel(id) if id.0 <= last_run => Some(id.0),
                    _ => None,
                })
                .collect();
            ids.sort_unstable();
            ids.dedup();
            ids.len() as f64 >= left_open
        },
    );
    assert!(second.stop(), "{}", second.out);
}

/// What `redline run` with `config` on the journal in `journal` printed
/// when it refused to start (it must exit within 20 s, and fail).
fn refused_start(config: &str, journal: &std::path::Path) -> String {
    let file = tempfile::Builder::new().suffix(".toml").tempfile().unwrap();
    std::fs::write(
        file.path(),
        format!("[control]\nlisten = \"127.0.0.1:0\"\n{config}"),
    )
    .unwrap();
    let mut child = support::redline()
        .arg("run")
        .arg("--config")
        .arg(file.path())
        .env("REDLINE_JOURNAL_DIR", journal)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            child.kill().unwrap();
            panic!("it started");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let out = child.wait_with_output().unwrap();
    assert!(!out.status.success());
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// The ids of the orders (`Intent::New`) in `taken`.
fn new_ids(taken: &[Intent]) -> Vec<u64> {
    taken
        .iter()
        .filter_map(|intent| match intent {
            Intent::New(order) => Some(order.id.0),
            Intent::Cancel(_) => None,
        })
        .collect()
}

/// An engine trading with `venue`, killed (kill -9) while its journal's
/// disk stalls: orders it sent and reports it took, fills among them, are
/// not in its journal.
fn killed_while_its_journal_stalls(venue: &StandInVenue) -> Engine {
    // The journal's disk stalls 1.5 s in: the side thread waits, the
    // gateway goes on sending, and the orders it sends are not journaled.
    let mut first = Engine::start(
        &fix_config(venue.address(), 200),
        &[("REDLINE_TEST_STALL_JOURNAL", "1500:30000")],
    );
    first.wait_for("msg=\"venue: FIX session logged on\"");
    until(&first, "the journal stalls", |e| {
        e.get("/health").1.contains("journal stalled")
    });
    let fills = |venue: &StandInVenue| {
        venue
            .reports_sent()
            .iter()
            .filter(|r| r.filled.0 > 0)
            .count()
    };
    let (orders_at_stall, fills_at_stall) = (new_ids(&venue.taken()).len(), fills(venue));
    // The venue's market sweeps through the resting orders, a side at a
    // time, so that fills come while the journal waits.
    let calm = StandInVenue::market_at_references(&instruments(), 50);
    let mut sweep = 0;
    until_within(
        &first,
        60,
        "orders and fills while the journal waits",
        |_| {
            sweep += 1;
            for quote in &calm {
                let away = if sweep % 2 == 0 { 500 } else { -500 };
                venue.quote(Quote {
                    bid: Price(quote.bid.0 + away),
                    ask: Price(quote.ask.0 + away),
                    ..*quote
                });
            }
            new_ids(&venue.taken()).len() >= orders_at_stall + 5
                && fills(venue) >= fills_at_stall + 3
        },
    );
    for quote in calm {
        venue.quote(quote);
    }
    // The gateway reads every fill of the sweeps first, so that the venue
    // holds none it never read (those it would only send again).
    std::thread::sleep(Duration::from_millis(200));
    let sent = venue.counts().next_out.load(Ordering::SeqCst);
    until_within(&first, 60, "the gateway read all the venue sent", |e| {
        sample(
            &e.get("/metrics").1,
            "redline_venue_seq_num{direction=\"in\"}",
        ) >= sent as f64
    });
    // kill -9: those orders are live at the venue and not in the journal.
    first.child.kill().unwrap();
    first.child.wait().unwrap();
    first
}

#[test]
fn a_restart_takes_back_what_its_journal_never_got_with_no_help_from_the_venue() {
    let venue = stand_in();
    let mut first = killed_while_its_journal_stalls(&venue);
    // The venue's store has lost what it sent: asked for it again, it
    // sends gap fills.
    venue.forget_what_it_sent();
    let sent = new_ids(&venue.taken());
    let before = venue.taken().len();
    // Only the venue can settle what the killed run left in doubt: a start
    // with the simulated venue on this journal is refused, saying so.
    let refused = refused_start(
        &format!("[feed.synthetic]\nrate = 5000\n{INSTRUMENTS}"),
        first.journal.path(),
    );
    assert!(
        refused.contains("the journal's last FIX run was killed before its journal got orders")
            && refused.contains("fix.session"),
        "{refused}"
    );
    let journal = std::mem::replace(&mut first.journal, tempfile::tempdir().unwrap());
    let mut second = Engine::start_on(journal, &fix_config(venue.address(), 200), &[]);
    let journaled =
        event(&second.out, "state restored from the journal").num("last_order_id") as u64;
    let missed: Vec<u64> = sent.iter().copied().filter(|&id| id > journaled).collect();
    assert!(missed.len() >= 5, "{missed:?}\n{}", second.out);
    let back = event(
        &second.out,
        "venue: orders the last run sent that its journal never got, taken back",
    );
    // The file may also hold one recorded just before its bytes would
    // have left.
    assert!(back.num("orders") >= missed.len() as f64, "{}", second.out);
    assert_eq!(back.num("first_id") as u64, missed[0]);
    let last_back = back.num("last_id") as u64;
    assert!(last_back >= *sent.last().unwrap(), "{}", second.out);
    second.wait_for("msg=\"venue: FIX session logged on\"");
    // The open orders are back within risk.max_open_orders: the restart's
    // cancel-all reached those the reports taken back did not end.
    until_within(&second, 60, "every order taken back ends", |e| {
        sample(&e.get("/metrics").1, "redline_open_orders") < 64.0
    });
    // No new order takes an id of theirs.
    until_within(&second, 60, "new orders", |_| {
        new_ids(&venue.taken()[before..]).len() >= 5
    });
    let reused: Vec<u64> = new_ids(&venue.taken()[before..])
        .into_iter()
        .filter(|&id| id <= last_back)
        .collect();
    assert!(reused.is_empty(), "ids handed out again: {reused:?}");
    let (_, metrics) = second.get("/metrics");
    assert_eq!(
        sample(
            &metrics,
            "redline_venue_events_total{event=\"recovered_orders\"}"
        ),
        back.num("orders")
    );
    assert!(second.stop(), "{}", second.out);
    // The journal holds them now, as the restart wrote them.
    let dump = support::dump(second.journal.path());
    let restart_sent = dump
        .iter()
        .filter(|entry| entry["writer"] == "restart" && entry["type"] == "sent")
        .count();
    assert_eq!(restart_sent as f64, back.num("orders"));
    // The first run took reports, fills among them, its journal never got;
    // the restart took them back from the session file.
    let taken = event(
        &second.out,
        "venue: reports the last run took that its journal never got, taken back",
    );
    assert!(taken.num("fills") >= 1.0, "{}", second.out);
    assert_eq!(
        sample(
            &metrics,
            "redline_venue_events_total{event=\"recovered_reports\"}"
        ),
        taken.num("reports")
    );
    let restart_reports = dump
        .iter()
        .filter(|entry| {
            entry["writer"] == "restart"
                && entry["type"]
                    .as_str()
                    .is_some_and(|kind| kind.starts_with("report."))
        })
        .count();
    assert_eq!(restart_reports as f64, taken.num("reports"));
    // Each order taken back ended, by a report taken back or one of the
    // venue's to the cancel-all (unknown to it: recorded just before its
    // bytes would have left).
    let ended: std::collections::BTreeSet<u64> = dump
        .iter()
        .filter(|entry| {
            matches!(
                entry["type"].as_str(),
                Some("report.fill" | "report.cancelled" | "report.rejected")
            ) || entry["report"]["reason"] == "UNKNOWN_ORDER"
        })
        .map(|entry| entry["report"]["id"].as_u64().unwrap())
        .collect();
    let open: Vec<&u64> = missed.iter().filter(|id| !ended.contains(id)).collect();
    assert!(open.is_empty(), "never ended: {open:?}");
    // So the journal holds every lot the venue filled, each once, though
    // the venue sent none of them again.
    let mut venue_filled = std::collections::BTreeMap::<u64, i64>::new();
    for report in venue.reports_sent() {
        *venue_filled.entry(report.id.0).or_default() += report.filled.0;
    }
    let mut journal_filled = std::collections::BTreeMap::<u64, i64>::new();
    let reports = dump.iter().filter(|entry| {
        entry["type"]
            .as_str()
            .is_some_and(|kind| kind.starts_with("report."))
    });
    for entry in reports {
        let report = &entry["report"];
        let filled = report["filled"].as_i64().unwrap();
        *journal_filled
            .entry(report["id"].as_u64().unwrap())
            .or_default() += filled;
    }
    venue_filled.retain(|_, lots| *lots != 0);
    journal_filled.retain(|_, lots| *lots != 0);
    assert!(!venue_filled.is_empty());
    assert_eq!(journal_filled, venue_filled);
    // After a clean stop nothing is in doubt: the simulated venue may
    // trade on the journal.
    let journal = std::mem::replace(&mut second.journal, tempfile::tempdir().unwrap());
    let mut simulated = Engine::start_on(
        journal,
        &format!("[feed.synthetic]\nrate = 5000\n{INSTRUMENTS}"),
        &[],
    );
    assert!(simulated.stop(), "{}", simulated.out);
}

#[test]
fn a_venue_password_comes_from_the_environment_or_a_file_and_never_shows() {
    const PASSWORD: &str = "s3cret-FIX-pw";
    const TOKEN: &str = "fix-admin-token";
    let venue = stand_in_asking(Some(Credentials {
        username: "desk7".into(),
        password: PASSWORD.into(),
    }));
    let asks = |password: &str| {
        format!(
            "{}username = \"desk7\"\n{password}",
            fix_config(venue.address(), 200)
        )
    };
    // The wrong one, from the environment: refused, said so, not ready.
    let mut wrong = Engine::start(
        &asks("password_env = \"REDLINE_TEST_FIX_PASSWORD\"\n"),
        &[("REDLINE_TEST_FIX_PASSWORD", "guess"), (TOKEN_ENV, TOKEN)],
    );
    wrong.wait_for("msg=\"venue: FIX link down");
    let down = event(
        &wrong.out,
        "venue: FIX link down; new orders are refused VENUE_DOWN until it is back",
    );
    assert!(
        down.get("why")
            .starts_with("the venue answered the Logon with a Logout"),
        "{}",
        wrong.out
    );
    let (status, body) = wrong.get("/health/ready");
    assert_eq!(status, 503, "{body}");
    let message = venue_component(&wrong)["message"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        message.contains(
            "last down: the venue answered the Logon with a Logout (check venue.fix.username \
             and its password) (the venue said \"a Logon with a Username(553) or Password(554) \
             not the venue's\")"
        ),
        "{message}"
    );
    assert_eq!(
        down.get("venue_said"),
        "a Logon with a Username(553) or Password(554) not the venue's"
    );
    // Tried again and again, told of once.
    until(&wrong, "three refused logons", |e| {
        let (_, metrics) = e.get("/metrics");
        sample(
            &metrics,
            "redline_venue_events_total{event=\"disconnects\"}",
        ) >= 3.0
    });
    assert!(wrong.stop(), "{}", wrong.out);
    assert_eq!(
        events(
            &wrong.out,
            "venue: FIX link down; new orders are refused VENUE_DOWN until it is back"
        )
        .len(),
        1,
        "{}",
        wrong.out
    );
    assert_eq!(venue.counts().logons.load(Ordering::SeqCst), 0);
    // The right one, from a file: logged on, and it shows nowhere.
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), format!("{PASSWORD}\n")).unwrap();
    let mut right = Engine::start(
        &asks(&format!("password_file = \"{}\"\n", file.path().display())),
        &[(TOKEN_ENV, TOKEN)],
    );
    right.wait_for("msg=\"venue: FIX session logged on\"");
    assert_eq!(venue.counts().logons.load(Ordering::SeqCst), 1);
    let (_, health) = right.get("/health");
    let (_, metrics) = right.get("/metrics");
    let (code, config) = right.send("GET", "/admin/config", Some(TOKEN), None);
    assert_eq!(code, 200, "{config}");
    assert!(config.contains("desk7"), "{config}");
    assert!(right.stop(), "{}", right.out);
    for (what, text) in [
        ("log", &right.out),
        ("log of the refused one", &wrong.out),
        ("/health", &health),
        ("/metrics", &metrics),
        ("/admin/config", &config),
    ] {
        assert!(
            !text.contains(PASSWORD) && !text.contains("guess"),
            "the password in the {what}"
        );
    }
}

#[test]
fn fills_the_venue_never_told_of_are_found_at_the_next_logon_and_halt_trading() {
    let venue = stand_in();
    let config = format!("{}check_orders = true\n", fix_config(venue.address(), 200));
    let mut engine = Engine::start(&config, &[]);
    // The first logon's check: nothing differs.
    engine.wait_for("msg=\"venue: the open orders agree with the venue's\"");
    until(&engine, "orders rest at the venue", |e| {
        sample(&e.get("/metrics").1, "redline_venue_open_orders") >= 3.0
    });
    // The venue fills resting orders (a crossed one with its fill
    // probability: so the market leaps up and down ten times) and its
    // store loses the reports, those of the engine's cancels too.
    venue.lose_reports(true);
    let calm = StandInVenue::market_at_references(&instruments(), 50);
    for leap in 0..10 {
        let away = if leap % 2 == 0 { 500 } else { -500 };
        for quote in &calm {
            venue.quote(Quote {
                bid: Price(quote.bid.0 + away),
                ask: Price(quote.ask.0 + away),
                ..*quote
            });
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    for quote in calm {
        venue.quote(quote);
    }
    // The next logon finds them. The venue goes on losing its reports
    // meanwhile (its answers to the order check are not reports), so
    // that no cancel reject tells of them first.
    venue.drop_connection();
    engine.wait_for_n(
        "msg=\"venue: the venue's word on the open orders differs from the engine's; trading halted\"",
        1,
        Duration::from_secs(30),
    );
    let found = event(
        &engine.out,
        "venue: the venue's word on the open orders differs from the engine's; trading halted",
    );
    assert!(found.num("missing_orders") >= 1.0, "{}", engine.out);
    assert!(found.num("last_order") > 0.0, "{}", engine.out);
    until(&engine, "halted", |e| {
        json(&e.get("/health").1)["trading_state"] == "halted"
    });
    venue.lose_reports(false);
    let (_, metrics) = engine.get("/metrics");
    assert!(
        sample(
            &metrics,
            "redline_venue_events_total{event=\"status_missing_orders\"}"
        ) >= 1.0
    );
    assert_eq!(
        sample(
            &metrics,
            "redline_venue_events_total{event=\"status_checks\"}"
        ),
        2.0
    );
    assert!(venue_component(&engine)["message"]
        .as_str()
        .unwrap()
        .contains("orders open here that the venue's status left out"));
    assert!(engine.stop(), "{}", engine.out);
}

#[test]
fn fills_of_orders_a_lost_journal_held_halt_trading() {
    let venue = stand_in();
    let mut first = Engine::start(&fix_config(venue.address(), 200), &[]);
    // Orders rest at the venue, their ids far above those the next run
    // hands out in its first seconds (it starts from 1 again: a run
    // without its journal reuses ids, which is why the venue's fills of
    // the old orders must not land on the new ones by chance here).
    until_within(&first, 60, "20,000 orders and some resting", |e| {
        let metrics = e.get("/metrics").1;
        sample(&metrics, "redline_orders_sent_total{kind=\"new\"}") >= 20_000.0
            && sample(&metrics, "redline_venue_open_orders") >= 3.0
    });
    // The machine is lost, its journal and session file with it; the
    // engine starts afresh elsewhere, on the same FIX session.
    first.child.kill().unwrap();
    first.child.wait().unwrap();
    let mut second = Engine::start(&fix_config(venue.address(), 200), &[]);
    second.wait_for("msg=\"venue: FIX session logged on\"");
    // The venue fills the orders the first run left resting, wherever its
    // market had walked them: its market leaps up through every offer,
    // then down through every bid (a crossed order fills with the
    // stand-in's fill probability, so it leaps until one has).
    let mut leaps = 0;
    until(&second, "a fill of an order the first run left", |e| {
        let (bid, ask) = [(1_000_000, 1_000_001), (1, 2)][leaps % 2];
        leaps += 1;
        for quote in StandInVenue::market_at_references(&instruments(), 50) {
            venue.quote(Quote {
                bid: Price(bid),
                ask: Price(ask),
                ..quote
            });
        }
        sample(
            &e.get("/metrics").1,
            "redline_venue_events_total{event=\"stray_fills\"}",
        ) >= 1.0
    });
    second.wait_for_n(
        "msg=\"venue: fills of orders the engine did not hold open; trading halted\"",
        1,
        Duration::from_secs(30),
    );
    let stray = event(
        &second.out,
        "venue: fills of orders the engine did not hold open; trading halted",
    );
    assert!(stray.num("fills") >= 1.0, "{}", second.out);
    until(&second, "halted", |e| {
        json(&e.get("/health").1)["trading_state"] == "halted"
    });
    let (_, metrics) = second.get("/metrics");
    assert!(
        sample(
            &metrics,
            "redline_venue_events_total{event=\"stray_fills\"}"
        ) >= 1.0
    );
    assert!(venue_component(&second)["message"]
        .as_str()
        .unwrap()
        .contains("fills of orders not held open"));
    assert!(second.stop(), "{}", second.out);
}
