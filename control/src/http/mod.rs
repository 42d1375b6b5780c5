//! The control plane's HTTP listener (tiny_http), served on a thread of
//! its own: health for probes, Prometheus metrics, the version, and the
//! authenticated admin endpoints. It reads what the hot path publishes,
//! and what the side thread tallies, and sends commands through the
//! command ring; a slow or hostile client costs this thread, not the hot
//! path or the journal, and a stalled disk holds up the journal, not the
//! probes.

mod admin;
mod auth;
mod door;
mod health;
mod metrics;
mod process;
mod venue_link;

pub use admin::Desk;
pub use auth::AdminToken;
pub use door::Limits as DoorLimits;
pub use health::{Bounds, Network};
pub use venue_link::VenueLink;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::Context;
use hdrhistogram::Histogram;
use parking_lot::Mutex;
use redline_engine::path::PathCounters;
use redline_engine::stage::StageStatus;
use serde_json::{json, Value};
use tiny_http::{Header, Method, Request, Response, Server};

use crate::db::PersistStatus;
use crate::journal::{CheckpointStatus, DiskWait, JournalStats};
use crate::log::Log;
use crate::side::Tally;
use crate::timestamp::rfc3339_now;
use auth::Denied;
use door::{DoorCounters, FrontDoor};
use health::{Assessment, Status, Watch};
use process::ProcessStats;

/// Requests handled per turn at most, so that a flood of them cannot keep
/// the commands that ended from being answered.
const REQUESTS_PER_TURN: usize = 16;

/// What the listener serves from, fixed at start.
pub struct View {
    /// What the path publishes.
    pub counters: Arc<PathCounters>,
    /// The hot-path stages.
    pub stages: Vec<StageStatus>,
    /// Instrument symbols, by id.
    pub symbols: Vec<String>,
    /// What health is judged against.
    pub bounds: Bounds,
    /// Set when the engine drains, on its way to stop.
    pub draining: Arc<AtomicBool>,
    /// The persister's progress, when a database is configured.
    pub persistence: Option<Arc<Mutex<PersistStatus>>>,
    /// The journal checkpointer's, when it runs.
    pub checkpoints: Option<Arc<Mutex<CheckpointStatus>>>,
    /// The journal's write or sync in progress.
    pub disk_wait: Arc<DiskWait>,
    /// The backlog past which readiness fails.
    pub max_backlog: u64,
    /// The network feed, when it is the source.
    pub network: Option<Network>,
    /// The FIX venue's link, when the venue is a FIX one.
    pub venue: Option<VenueLink>,
}

/// The listener's own counts.
#[derive(Debug, Default)]
pub struct PlaneCounters {
    /// Requests answered 400 (malformed).
    pub bad_requests: u64,
    /// Admin requests answered 401.
    pub auth_failures: u64,
}

/// The running listener.
pub struct ControlPlane {
    server: Server,
    door: FrontDoor,
    door_counters: Arc<DoorCounters>,
    view: View,
    desk: Desk,
    token: AdminToken,
    watch: Watch,
    counters: PlaneCounters,
    started: Instant,
    start_time: f64,
    log: Log,
    /// The journal's counts, as the side thread last tallied them.
    journal: JournalStats,
}

impl ControlPlane {
    /// Binds `listen` to serve `view`, with admin endpoints working on
    /// `desk` behind `token`.
    ///
    /// # Errors
    ///
    /// When the address cannot be bound (in use, not local, ...).
    pub fn bind(
        listen: SocketAddr,
        limits: door::Limits,
        view: View,
        desk: Desk,
        token: AdminToken,
        log: Log,
    ) -> anyhow::Result<ControlPlane> {
        let door_counters = Arc::new(DoorCounters::default());
        let (door, socket) = FrontDoor::open(listen, limits, Arc::clone(&door_counters))
            .with_context(|| format!("control.listen: cannot listen on {listen}"))?;
        let server = Server::http_unix(&socket)
            .map_err(|e| anyhow::anyhow!("{e}"))
            .context("cannot serve the admin socket")?;
        let now = Instant::now();
        let start_time = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0.0, |d| d.as_secs_f64());
        Ok(ControlPlane {
            server,
            door,
            door_counters,
            watch: Watch::new(
                view.stages.clone(),
                view.network.clone(),
                view.venue.clone(),
                now,
            ),
            view,
            desk,
            token,
            counters: PlaneCounters::default(),
            started: now,
            start_time,
            log,
            journal: JournalStats::default(),
        })
    }

    /// The address it listens on (with the port chosen, for port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.door.local_addr()
    }

    /// Notes heartbeats, answers the commands that ended, then the
    /// requests waiting, waiting up to `wait` for the first; returns how
    /// many it answered.
    pub fn serve(&mut self, tally: &Mutex<Tally>, wait: Duration) -> usize {
        self.watch.observe(&self.view.counters, Instant::now());
        self.settle(tally);
        let mut answered = 0;
        let mut next = if wait.is_zero() {
            self.server.try_recv()
        } else {
            self.server.recv_timeout(wait)
        };
        while let Ok(Some(request)) = next {
            // As the side thread tallied it when the request came, not
            // when the wait for it began.
            self.journal.clone_from(&tally.lock().journal);
            self.answer(request, tally);
            answered += 1;
            if answered == REQUESTS_PER_TURN {
                break;
            }
            next = self.server.try_recv();
        }
        answered
    }

    fn answer(&mut self, request: Request, tally: &Mutex<Tally>) {
        let url = request.url().to_owned();
        let (path, query) = url.split_once('?').unwrap_or((&url, ""));
        let get = *request.method() == Method::Get;
        self.watch.sample(&self.view.counters, Instant::now());
        self.log
            .debug("request")
            .field("method", request.method().as_str())
            .field("path", path)
            .emit();
        let response = match path {
            "/ping" if get => text(200, "pong\n"),
            "/version" if get => json_response(200, &version()),
            "/health/live" | "/live" if get => self.live(),
            "/health/ready" | "/ready" if get => self.ready(),
            "/health" if get => self.health(),
            "/metrics" if get => self.metrics(tally),
            _ if path.starts_with("/admin/") => match self.authorize(&request) {
                Err(response) => response,
                Ok(()) => {
                    let issuer = self.token.id();
                    return self.admin(request, path, query, issuer, tally);
                }
            },
            "/ping" | "/version" | "/health/live" | "/live" | "/health/ready" | "/ready"
            | "/health" | "/metrics" => method_not_allowed("GET"),
            _ => error(404, &format!("no endpoint {path}")),
        };
        // A client that went away is its own problem.
        let _ = request.respond(response);
    }

    fn authorize(&mut self, request: &Request) -> Result<(), Response<std::io::Cursor<Vec<u8>>>> {
        let header = request
            .headers()
            .iter()
            .find(|h| h.field.equiv("Authorization"))
            .map(|h| h.value.as_str());
        match self.token.check(header) {
            Ok(()) => Ok(()),
            Err(Denied::Disabled) => Err(error(
                403,
                "admin endpoints are disabled: no token is configured (control.token_file or \
                 control.token_env)",
            )),
            Err(denied) => {
                self.counters.auth_failures += 1;
                let why = match denied {
                    Denied::Missing => "missing bearer token",
                    _ => "wrong bearer token",
                };
                let mut response = error(401, why);
                response.add_header(header_of("WWW-Authenticate", "Bearer"));
                Err(response)
            }
        }
    }

    fn assess(&self) -> Assessment {
        let database = self.database();
        let risk = self.watch.hot().risk.as_ref();
        Assessment::new(
            &self.watch,
            &self.journal(),
            database.as_ref(),
            self.view.bounds,
            health::Risk {
                state: self.view.counters.state(),
                day_pnl_nanos: risk.map(|r| r.day_pnl_nanos),
                max_daily_loss: self.desk.commander.lock().in_force().limits.max_daily_loss,
                awaiting_marks: risk.is_some_and(|r| r.awaiting_marks),
            },
            // Relaxed: a flag read for display.
            self.view.draining.load(Ordering::Relaxed),
            Instant::now(),
        )
    }

    /// The journal's counts, with the checkpointer's and the write or sync
    /// in progress.
    fn journal(&self) -> JournalStats {
        let mut journal = self.journal.clone();
        journal.checkpoints = self.view.checkpoints.as_ref().map(|c| c.lock().clone());
        journal.disk_wait = self.view.disk_wait.current();
        journal
    }

    /// The persister's progress, when there is a database.
    fn database(&self) -> Option<health::Database> {
        let status = self.view.persistence.as_ref()?.lock().clone();
        let backlog_seconds = status.oldest_pending_wall_ns.map_or(0.0, |ns| {
            (crate::timestamp::unix_ns().saturating_sub(ns)) as f64 / 1e9
        });
        Some(health::Database {
            status,
            backlog_seconds,
            max_backlog: self.view.max_backlog,
        })
    }

    fn live(&self) -> Resp {
        let assessment = self.assess();
        if assessment.stalled.is_empty() {
            text(200, "live\n")
        } else {
            text(
                503,
                &format!("stalled: {}\n", assessment.stalled.join(", ")),
            )
        }
    }

    fn ready(&self) -> Resp {
        let assessment = self.assess();
        if assessment.not_ready.is_empty() {
            text(200, "ready\n")
        } else {
            text(
                503,
                &format!("not ready: {}\n", assessment.not_ready.join("; ")),
            )
        }
    }

    fn health(&self) -> Resp {
        let assessment = self.assess();
        let status = assessment.status();
        let mut components = serde_json::Map::new();
        for c in &assessment.components {
            let mut entry = json!({ "status": c.status.name(), "message": c.message });
            if let Some((core, pinning)) = &c.stage {
                entry["core"] = json!(core);
                entry["pinning"] = json!(pinning);
            }
            components.insert(c.name.clone(), entry);
        }
        let process = ProcessStats::read();
        let body = json!({
            "status": status.name(),
            "timestamp": rfc3339_now(),
            "uptime_seconds": self.started.elapsed().as_secs_f64(),
            "version": env!("CARGO_PKG_VERSION"),
            "trading_state": self.view.counters.state().name(),
            "ready": assessment.not_ready.is_empty(),
            "not_ready": assessment.not_ready,
            "components": components,
            "system": {
                "memory_percent": process.memory_percent(),
                "cpu_percent": self.watch.cpu_percent(),
                "resident_bytes": process.resident_bytes,
                "threads": process.threads,
            },
        });
        let code = if status == Status::Unhealthy {
            503
        } else {
            200
        };
        json_response(code, &body)
    }

    fn metrics(&self, tally: &Mutex<Tally>) -> Resp {
        // One lock at a time: the side thread takes the commander's first.
        let limits = self.desk.commander.lock().in_force().limits;
        let tally = tally.lock();
        let body = metrics::render(&metrics::Sources {
            counters: &self.view.counters,
            stats: &tally.total,
            symbols: &self.view.symbols,
            watch: &self.watch,
            plane: &self.counters,
            admin: &self.desk,
            door: &self.door_counters,
            process: ProcessStats::read(),
            start_time: self.start_time,
            journal: &self.journal(),
            database: self.database().as_ref(),
            limits: &limits,
        });
        drop(tally);
        let mut response = Response::from_string(body);
        response.add_header(header_of(
            "Content-Type",
            "text/plain; version=0.0.4; charset=utf-8",
        ));
        response
    }

    fn latency(&mut self, query: &str, tally: &Mutex<Tally>) -> Resp {
        let mut format = "json";
        let mut name = "quote_to_send";
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            match pair.split_once('=') {
                Some(("format", value)) => format = value,
                Some(("name", value)) => name = value,
                _ => {
                    self.counters.bad_requests += 1;
                    return error(400, &format!("unknown query parameter {pair:?}"));
                }
            }
        }
        let tally = tally.lock();
        let stats = &tally.total;
        let latencies = [
            ("quote_to_decision", &stats.quote_to_decision),
            ("decision_to_send", &stats.decision_to_send),
            ("quote_to_send", &stats.quote_to_send),
        ];
        match format {
            "json" => {
                let mut body = serde_json::Map::new();
                for (name, latency) in latencies {
                    body.insert(name.into(), distribution(latency.histogram()));
                }
                json_response(200, &Value::Object(body))
            }
            "hgrm" => match latencies.iter().find(|(n, _)| *n == name) {
                Some((_, latency)) => text(200, &hgrm(latency.histogram())),
                None => {
                    self.counters.bad_requests += 1;
                    error(
                        400,
                        &format!(
                            "no latency {name:?}; one of quote_to_decision, \
                             decision_to_send, quote_to_send"
                        ),
                    )
                }
            },
            other => {
                self.counters.bad_requests += 1;
                error(400, &format!("format must be json or hgrm, got {other:?}"))
            }
        }
    }
}

type Resp = Response<std::io::Cursor<Vec<u8>>>;

/// A histogram's whole distribution, in nanoseconds.
fn distribution(h: &Histogram<u64>) -> Value {
    if h.is_empty() {
        return json!({ "unit": "ns", "count": 0, "percentiles": [] });
    }
    let percentiles: Vec<Value> = h
        .iter_quantiles(1)
        .map(|v| {
            json!({
                "percentile": v.quantile_iterated_to() * 100.0,
                "value": h.highest_equivalent(v.value_iterated_to()),
                "count": v.count_since_last_iteration(),
            })
        })
        .collect();
    json!({
        "unit": "ns",
        "count": h.len(),
        "min": h.min(),
        "max": h.max(),
        "mean": h.mean(),
        "stdev": h.stdev(),
        "p50": h.value_at_quantile(0.5),
        "p90": h.value_at_quantile(0.9),
        "p99": h.value_at_quantile(0.99),
        "p99.9": h.value_at_quantile(0.999),
        "p99.99": h.value_at_quantile(0.9999),
        "percentiles": percentiles,
    })
}

/// HdrHistogram's percentile distribution text (`.hgrm`), values in
/// microseconds, as the HdrHistogram plotter reads it.
fn hgrm(h: &Histogram<u64>) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:>12} {:>14} {:>10} {:>14}\n",
        "Value", "Percentile", "TotalCount", "1/(1-Percentile)"
    );
    let us = |ns: u64| ns as f64 / 1000.0;
    let mut total = 0;
    if !h.is_empty() {
        for v in h.iter_quantiles(5) {
            total += v.count_since_last_iteration();
            let q = v.quantile_iterated_to();
            let value = us(h.highest_equivalent(v.value_iterated_to()));
            if q < 1.0 {
                let _ = writeln!(
                    out,
                    "{value:>12.3} {q:>14.12} {total:>10} {:>14.2}",
                    1.0 / (1.0 - q)
                );
            } else {
                let _ = writeln!(out, "{value:>12.3} {q:>14.12} {total:>10}");
            }
        }
    }
    let (mean, stdev) = if h.is_empty() {
        (0.0, 0.0)
    } else {
        (h.mean() / 1000.0, h.stdev() / 1000.0)
    };
    let _ = writeln!(
        out,
        "#[Mean    = {mean:>12.3}, StdDeviation   = {stdev:>12.3}]"
    );
    let _ = writeln!(
        out,
        "#[Max     = {:>12.3}, Total count    = {:>12}]",
        us(h.max()),
        h.len()
    );
    let _ = writeln!(
        out,
        "#[Buckets = {:>12}, SubBuckets     = {:>12}]",
        h.buckets(),
        (2 * 10u64.pow(u32::from(h.sigfig()))).next_power_of_two()
    );
    out
}

fn version() -> Value {
    json!({
        "version": env!("CARGO_PKG_VERSION"),
        "git_commit": env!("REDLINE_GIT_COMMIT"),
        "build_profile": env!("REDLINE_BUILD_PROFILE"),
        "target": env!("REDLINE_TARGET"),
    })
}

fn header_of(field: &str, value: &str) -> Header {
    Header::from_bytes(field.as_bytes(), value.as_bytes()).expect("a valid header")
}

fn text(code: u16, body: &str) -> Resp {
    let mut response = Response::from_string(body).with_status_code(code);
    response.add_header(header_of("Content-Type", "text/plain; charset=utf-8"));
    response
}

fn json_response(code: u16, body: &Value) -> Resp {
    let mut response = Response::from_string(body.to_string()).with_status_code(code);
    response.add_header(header_of("Content-Type", "application/json"));
    response
}

fn error(code: u16, message: &str) -> Resp {
    json_response(code, &json!({ "error": message }))
}

fn method_not_allowed(allow: &str) -> Resp {
    let mut response = error(405, &format!("method not allowed; use {allow}"));
    response.add_header(header_of("Allow", allow));
    response
}
