//! `redline run`: build the decision path in the configured topology, start
//! its stages and the side thread, log a status event once a second,
//! reload on SIGHUP, and stop cleanly (with a summary): after a drain on
//! SIGINT, SIGTERM or `POST /admin/drain`, or at the end of a replay.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use parking_lot::Mutex;
use redline_engine::audit::{
    AuditEvent, AuditRecord, AuditStats, Latency, Restored, Restorer, RunReports, Stamps,
    RESTART_WRITER,
};
use redline_engine::clock;
use redline_engine::command::{command_ring, Action, Outcome};
use redline_engine::domain::{Instruments, Intent, NewOrder, Qty, Reject, TimeInForce};
use redline_engine::feed::{Feed, ItchFeed, Pace, Recorded, ReplayFeed, SyntheticFeed};
use redline_engine::path::{PathCounters, PathParts, TimeSource};
use redline_engine::risk::{RiskGate, RiskLimits};
use redline_engine::stage::{available_cores, PinOutcome, PinPolicy, Runtime, Topology};
use redline_engine::strategy::Registry;
use redline_engine::trading_day;
use redline_engine::venue::fix::{
    Credentials, FixVenue, LinkCount, LinkReport, LinkStats, SequenceNumbers, SessionFile,
    STATUS_MISMATCHES,
};
use redline_engine::venue::{SimVenue, Venue};
use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};

use crate::commander::{Commander, InForce};
use crate::config::BacklogAction;
use crate::config::{read_secret, Config, FeedSource, VenueKind};
use crate::db::{PersistSettings, PersistStatus, Persister};
use crate::feed_log::FeedLog;
use crate::freeze;
use crate::http::{AdminToken, Bounds, ControlPlane, Desk, DoorLimits, Network, VenueLink, View};
use crate::journal::{
    CheckpointSettings, CheckpointStatus, Checkpointer, DiskWait, Journal, Rebuild, StallLog,
};
use crate::log::{money, Event, Level, Log};
use crate::placement;
use crate::reload::Reloader;
use crate::side::{SideParts, SideThread, Tally};
use crate::systemd::Notifier;
use crate::timestamp;
use crate::venue_log::VenueLog;

/// Runs until a drain (SIGINT, SIGTERM, `POST /admin/drain`) or the end of
/// `replay` (the quotes `Config::replay` read when the feed source is a
/// replay), then stops and joins every stage and logs a summary. SIGHUP
/// reads `path` (the config file, `None` for the embedded default) again.
///
/// # Errors
///
/// Besides start-up failures: a drain that left orders open.
pub fn run(
    config: &Config,
    replay: Option<Vec<Recorded>>,
    path: Option<PathBuf>,
) -> anyhow::Result<()> {
    let (log, sink) = Log::new(config.log);
    let cores = available_cores();
    let plan = placement::plan(config, &cores);
    let mut runtime = Runtime::new(config.topology.pinning);
    let drain = Arc::new(AtomicBool::new(false));
    for signal in [SIGINT, SIGTERM] {
        // A second signal while draining exits at once, with status 1.
        signal_hook::flag::register_conditional_shutdown(signal, 1, drain.clone())
            .context("cannot install signal handlers")?;
        signal_hook::flag::register(signal, drain.clone())
            .context("cannot install signal handlers")?;
    }
    let reload = Arc::new(AtomicBool::new(false));
    signal_hook::flag::register(SIGHUP, reload.clone())
        .context("cannot install signal handlers")?;
    let instruments = config.instruments();
    let ticks_per_second = 1e9 / clock::ns_per_tick();
    let time = config.clock.source;
    let now = match time {
        TimeSource::Wall => clock::ticks(),
        TimeSource::Simulated => 0,
    };
    let (feed, replay_len, source, network) =
        build_feed(&log, config, replay, &instruments, now, ticks_per_second)?;
    let strategy = config.strategy().map_err(|e| anyhow::anyhow!("{e}"))?;
    let mut gate = RiskGate::new(&config.risk, &instruments, ticks_per_second, now)
        .map_err(|e| anyhow::anyhow!("risk: {e}"))?;
    let (mut journal, restored) = open_journal(&log, config, &mut gate, &instruments)?;
    let day_began = restored.day_began_wall_ns;
    freeze::stall_journal(&log, &mut journal);
    if time == TimeSource::Wall {
        schedule_trading_days(&log, config, &mut gate, day_began)?;
    }
    let (venue, venue_link) = build_venue(
        &log,
        config,
        &instruments,
        &mut gate,
        &mut journal,
        restored.run,
        ticks_per_second,
    )?;
    log.info("starting")
        .field("version", env!("CARGO_PKG_VERSION"))
        .field("topology", plan.topology.name())
        .field("cores", cores.len())
        .field(
            "pinning",
            match config.topology.pinning {
                PinPolicy::Required => "required",
                PinPolicy::BestEffort => "best-effort",
            },
        )
        .field("feed", source)
        .field(
            "venue",
            match &venue_link {
                Some(link) => format!("fix {} ({})", link.address, link.target),
                None => "simulated".to_owned(),
            },
        )
        .field("instruments", instruments.len())
        .field("strategy", &config.strategy.name)
        .field(
            "time",
            match time {
                TimeSource::Wall => "wall-clock",
                TimeSource::Simulated => "simulated",
            },
        )
        .emit();

    let counters = Arc::new(PathCounters::new(instruments.len(), gate.open_capacity()));
    let (commander, commands) = command_ring();
    let in_force = InForce {
        limits: config.risk,
        strategy: config.strategy_params(),
    };
    let restored_open = gate.open_orders();
    let mut commander = Commander::new(
        commander,
        in_force,
        config.risk.max_open_orders,
        log.clone(),
    );
    if restored_open > 0 {
        // The simulated venue's book did not outlive the last run: the
        // orders the journal left open are cancelled (the venue answers
        // that it does not know them, which ends them) before trading. A
        // FIX venue's may have: the gateway took them back, and their
        // cancels wait for its logon.
        commander
            .send(0, Action::CancelAll)
            .map_err(|_| anyhow::anyhow!("cannot queue the restart's cancel-all"))?;
        log.info("cancelling the orders the journal left open")
            .field("orders", restored_open)
            .emit();
    }
    let commander = Arc::new(Mutex::new(commander));
    let parts = PathParts {
        feed,
        strategy,
        gate,
        venue,
        counters: Arc::clone(&counters),
        commands,
        time,
        now,
        ticks_per_second,
    };
    let sizes = config.ring_sizes();
    let audit_rings = match plan.topology {
        Topology::Pipeline => {
            let (pipeline, rings) = parts.pipeline(&sizes);
            let mut stages = plan.stages.into_iter();
            let mut next = |name: &str| {
                stages
                    .find(|s| s.name == name)
                    .with_context(|| format!("the {name} stage's placement"))
            };
            freeze::spawn(&log, &mut runtime, next("feed")?, pipeline.feed)?;
            freeze::spawn(&log, &mut runtime, next("decide")?, pipeline.decide)?;
            freeze::spawn(&log, &mut runtime, next("gateway")?, pipeline.gateway)?;
            rings.into()
        }
        Topology::Fused | Topology::Auto => {
            let spec = plan.stages.into_iter().next().context("the fused stage")?;
            let (path, ring) = parts.fused(&sizes);
            freeze::spawn(&log, &mut runtime, spec, path)?;
            vec![ring]
        }
    };
    if config.control.confine {
        confine_control_side(&log, &runtime, &cores);
    }
    // After the confinement, which its thread inherits.
    let persister = start_persister(&log, config, &journal, instruments.len())?;
    let persist_status = persister.as_ref().map(Persister::status_handle);
    let checkpointer = start_checkpointer(
        &log,
        config,
        &journal,
        &instruments,
        persist_status.clone(),
        ticks_per_second,
    )?;
    let desk = Desk::new(
        Arc::clone(&commander),
        Registry::with_builtins(),
        config.strategy.name.clone(),
        serde_json::to_value(config).context("the effective config")?,
        instruments.clone(),
        Arc::clone(&drain),
    );
    let plane = control_plane(
        &log,
        config,
        &runtime,
        &counters,
        &instruments,
        desk,
        Published {
            persisted: persist_status.clone(),
            checkpoints: checkpointer.as_ref().map(Checkpointer::status_handle),
            network: network.clone(),
            venue: venue_link.clone(),
            disk_wait: journal.disk_wait(),
        },
    )?;
    let mut feed_log = network.map(|network| FeedLog::new(network, log.clone()));
    let venue_stats = venue_link.as_ref().map(|link| Arc::clone(&link.stats));
    let mut checks_told = LinkReport::default();
    let mut venue_log = venue_link.map(|link| VenueLog::new(link, log.clone()));
    let mut stall_log = StallLog::new(
        journal.disk_wait(),
        Duration::from_millis(config.control.stall_ms),
        log.clone(),
    );
    let parts = SideParts {
        rings: audit_rings,
        journal,
        plane,
        commander: Arc::clone(&commander),
        log: log.clone(),
    };
    let side = SideThread::start(parts, sink, instruments.len(), clock::ns_per_tick())?;
    for stage in runtime.stages() {
        let (level, msg) = match stage.pinning {
            PinOutcome::Failed { .. } => (Level::Warn, "stage unpinned"),
            _ => (Level::Info, "stage"),
        };
        log.event(level, msg)
            .field("stage", &stage.name)
            .field("pinning", stage.pinning.to_string())
            .field("idle", stage.idle.name())
            .emit();
    }
    log.info("running; stop with Ctrl-C or SIGTERM (drains first)")
        .emit();

    let reloader = Reloader::new(
        path,
        config.clone(),
        Registry::with_builtins(),
        Arc::clone(&commander),
        log.clone(),
    );
    let started = Instant::now();
    let mut last = Totals::default();
    let mut next_report = started + Duration::from_secs(1);
    let mut drained = Ok(());
    let mut systemd = Notifier::new(runtime.stages(), started, log.clone());
    let mut backlog_acted = false;
    loop {
        std::thread::sleep(Duration::from_millis(20));
        if let Some(systemd) = &mut systemd {
            systemd.tick(Instant::now());
        }
        if let Some(feed_log) = &mut feed_log {
            feed_log.tick(Instant::now());
        }
        if let Some(venue_log) = &mut venue_log {
            venue_log.tick(Instant::now());
        }
        if let Some(stats) = &venue_stats {
            order_check_guard(&log, &commander, stats, &mut checks_told);
        }
        stall_log.tick();
        // Relaxed: the flag carries no data; the commander's lock orders
        // the issuer.
        if drain.load(Ordering::Relaxed) {
            if let Some(systemd) = &systemd {
                systemd.stopping();
            }
            let grace = Duration::from_millis(config.control.drain_grace_ms);
            drained = run_drain(&log, &commander, &side, &counters, grace);
            break;
        }
        // Relaxed: as the drain flag.
        if reload.swap(false, Ordering::Relaxed) {
            reloader.reload();
        }
        if replay_len.is_some_and(|len| counters.quotes() >= len) {
            log.info("replay finished").emit();
            break;
        }
        if Instant::now() >= next_report {
            if let Some(status) = &persist_status {
                backlog_guard(&log, config, &commander, &side, status, &mut backlog_acted);
            }
            next_report += Duration::from_secs(1);
            let mut tally = side.tally().lock();
            status(
                &log,
                started,
                &counters,
                &tally,
                &instruments,
                time == TimeSource::Simulated,
                &mut last,
            );
            tally.recent.clear();
        }
    }
    log.info("stopping").emit();
    runtime.shutdown()?;
    let (tally, sink) = side.finish()?;
    if let Some(checkpointer) = checkpointer {
        checkpointer.finish();
    }
    if let Some(persister) = persister {
        // Whatever the journal got last goes to the database too, if it
        // takes it in time; the journal keeps it either way.
        persister.finish(Duration::from_millis(config.control.drain_grace_ms));
    }
    summary(
        &log,
        started.elapsed(),
        &counters,
        &tally,
        &instruments,
        time == TimeSource::Simulated,
    );
    // The side thread has stopped: what is left is written here.
    drop(sink);
    drained
}

/// Sends the drain and waits, up to `grace`, for it to end: trading
/// halted, every open order cancelled and its end reported. The stages
/// still run meanwhile; the caller stops them.
///
/// # Errors
///
/// When orders are still open after `grace`.
fn run_drain(
    log: &Log,
    commander: &Mutex<Commander>,
    side: &SideThread,
    counters: &PathCounters,
    grace: Duration,
) -> anyhow::Result<()> {
    let began = Instant::now();
    let deadline = began + grace;
    let issuer = commander.lock().drain_issuer();
    let who = match issuer {
        0 => "a signal".to_owned(),
        id => format!("admin token {id:08x}"),
    };
    log.info("draining: trading halted, cancelling open orders")
        .field("asked_by", who)
        .emit();
    let mut sent = None;
    let mut outcome = None;
    while Instant::now() < deadline && outcome.is_none() {
        match sent {
            None => sent = commander.lock().send(issuer, Action::Drain).ok(),
            Some(id) => outcome = side.tally().lock().outcome(id),
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    let took = u64::try_from(began.elapsed().as_millis()).unwrap_or(u64::MAX);
    if outcome == Some(Outcome::Done) {
        log.info("drained: no order open")
            .field("took_ms", took)
            .emit();
        return Ok(());
    }
    let open = counters.risk().map_or_else(
        || "an unknown number of".to_owned(),
        |r| r.open_orders.to_string(),
    );
    let why = match outcome {
        Some(outcome) => format!("it ended {}", outcome.name()),
        // The decide stage reports the end through the audit stream, which
        // the side thread journals before it is counted here.
        None if sent.is_some() => {
            "its end was not yet journaled (a stage stalled, or a slow disk)".to_owned()
        }
        None => "the command ring stayed full".to_owned(),
    };
    anyhow::bail!(
        "drain: not done within {} ms (control.drain_grace_ms; waited {took} ms): {why}; \
         {open} order(s) open as the decide stage last published; check them at the venue",
        grace.as_millis()
    )
}

/// Keeps this thread, and the control-side threads it starts from now on,
/// off the cores the stages are pinned to.
fn confine_control_side(log: &Log, runtime: &Runtime, cores: &[usize]) {
    let spare = placement::spare_cores(runtime.stages(), cores);
    let list = spare
        .iter()
        .map(usize::to_string)
        .collect::<Vec<_>>()
        .join(",");
    match placement::confine_current_thread(&spare) {
        Ok(()) => log
            .info("control side confined to the cores no stage is pinned to")
            .field("cores", list)
            .emit(),
        Err(why) => log
            .warn("control side not confined; it may preempt a pinned stage")
            .field("why", why)
            .emit(),
    }
}

/// Starts copying the journal into PostgreSQL when a database is
/// configured.
fn start_persister(
    log: &Log,
    config: &Config,
    journal: &Journal,
    instruments: usize,
) -> anyhow::Result<Option<Persister>> {
    let persistence = &config.persistence;
    let Some(db) = persistence.database()? else {
        log.info("persistence: the journal alone (persistence.database_url is empty)")
            .emit();
        return Ok(None);
    };
    warn_if_others_can_read(log, "persistence.password_file", &persistence.password_file);
    let settings = PersistSettings {
        db,
        engine_id: persistence.engine_id.clone(),
        journal_dir: journal.dir().to_owned(),
        batch_entries: persistence.batch_entries,
        flush_interval: Duration::from_millis(persistence.flush_interval_ms),
        retry_initial: Duration::from_millis(persistence.retry_initial_ms),
        retry_max: Duration::from_millis(persistence.retry_max_ms),
        instruments,
        first_seq: journal.stats().next_seq,
        retention_days: persistence.database_retention_days,
    };
    log.info("persistence: copying the journal into PostgreSQL")
        .field("engine_id", &persistence.engine_id)
        .emit();
    Persister::start(settings, log.clone()).map(Some)
}

/// Says what each check of the open orders against the venue's word
/// found, and halts trading when any order differs, or a fill came of an
/// order not held open: reports the engine never got, or a fill it could
/// not book, and positions it may not have, which only an operator can
/// mend. `told` is the venue's report as last acted on.
fn order_check_guard(
    log: &Log,
    commander: &Mutex<Commander>,
    stats: &LinkStats,
    told: &mut LinkReport,
) {
    let r = stats.read();
    let moved = |count: LinkCount| r.get(count) - told.get(count);
    let differ: u64 = STATUS_MISMATCHES.iter().map(|&count| moved(count)).sum();
    if differ > 0 {
        let _ = commander.lock().send(0, Action::Halt);
        log.error(
            "venue: the venue's word on the open orders differs from the engine's; trading halted",
        )
        .field("unknown_orders", moved(LinkCount::StatusUnknownOrders))
        .field("ended_orders", moved(LinkCount::StatusEndedOrders))
        .field("leaves_differ", moved(LinkCount::StatusLeavesDiffer))
        .field("missing_orders", moved(LinkCount::StatusMissingOrders))
        .field("last_order", r.mismatched_order)
        .field(
            "why",
            "the venue sent reports the engine never got (fills among them, it may be): \
                 the positions may be wrong. Orders live at the venue and unknown here are \
                 cancelled",
        )
        .field(
            "fix",
            "reconcile the positions with the venue, then POST /admin/resume",
        )
        .emit();
    } else if moved(LinkCount::StatusChecks) > 0 {
        log.info("venue: the open orders agree with the venue's")
            .field("checks", r.get(LinkCount::StatusChecks))
            .field("open_orders", r.open_orders)
            .emit();
    }
    if moved(LinkCount::StrayFills) > 0 {
        let _ = commander.lock().send(0, Action::Halt);
        log.error("venue: fills of orders the engine did not hold open; trading halted")
            .field("fills", moved(LinkCount::StrayFills))
            .field("last_order", r.mismatched_order)
            .field(
                "why",
                "the venue told of them after the order ended, or of an order the engine never \
                 knew (a journal lost with its machine): the positions did not take them",
            )
            .field(
                "fix",
                "reconcile the positions with the venue, then POST /admin/resume",
            )
            .emit();
    }
    if moved(LinkCount::StatusUnanswered) > 0 {
        log.warn("venue: the venue refused or did not answer the order status request; nothing was checked")
            .field("times", r.get(LinkCount::StatusUnanswered))
            .field(
                "fix",
                "for a venue without OrderMassStatusRequest, set venue.fix.check_orders = false",
            )
            .emit();
    }
    *told = r;
}

/// Past `persistence.max_backlog_entries` not yet in the database, takes
/// `persistence.backlog_action` (once per excursion).
fn backlog_guard(
    log: &Log,
    config: &Config,
    commander: &Mutex<Commander>,
    side: &SideThread,
    status: &Mutex<PersistStatus>,
    acted: &mut bool,
) {
    let journaled = side.tally().lock().journal.next_seq;
    let backlog = journaled.saturating_sub(status.lock().next_seq);
    let over = backlog > config.persistence.max_backlog_entries;
    if over && !*acted {
        let action = config.persistence.backlog_action;
        let sent = match action {
            BacklogAction::None => None,
            BacklogAction::ReduceOnly => Some(Action::ReduceOnly),
            BacklogAction::Halt => Some(Action::Halt),
        };
        if let Some(action) = sent {
            let _ = commander.lock().send(0, action);
        }
        log.error("persistence: the database is too far behind the journal")
            .field("backlog_entries", backlog)
            .field(
                "max_backlog_entries",
                config.persistence.max_backlog_entries,
            )
            .field("action", format!("{action:?}").to_lowercase())
            .emit();
    }
    *acted = over;
}

/// Opens the journal, cutting off a torn tail, restores `gate` from it
/// (positions, cash, open orders, trading state, order ids), and says
/// what it holds.
///
/// # Errors
///
/// A journal that is corrupt, in use by another engine, or cannot be
/// made; or one that needs more open orders than `risk.max_open_orders`.
/// Returns it with what the restore found beside the gate (when the
/// trading day the loss limit counts from began, the last run's reports).
fn open_journal(
    log: &Log,
    config: &Config,
    gate: &mut RiskGate,
    instruments: &Instruments,
) -> anyhow::Result<(Journal, Restored)> {
    let settings = config.persistence.journal();
    let dir = settings.dir.display().to_string();
    let mut replay = Rebuild {
        restorer: Restorer::new(gate),
        symbols: symbols(instruments),
    };
    let (journal, recovered) = Journal::open(settings, &mut replay)?;
    let restored = replay.restorer.finish();
    anyhow::ensure!(
        restored.dropped == 0,
        "the journal in {dir} holds {} open orders of instruments the config lacks: their \
         fills would be missing from the positions. Start with the instruments the journal \
         was written with",
        restored.dropped
    );
    if gate.open_orders() > config.risk.max_open_orders {
        log.warn(
            "journal: more orders open than risk.max_open_orders; new orders wait until fewer are",
        )
        .field("open_orders", gate.open_orders())
        .field("max_open_orders", config.risk.max_open_orders)
        .emit();
    }
    let scan = &recovered.scan;
    if let Some(torn) = &scan.torn {
        log.warn("journal: torn tail cut off (a crash in the middle of a write)")
            .field("segment", torn.segment.display().to_string())
            .field("offset", torn.offset)
            .field("bytes", torn.bytes)
            .field("found", &torn.why)
            .emit();
    }
    for (path, why) in &recovered.resumed.passed_over {
        log.warn("journal: a checkpoint could not serve; an older one or the whole journal did")
            .field("checkpoint", path.display().to_string())
            .field("why", why)
            .emit();
    }
    let mut opened = log
        .info("journal opened")
        .field("dir", dir)
        .field("segments", scan.segments.len())
        .field("entries_read", scan.entries())
        .field("next_entry", scan.next_seq);
    if let Some(at) = recovered.resumed.at {
        opened = opened.field("from_checkpoint_before_entry", at);
    }
    opened.emit();
    if config.persistence.segment_bytes < SMALL_SEGMENT_BYTES {
        log.warn("journal: small segments roll often and may slow the side thread")
            .field("key", "persistence.segment_bytes")
            .field("segment_bytes", config.persistence.segment_bytes)
            .field(
                "why",
                "each roll creates and syncs a file: at the default feed's ~110 MB/s, 64 KiB \
                 segments roll ~1,700 times a second, the side thread falls behind and the hot \
                 path waits on its audit ring",
            )
            .field(
                "fix",
                format!("segment_bytes = {SMALL_SEGMENT_BYTES} or more"),
            )
            .emit();
    }
    if restored.entries > 0 {
        let held: Vec<String> = instruments
            .iter()
            .zip(gate.positions())
            .filter(|(_, lots)| lots.0 != 0)
            .map(|(instrument, lots)| format!("{}:{:+}", instrument.spec.symbol, lots.0))
            .collect();
        log.info("state restored from the journal")
            .field(
                "positions",
                if held.is_empty() {
                    "flat".to_owned()
                } else {
                    held.join(",")
                },
            )
            .field("realized_pnl", money(gate.realized_nanos() as i64))
            .field("open_orders", gate.open_orders())
            .field("state", gate.state().name())
            .field("last_order_id", gate.last_id().0)
            .field(
                "until_every_held_instrument_is_quoted",
                if gate.awaiting_marks() {
                    "only orders that shrink a position pass; the loss check waits"
                } else {
                    "nothing waits"
                },
            )
            .emit();
    }
    Ok((journal, restored))
}

/// The instruments' symbols, by id.
fn symbols(instruments: &Instruments) -> Vec<String> {
    instruments.iter().map(|i| i.spec.symbol.clone()).collect()
}

/// Starts the journal's checkpointer, unless `checkpoint_segments` is 0.
fn start_checkpointer(
    log: &Log,
    config: &Config,
    journal: &Journal,
    instruments: &Instruments,
    persisted: Option<Arc<Mutex<PersistStatus>>>,
    ticks_per_second: f64,
) -> anyhow::Result<Option<Checkpointer>> {
    let persistence = &config.persistence;
    if persistence.checkpoint_segments == 0 {
        log.info("journal: no checkpoints (persistence.checkpoint_segments = 0)")
            .emit();
        return Ok(None);
    }
    // Room for every order a journal may hold open: the gate folds what
    // happened, whatever the limits in force now.
    let limits = RiskLimits {
        max_open_orders: RiskLimits::MAX_OPEN_ORDERS,
        ..config.risk
    };
    let gate_instruments = instruments.clone();
    let fresh_gate = move || {
        RiskGate::new(&limits, &gate_instruments, ticks_per_second, 0)
            .expect("the config's gate was built from the same limits")
    };
    let settings = CheckpointSettings {
        dir: journal.dir().to_owned(),
        every_segments: persistence.checkpoint_segments,
        retention: persistence.retention,
        instruments: symbols(instruments),
        fresh_gate: Box::new(fresh_gate),
        persisted,
    };
    Checkpointer::start(settings, log.clone()).map(Some)
}

/// Gives the gate its trading days on the wall clock (simulated time has
/// no calendar: a backtest counts from its start), the loss limit having
/// counted from `counting_from` (ns since the Unix epoch) so far.
///
/// # Errors
///
/// A `trading_day.starts_utc` that is not a time of day (validation
/// refuses it first).
fn schedule_trading_days(
    log: &Log,
    config: &Config,
    gate: &mut RiskGate,
    counting_from: Option<u64>,
) -> anyhow::Result<()> {
    let start_s = day_starts_s(config)?;
    let (now_ns, now_ticks) = (timestamp::unix_ns(), clock::ticks());
    let next_ns = trading_day::next_day_start(now_ns, start_s, counting_from);
    gate.schedule_days(
        now_ticks + clock::ns_to_ticks(next_ns - now_ns),
        clock::ns_to_ticks(trading_day::DAY_NS),
    );
    let at = |ns: u64| timestamp::rfc3339(Duration::from_nanos(ns));
    let began = trading_day::day_began(now_ns, start_s);
    let mut event = log
        .info("trading day")
        .field("began", at(began))
        .field("next", at(began + trading_day::DAY_NS));
    if next_ns == now_ns {
        event = event.field(
            "due",
            "now: the journal's last day ended while the engine was stopped",
        );
    }
    event.emit();
    Ok(())
}

/// `trading_day.starts_utc` in seconds after midnight UTC.
///
/// # Errors
///
/// One that is not a time of day (validation refuses it first).
fn day_starts_s(config: &Config) -> anyhow::Result<u64> {
    trading_day::parse_time_of_day(&config.trading_day.starts_utc)
        .map_err(|e| anyhow::anyhow!("trading_day.starts_utc {e}"))
}

/// Segments below this size are warned of at start: fine for a test or
/// a slow feed, a bottleneck at full rate.
const SMALL_SEGMENT_BYTES: u64 = 1 << 20;

/// Warns when the secret file `key` names (if any) may be read by others
/// than its owner: anyone on the machine who can read it can trade. As
/// PostgreSQL does for its key file, a file root owns may also be read by
/// its group (a Kubernetes secret volume with an fsGroup).
fn warn_if_others_can_read(log: &Log, key: &str, path: &std::path::Path) {
    use std::os::unix::fs::{MetadataExt as _, PermissionsExt as _};
    if path.as_os_str().is_empty() {
        return;
    }
    let Ok(meta) = std::fs::metadata(path) else {
        return;
    };
    let mode = meta.permissions().mode() & 0o777;
    let allowed = if meta.uid() == 0 { 0o740 } else { 0o700 };
    if mode & !allowed != 0 {
        log.warn("a secret file is readable by others than its owner")
            .field("key", key)
            .field("path", path.display().to_string())
            .field("mode", format!("{mode:03o}"))
            .field("fix", format!("chmod 600 {}", path.display()))
            .emit();
    }
}

/// What the persistence threads and the network feed publish for the
/// control plane.
struct Published {
    /// The persister's progress, when a database is configured.
    persisted: Option<Arc<Mutex<PersistStatus>>>,
    /// The checkpointer's, when it runs.
    checkpoints: Option<Arc<Mutex<CheckpointStatus>>>,
    /// The network feed, when it is the source.
    network: Option<Network>,
    /// The FIX venue's link, when it is the venue.
    venue: Option<VenueLink>,
    /// The journal's write or sync in progress.
    disk_wait: Arc<DiskWait>,
}

/// The control plane's listener, bound now so that a port in use fails
/// the start; `None` when `[control] enabled = false`.
fn control_plane(
    log: &Log,
    config: &Config,
    runtime: &Runtime,
    counters: &Arc<PathCounters>,
    instruments: &Instruments,
    desk: Desk,
    published: Published,
) -> anyhow::Result<Option<ControlPlane>> {
    let control = &config.control;
    if !control.enabled {
        log.info("control plane off (control.enabled = false)")
            .emit();
        return Ok(None);
    }
    let token = AdminToken::load(&control.token_file, &control.token_env)?;
    warn_if_others_can_read(log, "control.token_file", &control.token_file);
    let view = View {
        counters: Arc::clone(counters),
        stages: runtime.stages().to_vec(),
        symbols: instruments.iter().map(|i| i.spec.symbol.clone()).collect(),
        bounds: Bounds {
            stall: Duration::from_millis(control.stall_ms),
            stale_quotes: Duration::from_millis(config.risk.stale_quote_ms),
        },
        draining: Arc::clone(&desk.drain),
        persistence: published.persisted,
        checkpoints: published.checkpoints,
        max_backlog: config.persistence.max_backlog_entries,
        network: published.network,
        venue: published.venue,
        disk_wait: published.disk_wait,
    };
    let listen = control
        .listen
        .parse()
        .context("control.listen: checked at load")?;
    let limits = DoorLimits {
        connections: control.max_connections,
        header_bytes: control.max_header_bytes,
        request_timeout: Duration::from_millis(control.request_timeout_ms),
        idle_timeout: Duration::from_millis(control.idle_timeout_ms),
    };
    let plane = ControlPlane::bind(listen, limits, view, desk, token.clone(), log.clone())?;
    let addr = plane.local_addr();
    let admin = if token.is_set() {
        format!("on, bearer token {:08x} required", token.id())
    } else {
        "off: no token configured".to_owned()
    };
    log.info("control plane on")
        .field("addr", addr.to_string())
        .field("url", format!("http://{addr}"))
        .field("admin", admin)
        .emit();
    Ok(Some(plane))
}

/// The configured venue, and for a FIX one its link for the control
/// plane. A FIX gateway keeps its session file beside `journal`: the
/// orders the last run sent and the reports it took that the journal
/// never got are taken back from it into `gate` and the journal (reports
/// with the simulated venue too); the gateway takes back every
/// order left open, so that their cancels reach the venue, resets its
/// sequence numbers at the first logon of each trading day, and takes up
/// the last run's when so configured.
fn build_venue(
    log: &Log,
    config: &Config,
    instruments: &Instruments,
    gate: &mut RiskGate,
    journal: &mut Journal,
    last_run: RunReports,
    ticks_per_second: f64,
) -> anyhow::Result<(Venue, Option<VenueLink>)> {
    match config.venue.kind {
        VenueKind::Sim => {
            settle_fix_session(log, config, gate, journal, &last_run)?;
            Ok((
                Venue::Sim(SimVenue::new(
                    &config.venue.sim,
                    instruments,
                    ticks_per_second,
                )),
                None,
            ))
        }
        VenueKind::Fix => {
            let fix = &config.venue.fix;
            warn_if_others_can_read(log, "venue.fix.password_file", &fix.password_file);
            let credentials = if fix.username.is_empty() {
                None
            } else {
                let password = read_secret(
                    "venue.fix.password_file",
                    &fix.password_file,
                    &fix.password_env,
                )?
                .unwrap_or_default();
                Some(Credentials {
                    username: fix.username.clone(),
                    password,
                })
            };
            let mut gateway =
                FixVenue::new(fix, credentials, instruments).map_err(|e| anyhow::anyhow!("{e}"))?;
            gateway.roll_days(day_starts_s(config)?);
            let mut file = open_session_file(log, config, journal.dir())?;
            let orders = recover_orders(log, &file, gate, journal)?;
            // Its records numbered on from the orders' two each.
            let first_seq = 2 * orders as u64;
            let reports = recover_reports(log, &mut file, gate, journal, &last_run, first_seq)?;
            file.begin_run(journal.stats().next_seq);
            let resumes = fix.sequence_numbers == SequenceNumbers::Keep;
            gateway.keep_session(file, resumes);
            gateway.took_back(orders, reports);
            gateway.make_room(gate.open_orders());
            for open in gate.orders() {
                let order = NewOrder {
                    id: open.id,
                    instrument: open.instrument,
                    side: open.side,
                    price: open.price,
                    qty: Qty(open.leaves),
                    tif: TimeInForce::Limit,
                };
                anyhow::ensure!(
                    gateway.reopen(&order),
                    "the gateway made room for {}",
                    open.id.0
                );
            }
            let link = VenueLink {
                stats: gateway.stats(),
                address: fix.connect.clone(),
                target: fix.target_comp_id.clone(),
            };
            Ok((Venue::Fix(Box::new(gateway)), Some(link)))
        }
    }
}

/// The session file's name in the journal directory.
const SESSION_FILE: &str = "fix.session";

/// The FIX session's file in `journal_dir`, for the current trading day,
/// its ring of orders large enough for every order that can wait between
/// the gateway and the journal (a record each at least, in the audit
/// ring or the side thread's batch); says what it holds.
fn open_session_file(
    log: &Log,
    config: &Config,
    journal_dir: &Path,
) -> anyhow::Result<SessionFile> {
    let path = journal_dir.join(SESSION_FILE);
    let file = map_session_file(config, &path)?;
    let resumes = config.venue.fix.sequence_numbers == SequenceNumbers::Keep;
    let event = log
        .info("venue: FIX session file")
        .field("file", path.display().to_string());
    match file.found().filter(|_| resumes) {
        Some(numbers) => event
            .field("next_out", numbers.next_out)
            .field("next_in", numbers.next_in)
            .field("logon", "where the last run of the trading day left off"),
        None if resumes => event.field("logon", "resets the numbers: the trading day's first"),
        None => event.field(
            "logon",
            "resets the numbers (venue.fix.sequence_numbers = \"reset\")",
        ),
    }
    .emit();
    Ok(file)
}

/// The session file at `path`, for the current trading day, its rings
/// large enough for every order and report that can wait between the
/// gateway and the journal (a record each at least, in the reports ring,
/// the audit ring or the side thread's batch).
fn map_session_file(config: &Config, path: &Path) -> anyhow::Result<SessionFile> {
    let day = trading_day::day_began(timestamp::unix_ns(), day_starts_s(config)?);
    let slots = config.rings.audit + crate::side::BATCH + config.rings.reports;
    SessionFile::open(path, day, slots)
        .map_err(|e| anyhow::anyhow!("the FIX session file {}: {e}", path.display()))
}

/// A run with the simulated venue on a journal a FIX run has used: the
/// orders a killed FIX run sent and its journal never got only that venue
/// can settle (they are live there), so the start is refused while there
/// are any; the reports it took and its journal never got are taken back
/// as a FIX start takes them, and the session file is marked as this
/// run's, so that a later FIX run counts its reports from here.
///
/// # Errors
///
/// When orders are in doubt, or the file cannot be read.
fn settle_fix_session(
    log: &Log,
    config: &Config,
    gate: &mut RiskGate,
    journal: &mut Journal,
    last_run: &RunReports,
) -> anyhow::Result<()> {
    let path = journal.dir().join(SESSION_FILE);
    if !path.exists() {
        return Ok(());
    }
    let mut file = map_session_file(config, &path)?;
    if file
        .orders_after(gate.last_id())
        .map_or(true, |o| !o.is_empty())
    {
        anyhow::bail!(
            "the journal's last FIX run was killed before its journal got orders it sent; only \
             that venue can settle them: start with venue.kind = \"fix\" (the same \
             [venue.fix]) to take them back, or reconcile with the venue and move {} away",
            path.display()
        );
    }
    recover_reports(log, &mut file, gate, journal, last_run, 0)?;
    file.begin_run(journal.stats().next_seq);
    Ok(())
}

/// Takes back the reports the last run took that its journal never got
/// (it was killed before their records were written): each moves `gate`
/// as it moved the last run's, and is written to `journal` as the lost
/// record was (a `Report`, by [`RESTART_WRITER`], numbered on from
/// `first_seq`, the records this start wrote before), so that a later
/// restart, even one after this start is killed, counts it once. The
/// first logon expects past the last of them. Returns how many.
///
/// # Errors
///
/// When the file cannot tell them all, or the journal cannot write them:
/// trading on would miss their fills.
fn recover_reports(
    log: &Log,
    file: &mut SessionFile,
    gate: &mut RiskGate,
    journal: &mut Journal,
    last_run: &RunReports,
    first_seq: u64,
) -> anyhow::Result<usize> {
    let journaled = file.journaled_reports(last_run);
    let reports = file.reports_after(journaled).map_err(|e| {
        anyhow::anyhow!(
            "the FIX session file cannot tell which reports the last run took that its \
             journal never got: {e}. Their fills would be missing: reconcile with the venue, \
             then move the file away to start"
        )
    })?;
    if reports.is_empty() {
        return Ok(0);
    }
    // First, so that a kill from here on cannot make the venue send again
    // what the file holds (a restart takes it back from the file).
    if let Some(last) = reports.iter().map(|h| h.seq).max() {
        file.expect_past(last);
    }
    let wall_ns = timestamp::unix_ns();
    for (seq, handed) in (first_seq..).zip(&reports) {
        gate.replay_report(&handed.report);
        let event = AuditEvent::Report {
            report: handed.report,
            received: 0,
        };
        journal.append(RESTART_WRITER, wall_ns, &AuditRecord { seq, event });
    }
    journal
        .flush()
        .map_err(|e| anyhow::anyhow!("cannot journal the reports taken back: {e}"))?;
    let fills = reports.iter().filter(|h| h.report.filled.0 > 0);
    log.warn("venue: reports the last run took that its journal never got, taken back")
        .field("reports", reports.len())
        .field("fills", fills.clone().count())
        .field("lots", fills.map(|h| h.report.filled.0).sum::<i64>())
        .field("journaled", journaled)
        .field(
            "why",
            "it was killed before their records were written; the session file kept them, \
             and they move the positions now, each once",
        )
        .emit();
    Ok(reports.len())
}

/// Takes back the orders the last run sent that its journal never got
/// (it was killed before their records were written): each is opened in
/// `gate` again, its id never handed out again, and written to `journal`
/// as the lost records were (a `Passed` and a `Sent`, by
/// [`RESTART_WRITER`]), so a later restart knows it too.
///
/// # Errors
///
/// When the file cannot tell them all, the gate has no room for them, or
/// the journal cannot write them: trading on would miss their fills.
/// Returns how many.
fn recover_orders(
    log: &Log,
    file: &SessionFile,
    gate: &mut RiskGate,
    journal: &mut Journal,
) -> anyhow::Result<usize> {
    let last = gate.last_id();
    let recovered = file.orders_after(last).map_err(|e| {
        anyhow::anyhow!(
            "the FIX session file cannot tell which orders the last run sent after the \
             journal's last (id {}): {e}. Their fills would be missing: reconcile with the \
             venue, then move the file away to start",
            last.0
        )
    })?;
    if recovered.is_empty() {
        return Ok(0);
    }
    let wall_ns = timestamp::unix_ns();
    gate.make_room(gate.open_orders() + recovered.len());
    for (n, order) in recovered.iter().enumerate() {
        gate.raise_id_floor(order.id);
        anyhow::ensure!(gate.reopen(order), "the gate made room for {}", order.id.0);
        let intent = Intent::New(*order);
        let stamps = Stamps::default();
        for (k, event) in [
            AuditEvent::Passed { intent, stamps },
            AuditEvent::Sent { intent, stamps },
        ]
        .into_iter()
        .enumerate()
        {
            let seq = (2 * n + k) as u64;
            journal.append(RESTART_WRITER, wall_ns, &AuditRecord { seq, event });
        }
    }
    journal
        .flush()
        .map_err(|e| anyhow::anyhow!("cannot journal the orders taken back: {e}"))?;
    log.warn("venue: orders the last run sent that its journal never got, taken back")
        .field("orders", recovered.len())
        .field("first_id", recovered[0].id.0)
        .field("last_id", recovered[recovered.len() - 1].id.0)
        .field(
            "why",
            "it was killed before their records were written; they are open again, cancelled \
             with the rest, and their fills count",
        )
        .emit();
    Ok(recovered.len())
}

/// The configured feed, the replay's length (the run ends after it),
/// words for the start-up line, and the network feed's link for the
/// control plane.
fn build_feed(
    log: &Log,
    config: &Config,
    replay: Option<Vec<Recorded>>,
    instruments: &Instruments,
    now: u64,
    ticks_per_second: f64,
) -> anyhow::Result<(Feed, Option<u64>, String, Option<Network>)> {
    if config.feed.source == FeedSource::Itch {
        let itch = &config.feed.itch;
        let feed = ItchFeed::bind(itch, instruments, ticks_per_second)
            .with_context(|| format!("feed.itch: cannot receive on {}", itch.listen))?;
        let addr = feed.local_addr().context("feed.itch.listen")?;
        let group = itch
            .group()
            .map_or_else(|| "unicast".to_owned(), |g| format!("group {g}"));
        let retransmit = itch.retransmit().map_or_else(
            || "no re-request server".to_owned(),
            |r| format!("re-request server {r}"),
        );
        let short = feed.receive_buffer() < itch.receive_buffer_bytes;
        let mut event = log
            .event(
                if short { Level::Warn } else { Level::Info },
                "feed: receiving",
            )
            .field("addr", addr.to_string())
            .field("group", itch.group.as_str())
            .field("retransmit", itch.retransmit.as_str())
            .field("receive_buffer_bytes", feed.receive_buffer() as u64);
        if short {
            event = event.field(
                "warning",
                "a smaller receive buffer than feed.itch.receive_buffer_bytes asks: raise \
                 net.core.rmem_max",
            );
        }
        event.emit();
        let network = Network {
            stats: feed.stats(),
            listen: addr,
            retransmit: itch.retransmit(),
        };
        let source = format!("ITCH 5.0 over MoldUDP64 on {addr} ({group}, {retransmit})");
        return Ok((Feed::Itch(Box::new(feed)), None, source, Some(network)));
    }
    Ok(match replay {
        None => {
            let synthetic = &config.feed.synthetic;
            let feed = SyntheticFeed::new(instruments, synthetic, now, ticks_per_second);
            let rate = match synthetic.rate {
                0 => "full speed (burst)".to_owned(),
                rate => format!("{rate} quotes/s"),
            };
            (
                Feed::Synthetic(feed),
                None,
                format!("synthetic feed at {rate}"),
                None,
            )
        }
        Some(recorded) => {
            let replay = &config.feed.replay;
            let pace = match replay.pace {
                Pace::Recorded => "recorded pace",
                Pace::Fastest => "fastest pace",
            };
            let source = format!(
                "replay of {} quotes from {} at {pace}",
                recorded.len(),
                replay.path.display()
            );
            let feed = ReplayFeed::new(&recorded, replay.pace, now, ticks_per_second);
            (
                Feed::Replay(feed),
                Some(recorded.len() as u64),
                source,
                None,
            )
        }
    })
}

/// The running totals the status line turns into rates.
#[derive(Debug, Default)]
struct Totals {
    quotes: u64,
    decisions: u64,
}

/// The status event: rates over the last second, totals, risk, and the
/// last second's quote-to-order latency (in wall-clock time).
fn status(
    log: &Log,
    started: Instant,
    counters: &PathCounters,
    tally: &Tally,
    instruments: &Instruments,
    simulated: bool,
    last: &mut Totals,
) {
    let total = &tally.total;
    let quotes = counters.quotes();
    let event = log
        .info("status")
        .field("up_s", started.elapsed().as_secs())
        .field("quotes_per_s", quotes - last.quotes)
        .field("decisions_per_s", total.decisions - last.decisions)
        .field("orders", total.orders_sent)
        .field("fills", total.fills + total.partial_fills)
        .field("rejects", total.total_rejects())
        .field("rejects_by", rejects(total))
        .field("state", counters.state().name())
        .field("positions", net_position(counters, instruments));
    *last = Totals {
        quotes,
        decisions: total.decisions,
    };
    let mut event = pnl(event, counters);
    if !simulated {
        event = percentiles(event, "quote_to_order", &tally.recent.quote_to_send);
    }
    event.field("audit_waits", counters.audit_waits()).emit();
}

/// The summary logged when the run ends.
fn summary(
    log: &Log,
    elapsed: Duration,
    counters: &PathCounters,
    tally: &Tally,
    instruments: &Instruments,
    simulated: bool,
) {
    let total = &tally.total;
    let event = log
        .info("stopped cleanly")
        .field("elapsed_s", (elapsed.as_secs_f64() * 10.0).round() / 10.0)
        .field("quotes", counters.quotes())
        .field("decisions", total.decisions)
        .field("orders_sent", total.orders_sent)
        .field("cancels_sent", total.cancels_sent)
        .field("acks", total.acks)
        .field("fills", total.fills)
        .field("partial_fills", total.partial_fills)
        .field("cancelled", total.cancelled)
        .field("rejects", total.total_rejects())
        .field("rejects_by", rejects(total))
        .field("state", counters.state().name())
        .field("positions", net_position(counters, instruments));
    let mut event = pnl(event, counters);
    // Simulated time does not move while the path works: nothing to show.
    if !simulated {
        let latencies = [
            ("quote_to_order", &total.quote_to_send),
            ("quote_to_decision", &total.quote_to_decision),
            ("decision_to_send", &total.decision_to_send),
        ];
        for (name, latency) in latencies {
            event = percentiles(event, name, latency)
                .field(&format!("{name}_max_ns"), latency.histogram().max());
        }
    }
    event = event
        .field("audit_records", total.records)
        .field("audit_waits", counters.audit_waits());
    if simulated {
        event = event.field("digest", format!("{:016x}", tally.digest.value()));
    }
    event.emit();
}

/// `none`, or `CODE:n,CODE:n` for each reason seen.
fn rejects(stats: &AuditStats) -> String {
    let seen: Vec<String> = Reject::ALL
        .iter()
        .filter(|r| stats.rejects[r.index()] > 0)
        .map(|r| format!("{}:{}", r.code(), stats.rejects[r.index()]))
        .collect();
    match seen.as_slice() {
        [] => "none".into(),
        _ => seen.join(","),
    }
}

/// `flat`, or each non-zero position as the path last published it (a
/// restart's restored positions included): `ESZ6:+2,NQZ6:-1`.
fn net_position(counters: &PathCounters, instruments: &Instruments) -> String {
    let Some(risk) = counters.risk() else {
        return "unknown".into();
    };
    let held: Vec<String> = instruments
        .iter()
        .zip(&risk.instruments)
        .filter(|(_, r)| r.position != 0)
        .map(|(instrument, r)| format!("{}:{:+}", instrument.spec.symbol, r.position))
        .collect();
    if held.is_empty() {
        "flat".into()
    } else {
        held.join(",")
    }
}

/// `pnl`, `realized_pnl`, `unrealized_pnl` and `day_pnl` as the path last
/// published them.
fn pnl<'a>(event: Event<'a>, counters: &PathCounters) -> Event<'a> {
    match counters.risk() {
        Some(risk) => event
            .field("pnl", money(risk.pnl_nanos()))
            .field("realized_pnl", money(risk.realized_nanos))
            .field("unrealized_pnl", money(risk.unrealized_nanos))
            .field("day_pnl", money(risk.day_pnl_nanos)),
        None => event.field("pnl", "unknown (the decide stage stopped while publishing)"),
    }
}

/// `<name>_p50_ns`, `_p99_ns` and `_p999_ns`, when there are samples.
fn percentiles<'a>(event: Event<'a>, name: &str, latency: &Latency) -> Event<'a> {
    if latency.count() == 0 {
        return event;
    }
    event
        .field(&format!("{name}_p50_ns"), latency.quantile_ns(0.5))
        .field(&format!("{name}_p99_ns"), latency.quantile_ns(0.99))
        .field(&format!("{name}_p999_ns"), latency.quantile_ns(0.999))
}
