//! Configuration: the embedded default, a user file laid over it, and the
//! checks that turn a bad value into an error naming its key.
//!
//! The default (`config/default.toml`) is the single source of default
//! values: the types here have no serde defaults, so every key a running
//! engine uses is spelled out in that file.

use std::fmt;
use std::path::{Path, PathBuf};

use anyhow::Context;
use redline_engine::domain::{InstrumentSpec, Instruments};
use redline_engine::feed::{
    itch_instrument_problems, load_itch, load_replay, ItchConfig, Pace, Recorded, SyntheticConfig,
};
use redline_engine::path::{RingSizes, TimeSource, MAX_INTENTS, RECORDS_PER_EVENT};
use redline_engine::risk::RiskLimits;
use redline_engine::stage::{available_cores, Idle, PinPolicy, Topology};
use redline_engine::strategy::{Registry, Strategy, StrategyError};
use redline_engine::venue::fix::{FixConfig, OrderCodec};
use redline_engine::venue::SimVenueConfig;
use serde::{Deserialize, Serialize};

use crate::journal::{Fsync, JournalSettings, Retention};
use crate::log::LogConfig;

/// The embedded default configuration.
pub const DEFAULT_TOML: &str = include_str!("../../config/default.toml");

/// The whole configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// How stages are laid out on threads.
    pub topology: TopologyConfig,
    /// Per-stage placement and idling.
    pub stages: StagesConfig,
    /// The traded instruments, in id order.
    pub instruments: Vec<InstrumentSpec>,
    /// Where market data comes from.
    pub feed: FeedConfig,
    /// Ring capacities.
    pub rings: RingsConfig,
    /// Which strategy decides, and the parameters of each.
    pub strategy: StrategyConfig,
    /// The risk gate's limits.
    pub risk: RiskLimits,
    /// When the trading day begins.
    pub trading_day: TradingDayConfig,
    /// Where orders go.
    pub venue: VenueConfig,
    /// The path's time source.
    pub clock: ClockConfig,
    /// The control plane's listener.
    pub control: ControlConfig,
    /// What is logged, and how.
    pub log: LogConfig,
    /// Where the audit trail is kept.
    pub persistence: PersistenceConfig,
}

/// `[trading_day]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TradingDayConfig {
    /// The UTC time of day it begins, `HH:MM` or `HH:MM:SS`.
    pub starts_utc: String,
}

/// The environment variable that overrides `persistence.journal_dir`.
pub const JOURNAL_DIR_ENV: &str = "REDLINE_JOURNAL_DIR";

/// `[persistence]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PersistenceConfig {
    /// The journal's directory (relative to the working directory);
    /// `REDLINE_JOURNAL_DIR` overrides it.
    pub journal_dir: PathBuf,
    /// A segment file is closed and a new one begun past this size.
    pub segment_bytes: u64,
    /// When written entries are forced to the disk.
    pub fsync: Fsync,
    /// The interval of `fsync = "interval"`.
    pub fsync_interval_ms: u64,
    /// Closed segments after which a checkpoint is taken; 0 for none.
    pub checkpoint_segments: u64,
    /// Which segments may be deleted.
    pub retention: Retention,
    /// PostgreSQL to copy the journal into; empty for none. `DATABASE_URL`
    /// overrides it.
    pub database_url: String,
    /// A file holding the database password; empty for none.
    pub password_file: PathBuf,
    /// Else an environment variable holding it; empty for none.
    pub password_env: String,
    /// This engine's id in every row (engines may share a database).
    pub engine_id: String,
    /// The most journal entries in one transaction.
    pub batch_entries: usize,
    /// A batch not full is copied after this long.
    pub flush_interval_ms: u64,
    /// The circuit breaker's first wait after a failure, and its bound.
    pub retry_initial_ms: u64,
    pub retry_max_ms: u64,
    /// Journal entries not yet in the database past which readiness fails
    /// and `backlog_action` is taken.
    pub max_backlog_entries: u64,
    /// What the engine does past `max_backlog_entries`.
    pub backlog_action: BacklogAction,
    /// Days of rows the database keeps, today (UTC) included; older day
    /// partitions are dropped. 0 keeps every day.
    pub database_retention_days: u64,
}

/// `persistence.backlog_action`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum BacklogAction {
    /// Only readiness fails.
    None,
    /// Trading goes reduce-only.
    ReduceOnly,
    /// Trading halts.
    Halt,
}

/// The environment variable that overrides `persistence.database_url`.
pub const DATABASE_URL_ENV: &str = "DATABASE_URL";

impl PersistenceConfig {
    /// Where to connect, the password read from its file or variable;
    /// `None` without a database URL.
    ///
    /// # Errors
    ///
    /// A password file that cannot be read.
    pub fn database(&self) -> anyhow::Result<Option<postgres::Config>> {
        if self.database_url.is_empty() {
            return Ok(None);
        }
        let mut db: postgres::Config = self
            .database_url
            .parse()
            .context("persistence.database_url: checked at load")?;
        if let Some(password) = read_secret(
            "persistence.password_file",
            &self.password_file,
            &self.password_env,
        )? {
            db.password(password);
        }
        db.connect_timeout(std::time::Duration::from_secs(5));
        db.application_name("redline");
        Ok(Some(db))
    }

    /// The journal's settings.
    pub fn journal(&self) -> JournalSettings {
        JournalSettings {
            dir: self.journal_dir.clone(),
            segment_bytes: self.segment_bytes,
            fsync: self.fsync,
            fsync_interval: std::time::Duration::from_millis(self.fsync_interval_ms),
        }
    }
}

/// `[control]`: the admin listener.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ControlConfig {
    /// Whether to serve at all.
    pub enabled: bool,
    /// Whether the control side's threads keep off the pinned stages'
    /// cores.
    pub confine: bool,
    /// Address and port (port 0: any free one).
    pub listen: String,
    /// How long a stage's heartbeat may stand still before liveness fails.
    pub stall_ms: u64,
    /// A file holding the admin token; empty for none.
    pub token_file: PathBuf,
    /// An environment variable holding the admin token; empty for none.
    pub token_env: String,
    /// How long a drain (SIGTERM, SIGINT, `POST /admin/drain`) may take to
    /// see every open order end before the engine stops anyway.
    pub drain_grace_ms: u64,
    /// Connections to the listener at once.
    pub max_connections: usize,
    /// Bytes in a request's line and headers.
    pub max_header_bytes: usize,
    /// Time a request's bytes may take to arrive, in ms.
    pub request_timeout_ms: u64,
    /// Time a connection may sit idle (or its client not read its answer),
    /// in ms.
    pub idle_timeout_ms: u64,
}

/// `[rings]`: slots in each ring.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RingsConfig {
    /// Feed to decide (and feed to gateway).
    pub quotes: usize,
    /// Decide to gateway.
    pub orders: usize,
    /// Gateway to decide; in the fused topology, the venue's answer queue.
    pub reports: usize,
    /// Each hot-path writer to the side thread.
    pub audit: usize,
}

/// `[strategy]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StrategyConfig {
    /// The registered name of the strategy that runs.
    pub name: String,
    /// `[strategy.params.<name>]`: each strategy's parameters, by name, so
    /// that switching `name` keeps every strategy's own settings.
    pub params: toml::Table,
}

/// `[clock]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClockConfig {
    /// `wall` or `simulated`.
    pub source: TimeSource,
}

/// A secret (a password) from the file `file` (its line end trimmed), or
/// else from the environment variable `env`; `None` when neither is set.
/// Never from the config file itself.
///
/// # Errors
///
/// A file named that cannot be read (`file_key` names it).
pub fn read_secret(file_key: &str, file: &Path, env: &str) -> anyhow::Result<Option<String>> {
    if !file.as_os_str().is_empty() {
        let secret = std::fs::read_to_string(file)
            .with_context(|| format!("{file_key}: cannot read {}", file.display()))?;
        return Ok(Some(secret.trim_end_matches(['\n', '\r']).to_owned()));
    }
    Ok((!env.is_empty()).then(|| std::env::var(env).ok()).flatten())
}

/// `[venue]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VenueConfig {
    /// Which venue the path sends to.
    pub kind: VenueKind,
    /// The simulated venue's parameters.
    pub sim: SimVenueConfig,
    /// The FIX gateway's connection and session.
    pub fix: FixConfig,
}

/// `venue.kind`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum VenueKind {
    /// `[venue.sim]`.
    Sim,
    /// `[venue.fix]`.
    Fix,
}

/// `[feed]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FeedConfig {
    /// Which source runs.
    pub source: FeedSource,
    /// The synthetic feed's parameters.
    pub synthetic: SyntheticConfig,
    /// The replay's file and pace.
    pub replay: ReplayConfig,
    /// The network feed's socket, re-request server and book sizes.
    pub itch: ItchConfig,
}

/// `feed.source`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FeedSource {
    /// `[feed.synthetic]`.
    Synthetic,
    /// `[feed.replay]`.
    Replay,
    /// `[feed.itch]`.
    Itch,
}

/// `[feed.replay]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReplayConfig {
    /// The file, relative to the working directory; empty when unused.
    pub path: PathBuf,
    /// What the file holds.
    pub format: ReplayFormat,
    /// `recorded` or `fastest`.
    pub pace: Pace,
}

/// `feed.replay.format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ReplayFormat {
    /// Quotes, a line each.
    Csv,
    /// A NASDAQ ITCH 5.0 day, as its historical files hold it.
    Itch,
}

/// `[topology]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TopologyConfig {
    /// `pipeline`, `fused`, or `auto`.
    pub mode: Topology,
    /// What a pinning failure does.
    pub pinning: PinPolicy,
}

/// `[stages.*]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StagesConfig {
    /// The one stage of the fused topology.
    pub fused: StageConfig,
    /// Market data in.
    pub feed: StageConfig,
    /// Strategy and risk.
    pub decide: StageConfig,
    /// Orders out.
    pub gateway: StageConfig,
}

/// One stage's table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StageConfig {
    /// The core to pin to; `None` lets redline place the stage.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub core: Option<usize>,
    /// The idle strategy.
    pub idle: Idle,
}

/// One thing wrong with a configuration, named by its key path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// The dotted key path (`stages.decide.core`), or empty for the file.
    pub key: String,
    /// What is wrong and what to do.
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.key.is_empty() {
            f.write_str(&self.message)
        } else {
            write!(f, "`{}`: {}", self.key, self.message)
        }
    }
}

/// Every error found in a configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigErrors(pub Vec<ConfigError>);

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0.as_slice() {
            [one] => write!(f, "{one}"),
            all => {
                write!(f, "{} errors:", all.len())?;
                all.iter().try_for_each(|error| write!(f, "\n  {error}"))
            }
        }
    }
}

impl std::error::Error for ConfigErrors {}

impl Config {
    /// The embedded default, checked against this machine.
    pub fn embedded() -> Result<Config, ConfigErrors> {
        Config::from_overlay("")
    }

    /// Reads `path` and lays it over the embedded default.
    pub fn load(path: &Path) -> anyhow::Result<Config> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read config file {}", path.display()))?;
        Config::from_overlay(&text).with_context(|| format!("invalid config {}", path.display()))
    }

    /// Lays `overlay` (TOML text) over the embedded default, then checks the
    /// result against this machine.
    pub fn from_overlay(overlay: &str) -> Result<Config, ConfigErrors> {
        let one = |key: String, message: String| ConfigErrors(vec![ConfigError { key, message }]);
        let mut merged: toml::Table =
            toml::from_str(DEFAULT_TOML).expect("the embedded default is valid TOML");
        let overlay: toml::Table = toml::from_str(overlay)
            .map_err(|err| one(String::new(), format!("not valid TOML: {err}")))?;
        merge(&mut merged, overlay);
        let mut config: Config = serde_path_to_error::deserialize(toml::Value::Table(merged))
            .map_err(|err| {
                // toml repeats the key as a trailing "in `key`" line; the
                // path already says it.
                let message = err.inner().to_string();
                let first_line = message.lines().next().unwrap_or_default().to_owned();
                one(err.path().to_string(), first_line)
            })?;
        if let Some(dir) = std::env::var_os(JOURNAL_DIR_ENV).filter(|d| !d.is_empty()) {
            config.persistence.journal_dir = dir.into();
        }
        if let Some(url) = std::env::var(DATABASE_URL_ENV)
            .ok()
            .filter(|u| !u.is_empty())
        {
            config.persistence.database_url = url;
        }
        config.validate(&available_cores())?;
        Ok(config)
    }

    /// Checks what types cannot: cores that exist, stages that do not starve
    /// each other.
    pub fn validate(&self, cores: &[usize]) -> Result<(), ConfigErrors> {
        let mut errors = Vec::new();
        for (name, stage) in self.stages.iter() {
            if let Some(core) = stage.core {
                if !cores.contains(&core) {
                    errors.push(ConfigError {
                        key: format!("stages.{name}.core"),
                        message: format!(
                            "core {core} does not exist; this machine has cores {}",
                            describe_cores(cores)
                        ),
                    });
                }
            }
        }
        let pipeline = [
            ("feed", &self.stages.feed),
            ("decide", &self.stages.decide),
            ("gateway", &self.stages.gateway),
        ];
        for (i, (a_name, a)) in pipeline.iter().enumerate() {
            for (b_name, b) in &pipeline[i + 1..] {
                let spins = a.idle == Idle::BusySpin || b.idle == Idle::BusySpin;
                if a.core.is_some() && a.core == b.core && spins {
                    errors.push(ConfigError {
                        key: format!("stages.{b_name}.core"),
                        message: format!(
                            "shares core {} with `stages.{a_name}` and one of them busy-spins, \
                             so it would starve the other in the pipeline; give each its own \
                             core or use idle = \"spin-then-yield\"",
                            b.core.unwrap_or_default()
                        ),
                    });
                }
            }
        }
        let rings = [
            ("quotes", self.rings.quotes, 2),
            ("orders", self.rings.orders, MAX_INTENTS),
            ("reports", self.rings.reports, 2 * self.venue.sim.max_orders),
            ("audit", self.rings.audit, RECORDS_PER_EVENT),
        ];
        for (name, slots, min) in rings {
            let min = min.next_power_of_two().max(2);
            if !(slots.is_power_of_two() && (min..=1 << 24).contains(&slots)) {
                let why = match name {
                    "orders" => " (room for every intent one event may make)",
                    "reports" => " (twice venue.sim.max_orders)",
                    "audit" => " (room for every record one event may make)",
                    _ => "",
                };
                errors.push(ConfigError {
                    key: format!("rings.{name}"),
                    message: format!(
                        "must be a power of two from {min}{why} to 16777216, got {slots} (try {})",
                        slots.clamp(min, 1 << 24).next_power_of_two()
                    ),
                });
            }
        }
        let instruments = Instruments::new(&self.instruments);
        if let Err(problems) = &instruments {
            errors.extend(problems.iter().map(|p| ConfigError {
                key: format!("instruments[{}].{}", p.index, p.field),
                message: p.message.clone(),
            }));
        }
        // The file itself is read and checked by `replay`, once.
        if self.feed.source == FeedSource::Replay && self.feed.replay.path.as_os_str().is_empty() {
            errors.push(ConfigError {
                key: "feed.replay.path".into(),
                message: "must name the file to replay when feed.source = \"replay\"".into(),
            });
        }
        for (table, problems) in [
            ("synthetic", self.feed.synthetic.problems()),
            ("itch", self.feed.itch.problems()),
        ] {
            errors.extend(problems.into_iter().map(|(key, message)| ConfigError {
                key: format!("feed.{table}.{key}"),
                message,
            }));
        }
        let itch_replay =
            self.feed.source == FeedSource::Replay && self.feed.replay.format == ReplayFormat::Itch;
        if self.feed.source == FeedSource::Itch || itch_replay {
            let needs = if itch_replay {
                "feed.replay.format = \"itch\""
            } else {
                "feed.source = \"itch\""
            };
            if let Ok(instruments) = &instruments {
                errors.extend(itch_instrument_problems(instruments).into_iter().map(
                    |(index, key, message)| ConfigError {
                        key: format!("instruments[{index}].{key}"),
                        message: format!("{message}, which {needs} needs"),
                    },
                ));
            }
        }
        if self.venue.kind == VenueKind::Fix
            && self.venue.fix.max_orders < self.risk.max_open_orders
        {
            errors.push(ConfigError {
                key: "venue.fix.max_orders".into(),
                message: format!(
                    "must be at least risk.max_open_orders ({}), or orders the gate lets \
                     through are refused VENUE_BUSY; got {}",
                    self.risk.max_open_orders, self.venue.fix.max_orders
                ),
            });
        }
        if let (VenueKind::Fix, Ok(instruments)) = (self.venue.kind, &instruments) {
            for (index, instrument) in instruments.iter().enumerate() {
                let symbol = &instrument.spec.symbol;
                if !symbol.bytes().all(|b| b.is_ascii_graphic()) {
                    errors.push(ConfigError {
                        key: format!("instruments[{index}].symbol"),
                        message: format!(
                            "{symbol:?} is sent as Symbol(55) to the FIX venue, which takes \
                             printable ASCII without spaces, which venue.kind = \"fix\" needs"
                        ),
                    });
                }
            }
            if let Err(symbol) = OrderCodec::new(instruments) {
                errors.push(ConfigError {
                    key: "instruments".into(),
                    message: format!(
                        "{symbol}: its tick or lot size has more than 18 decimals, which FIX \
                         cannot carry exactly"
                    ),
                });
            }
        }
        if self.feed.source == FeedSource::Itch
            && self.feed.itch.refresh_ms >= self.risk.stale_quote_ms
        {
            errors.push(ConfigError {
                key: "feed.itch.refresh_ms".into(),
                message: format!(
                    "must be below risk.stale_quote_ms ({}), or a quiet instrument's \
                     unchanged top would go stale while the feed is live; got {}",
                    self.risk.stale_quote_ms, self.feed.itch.refresh_ms
                ),
            });
        }
        if let Err(message) =
            redline_engine::trading_day::parse_time_of_day(&self.trading_day.starts_utc)
        {
            errors.push(ConfigError {
                key: "trading_day.starts_utc".into(),
                message,
            });
        }
        for (table, problems) in [
            ("risk", self.risk.problems()),
            ("venue.sim", self.venue.sim.problems()),
            ("venue.fix", self.venue.fix.problems()),
        ] {
            errors.extend(problems.into_iter().map(|(key, message)| ConfigError {
                key: format!("{table}.{key}"),
                message,
            }));
        }
        // A strategy is built over the instruments; with none valid, their
        // errors say it all.
        if let (Ok(_), Err(error)) = (&instruments, self.strategy()) {
            errors.push(error);
        }
        if self.control.listen.parse::<std::net::SocketAddr>().is_err() {
            errors.push(ConfigError {
                key: "control.listen".into(),
                message: format!(
                    "must be an IP address and port such as \"127.0.0.1:9900\", got {:?}",
                    self.control.listen
                ),
            });
        }
        if !(10..=600_000).contains(&self.control.stall_ms) {
            errors.push(ConfigError {
                key: "control.stall_ms".into(),
                message: format!("must be 10 to 600000, got {}", self.control.stall_ms),
            });
        }
        for (key, value, range) in [
            (
                "max_connections",
                self.control.max_connections as u64,
                1..=4096,
            ),
            (
                "max_header_bytes",
                self.control.max_header_bytes as u64,
                1024..=1_048_576,
            ),
            (
                "request_timeout_ms",
                self.control.request_timeout_ms,
                10..=600_000,
            ),
            (
                "idle_timeout_ms",
                self.control.idle_timeout_ms,
                10..=3_600_000,
            ),
        ] {
            if !range.contains(&value) {
                errors.push(ConfigError {
                    key: format!("control.{key}"),
                    message: format!("must be {} to {}, got {value}", range.start(), range.end()),
                });
            }
        }
        let persistence = &self.persistence;
        if persistence.journal_dir.as_os_str().is_empty() {
            errors.push(ConfigError {
                key: "persistence.journal_dir".into(),
                message: format!("must name a directory (or set {JOURNAL_DIR_ENV})"),
            });
        }
        if !(65_536..=1 << 40).contains(&persistence.segment_bytes) {
            errors.push(ConfigError {
                key: "persistence.segment_bytes".into(),
                message: format!(
                    "must be 65536 to 1099511627776, got {}",
                    persistence.segment_bytes
                ),
            });
        }
        if !persistence.database_url.is_empty() {
            if let Err(e) = persistence.database_url.parse::<postgres::Config>() {
                errors.push(ConfigError {
                    key: "persistence.database_url".into(),
                    message: format!(
                        "not a PostgreSQL URL ({e}); use postgres://user@host:port/database \
                         (the password goes in password_file or password_env)"
                    ),
                });
            }
        }
        if persistence.engine_id.is_empty() {
            errors.push(ConfigError {
                key: "persistence.engine_id".into(),
                message: "must name this engine".into(),
            });
        }
        for (key, value, range) in [
            (
                "batch_entries",
                persistence.batch_entries as u64,
                1..=1_000_000,
            ),
            (
                "flush_interval_ms",
                persistence.flush_interval_ms,
                1..=60_000,
            ),
            ("retry_initial_ms", persistence.retry_initial_ms, 1..=60_000),
            (
                "retry_max_ms",
                persistence.retry_max_ms,
                persistence.retry_initial_ms..=3_600_000,
            ),
            (
                "max_backlog_entries",
                persistence.max_backlog_entries,
                1..=u64::MAX,
            ),
            (
                "database_retention_days",
                persistence.database_retention_days,
                0..=36_500,
            ),
        ] {
            if !range.contains(&value) {
                errors.push(ConfigError {
                    key: format!("persistence.{key}"),
                    message: format!("must be {} to {}, got {value}", range.start(), range.end()),
                });
            }
        }
        if persistence.checkpoint_segments > 1_000_000 {
            errors.push(ConfigError {
                key: "persistence.checkpoint_segments".into(),
                message: format!(
                    "must be 0 (none) to 1000000, got {}",
                    persistence.checkpoint_segments
                ),
            });
        }
        if persistence.retention == Retention::Persisted {
            if persistence.database_url.is_empty() {
                errors.push(ConfigError {
                    key: "persistence.retention".into(),
                    message: format!(
                        "\"persisted\" deletes segments once PostgreSQL holds them, and no \
                         database is configured (persistence.database_url or {DATABASE_URL_ENV}): \
                         the journal is the only record, so use \"keep\""
                    ),
                });
            }
            if persistence.checkpoint_segments == 0 {
                errors.push(ConfigError {
                    key: "persistence.retention".into(),
                    message: "\"persisted\" deletes segments behind checkpoints, and \
                              persistence.checkpoint_segments = 0 takes none"
                        .into(),
                });
            }
        }
        if !(1..=60_000).contains(&persistence.fsync_interval_ms) {
            errors.push(ConfigError {
                key: "persistence.fsync_interval_ms".into(),
                message: format!("must be 1 to 60000, got {}", persistence.fsync_interval_ms),
            });
        }
        if !(100..=300_000).contains(&self.control.drain_grace_ms) {
            errors.push(ConfigError {
                key: "control.drain_grace_ms".into(),
                message: format!("must be 100 to 300000, got {}", self.control.drain_grace_ms),
            });
        }
        if self.clock.source == TimeSource::Simulated {
            if self.topology.mode == Topology::Pipeline {
                errors.push(ConfigError {
                    key: "clock.source".into(),
                    message: "simulated time runs in the fused topology; set topology.mode = \
                              \"fused\" (or \"auto\")"
                        .into(),
                });
            }
            let scheduled = match self.feed.source {
                FeedSource::Synthetic => self.feed.synthetic.rate > 0,
                FeedSource::Replay => self.feed.replay.pace == Pace::Recorded,
                FeedSource::Itch => false,
            };
            if self.venue.kind == VenueKind::Fix {
                errors.push(ConfigError {
                    key: "clock.source".into(),
                    message: "a FIX venue runs on the wall clock; set clock.source = \"wall\" \
                              (or venue.kind = \"sim\" for a backtest)"
                        .into(),
                });
            }
            if self.feed.source == FeedSource::Itch {
                errors.push(ConfigError {
                    key: "clock.source".into(),
                    message: "the network feed runs on the wall clock; set clock.source = \
                              \"wall\""
                        .into(),
                });
            } else if !scheduled {
                errors.push(ConfigError {
                    key: "clock.source".into(),
                    message: "simulated time follows the feed's schedule, and this feed has \
                              none; give feed.synthetic.rate a value above 0, or replay at \
                              pace = \"recorded\""
                        .into(),
                });
            }
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(ConfigErrors(errors))
        }
    }

    /// The running strategy's parameter table (`[strategy.params.<name>]`;
    /// empty when there is none).
    pub fn strategy_params(&self) -> toml::Table {
        match self.strategy.params.get(&self.strategy.name) {
            Some(toml::Value::Table(params)) => params.clone(),
            _ => toml::Table::new(),
        }
    }

    /// Builds the configured strategy from the built-in registry.
    ///
    /// # Errors
    ///
    /// An unknown name (naming `strategy.name`), or parameters its factory
    /// refuses (naming `strategy.params.<name>`).
    pub fn strategy(&self) -> Result<Box<dyn Strategy>, ConfigError> {
        let name = &self.strategy.name;
        if self
            .strategy
            .params
            .get(name)
            .is_some_and(|p| !p.is_table())
        {
            return Err(ConfigError {
                key: format!("strategy.params.{name}"),
                message: "must be a table of the strategy's parameters".into(),
            });
        }
        let params = &self.strategy_params();
        let instruments = Instruments::new(&self.instruments).map_err(|_| ConfigError {
            key: "instruments".into(),
            message: "the strategy needs valid instruments".into(),
        })?;
        Registry::with_builtins()
            .build(name, params, &instruments)
            .map_err(|error| match error {
                StrategyError::Unknown { .. } | StrategyError::Fixed { .. } => ConfigError {
                    key: "strategy.name".into(),
                    message: error.to_string(),
                },
                StrategyError::Params { message, .. } => ConfigError {
                    key: format!("strategy.params.{name}"),
                    message,
                },
            })
    }

    /// The ring sizes.
    pub fn ring_sizes(&self) -> RingSizes {
        RingSizes {
            quotes: self.rings.quotes,
            orders: self.rings.orders,
            reports: self.rings.reports,
            audit: self.rings.audit,
        }
    }

    /// The checked instruments (`validate` has passed).
    pub fn instruments(&self) -> Instruments {
        Instruments::new(&self.instruments).expect("validated with the config")
    }

    /// The replay's quotes, read and checked whole, when
    /// `feed.source = "replay"` (a CSV file's quotes as they are, an ITCH
    /// day's as its books make them); `None` for the other feeds. The file is
    /// read here and nowhere else, so a command that needs it reads it once
    /// (`validate` checks only that a path is given).
    pub fn replay(&self) -> Result<Option<Vec<Recorded>>, ConfigErrors> {
        if self.feed.source != FeedSource::Replay {
            return Ok(None);
        }
        let replay = &self.feed.replay;
        let loaded = match replay.format {
            ReplayFormat::Csv => load_replay(&replay.path, &self.instruments()),
            ReplayFormat::Itch => load_itch(
                &replay.path,
                &self.instruments(),
                self.feed.itch.max_orders,
                self.feed.itch.max_levels,
            ),
        };
        loaded.map(Some).map_err(|err| {
            ConfigErrors(vec![ConfigError {
                key: "feed.replay.path".into(),
                message: err.to_string(),
            }])
        })
    }
}

impl StagesConfig {
    /// Each stage table with its name.
    pub fn iter(&self) -> impl Iterator<Item = (&'static str, &StageConfig)> {
        [
            ("fused", &self.fused),
            ("feed", &self.feed),
            ("decide", &self.decide),
            ("gateway", &self.gateway),
        ]
        .into_iter()
    }
}

/// Lays `overlay` over `base`: tables merge key by key, anything else
/// replaces.
fn merge(base: &mut toml::Table, overlay: toml::Table) {
    for (key, value) in overlay {
        match (base.get_mut(&key), value) {
            (Some(toml::Value::Table(base)), toml::Value::Table(overlay)) => merge(base, overlay),
            (_, value) => {
                base.insert(key, value);
            }
        }
    }
}

/// `0-1`, or `0, 2, 5` when not contiguous.
fn describe_cores(cores: &[usize]) -> String {
    match (cores.first(), cores.last()) {
        (Some(first), Some(last)) if last - first + 1 == cores.len() => format!("{first}-{last}"),
        _ => cores
            .iter()
            .map(usize::to_string)
            .collect::<Vec<_>>()
            .join(", "),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn errors(overlay: &str) -> Vec<ConfigError> {
        Config::from_overlay(overlay).unwrap_err().0
    }

    #[test]
    fn embedded_default_is_valid_on_this_machine() {
        let config = Config::embedded().unwrap();
        assert_eq!(config.topology.mode, Topology::Auto);
        assert_eq!(config.topology.pinning, PinPolicy::BestEffort);
    }

    #[test]
    fn overlay_changes_only_the_keys_it_names() {
        let config = Config::from_overlay("[stages.decide]\nidle = \"backoff\"\n").unwrap();
        assert_eq!(config.stages.decide.idle, Idle::Backoff);
        assert_eq!(config.stages.feed.idle, Idle::SpinThenYield);
        assert_eq!(config.topology.mode, Topology::Auto);
    }

    #[test]
    fn unknown_key_is_named_by_its_path() {
        let errs = errors("[stages.decide]\nidel = \"backoff\"\n");
        assert_eq!(errs[0].key, "stages.decide.idel");
        assert!(
            errs[0].message.contains("unknown field `idel`"),
            "{}",
            errs[0]
        );
        assert!(
            !errs[0].message.contains('\n'),
            "one line: {:?}",
            errs[0].message
        );
        assert!(
            errs[0].message.contains("`idle`"),
            "suggests the real key: {}",
            errs[0]
        );
    }

    #[test]
    fn unknown_table_is_named() {
        let errs = errors("[topolgy]\nmode = \"fused\"\n");
        assert!(
            errs[0].message.contains("unknown field `topolgy`"),
            "{}",
            errs[0]
        );
    }

    #[test]
    fn bad_enum_value_names_its_key_and_the_choices() {
        let errs = errors("[topology]\nmode = \"ring\"\n");
        assert_eq!(errs[0].key, "topology.mode");
        assert!(errs[0].message.contains("pipeline"), "{}", errs[0]);
    }

    #[test]
    fn wrong_type_names_its_key() {
        let errs = errors("[stages.feed]\ncore = \"one\"\n");
        assert_eq!(errs[0].key, "stages.feed.core");
    }

    #[test]
    fn missing_core_is_an_error_naming_the_key_and_the_real_cores() {
        let config = Config::from_overlay("").unwrap();
        let mut bad = config.clone();
        bad.stages.decide.core = Some(9);
        bad.stages.fused.core = Some(7);
        let errs = bad.validate(&[0, 1]).unwrap_err().0;
        let keys: Vec<_> = errs.iter().map(|e| e.key.as_str()).collect();
        assert_eq!(keys, ["stages.fused.core", "stages.decide.core"]);
        assert!(
            errs[1].message.contains("core 9 does not exist"),
            "{}",
            errs[1]
        );
        assert!(errs[1].message.contains("cores 0-1"), "{}", errs[1]);
    }

    #[test]
    fn busy_spinning_stages_sharing_a_core_are_rejected() {
        let mut config = Config::from_overlay("").unwrap();
        config.stages.feed.core = Some(1);
        config.stages.gateway.core = Some(1);
        assert!(
            config.validate(&[0, 1]).is_ok(),
            "yielding stages may share"
        );
        config.stages.gateway.idle = Idle::BusySpin;
        let errs = config.validate(&[0, 1]).unwrap_err().0;
        assert_eq!(errs[0].key, "stages.gateway.core");
        assert!(errs[0].message.contains("starve"), "{}", errs[0]);
    }

    #[test]
    fn the_default_has_eight_instruments_and_a_paced_feed() {
        let config = Config::embedded().unwrap();
        assert_eq!(config.instruments().len(), 8);
        assert_eq!(config.feed.synthetic.rate, 100_000);
    }

    #[test]
    fn bad_instruments_and_feed_values_are_named_by_key() {
        let errs = errors(
            "[[instruments]]\nsymbol = \"X\"\ntick_size = \"0.25\"\nlot_size = \"1\"\n\
             multiplier = \"1\"\nreference_price = \"10.10\"\n\
             [feed.synthetic]\nspread_ticks = 0\n",
        );
        let keys: Vec<&str> = errs.iter().map(|e| e.key.as_str()).collect();
        assert_eq!(
            keys,
            [
                "instruments[0].reference_price",
                "feed.synthetic.spread_ticks"
            ]
        );
    }

    #[test]
    fn a_decimal_written_as_a_number_is_refused() {
        let errs = errors(
            "[[instruments]]\nsymbol = \"X\"\ntick_size = 0.25\nlot_size = \"1\"\n\
             multiplier = \"1\"\nreference_price = \"10\"\n",
        );
        assert_eq!(errs[0].key, "instruments[0].tick_size");
    }

    #[test]
    fn ring_capacity_must_be_a_power_of_two() {
        let errs = errors("[rings]\nquotes = 1000\n");
        assert_eq!(errs[0].key, "rings.quotes");
        assert!(errs[0].message.contains("try 1024"), "{}", errs[0]);
    }

    #[test]
    fn persisted_retention_needs_a_database_and_checkpoints() {
        let errs = errors("[persistence]\nretention = \"persisted\"\n");
        assert_eq!(errs.len(), 1, "{errs:?}");
        assert_eq!(errs[0].key, "persistence.retention");
        assert!(errs[0].message.contains("no database"), "{}", errs[0]);
        let errs = errors(
            "[persistence]\nretention = \"persisted\"\ncheckpoint_segments = 0\n\
             database_url = \"postgres://redline@127.0.0.1/redline\"\n",
        );
        assert_eq!(errs.len(), 1, "{errs:?}");
        assert!(errs[0].message.contains("takes none"), "{}", errs[0]);
        let config = Config::from_overlay(
            "[persistence]\nretention = \"persisted\"\n\
             database_url = \"postgres://redline@127.0.0.1/redline\"\n",
        )
        .unwrap();
        assert_eq!(config.persistence.retention, Retention::Persisted);
        assert_eq!(config.persistence.checkpoint_segments, 16);
    }

    #[test]
    fn not_toml_is_a_clear_error() {
        let errs = errors("[topology\n");
        assert!(errs[0].message.starts_with("not valid TOML"), "{}", errs[0]);
    }
}
