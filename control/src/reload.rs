//! SIGHUP: read the config file again and apply what may change while the
//! engine runs (the risk limits, the running strategy's parameters, the
//! log level) through the command ring, with the same checks as the admin
//! endpoints; log what changed, and what differs but takes a restart. A
//! file that no longer loads, or whose new values fail their checks,
//! changes nothing and says why: a reload applies all of its changes or
//! none.

use std::path::PathBuf;
use std::sync::Arc;

use parking_lot::Mutex;
use redline_engine::command::Action;
use redline_engine::domain::Instruments;
use redline_engine::strategy::Registry;
use serde_json::Value;

use crate::commander::{Change, Commander};
use crate::config::Config;
use crate::log::Log;

/// Who a reload's commands come from: the engine itself.
const ISSUER: u32 = 0;

/// What a reload needs.
pub struct Reloader {
    /// The file `redline run --config` named; `None` for the embedded
    /// default, which cannot change.
    path: Option<PathBuf>,
    /// The config the engine started with.
    running: Config,
    registry: Registry,
    instruments: Instruments,
    commander: Arc<Mutex<Commander>>,
    log: Log,
}

impl Reloader {
    /// A reloader of `path` for an engine that started on `running`.
    pub fn new(
        path: Option<PathBuf>,
        running: Config,
        registry: Registry,
        commander: Arc<Mutex<Commander>>,
        log: Log,
    ) -> Reloader {
        Reloader {
            path,
            instruments: running.instruments(),
            running,
            registry,
            commander,
            log,
        }
    }

    /// Reads the file again and applies what changed (see the module
    /// doc).
    pub fn reload(&self) {
        let Some(path) = &self.path else {
            self.log
                .info("reload: nothing to read; the engine runs on the embedded default")
                .emit();
            return;
        };
        let fresh = match Config::load(path) {
            Ok(fresh) => fresh,
            Err(err) => {
                self.log
                    .error("reload refused: nothing changed")
                    .field("file", path.display().to_string())
                    .field("error", format!("{err:#}"))
                    .emit();
                return;
            }
        };
        let mut commander = self.commander.lock();
        let changes = match self.changes(&fresh, &commander) {
            Ok(changes) => changes,
            Err(problems) => {
                drop(commander);
                self.log
                    .error("reload refused: nothing changed")
                    .field("file", path.display().to_string())
                    .field("error", problems.join("; "))
                    .emit();
                return;
            }
        };
        let mut sent = Vec::new();
        for (action, change) in changes {
            let name = change.name();
            match commander.send_change(ISSUER, action, change) {
                Ok(_) => sent.push(name),
                Err(_) => {
                    self.log
                        .error("reload: the command ring is full; the rest was not sent")
                        .field("not_sent", name)
                        .emit();
                    break;
                }
            }
        }
        drop(commander);
        let restart = restart_needed(&self.running, &fresh);
        self.log
            .info("reloaded")
            .field("file", path.display().to_string())
            .field(
                "changes",
                if sent.is_empty() {
                    "none".to_owned()
                } else {
                    sent.join(",")
                },
            )
            .emit();
        if !restart.is_empty() {
            self.log
                .warn("reload: these differ from the running config and take a restart")
                .field("keys", restart.join(","))
                .emit();
        }
    }

    /// Each change `fresh` makes to what is in force, with the command
    /// that makes it; or every problem with them.
    fn changes(
        &self,
        fresh: &Config,
        commander: &Commander,
    ) -> Result<Vec<(Action, Change)>, Vec<String>> {
        let in_force = commander.in_force();
        let mut changes = Vec::new();
        let mut problems = Vec::new();
        if fresh.risk != in_force.limits {
            let found = commander.limit_problems(&fresh.risk);
            if found.is_empty() {
                changes.push((Action::Limits(fresh.risk), Change::Limits(fresh.risk)));
            }
            problems.extend(found.into_iter().map(|p| format!("risk.{p}")));
        }
        let params = fresh.strategy_params();
        if fresh.strategy.name == self.running.strategy.name && params != in_force.strategy {
            let name = &fresh.strategy.name;
            match self.registry.tune(name, &params, &self.instruments) {
                Ok(tuning) => {
                    changes.push((Action::Strategy(tuning), Change::Strategy(params)));
                }
                Err(err) => problems.push(format!("strategy.params.{name}: {err}")),
            }
        }
        if fresh.log.level != self.log.level() {
            changes.push((Action::LogLevel, Change::LogLevel(fresh.log.level)));
        }
        if problems.is_empty() {
            Ok(changes)
        } else {
            Err(problems)
        }
    }
}

/// The keys where `fresh` differs from `running` outside what a reload
/// applies.
fn restart_needed(running: &Config, fresh: &Config) -> Vec<String> {
    let without_reloadable = |config: &Config| {
        let mut value = serde_json::to_value(config).unwrap_or_default();
        value["risk"] = Value::Null;
        value["log"]["level"] = Value::Null;
        if config.strategy.name == running.strategy.name {
            value["strategy"]["params"][&running.strategy.name] = Value::Null;
        }
        value
    };
    let mut keys = Vec::new();
    differing(
        &without_reloadable(running),
        &without_reloadable(fresh),
        "",
        &mut keys,
    );
    keys
}

/// Appends to `out` the dotted paths at which `a` and `b` differ.
fn differing(a: &Value, b: &Value, path: &str, out: &mut Vec<String>) {
    match (a, b) {
        (Value::Object(a), Value::Object(b)) => {
            let mut keys: Vec<&String> = a.keys().chain(b.keys()).collect();
            keys.sort();
            keys.dedup();
            for key in keys {
                let null = Value::Null;
                let inner = if path.is_empty() {
                    key.clone()
                } else {
                    format!("{path}.{key}")
                };
                differing(
                    a.get(key).unwrap_or(&null),
                    b.get(key).unwrap_or(&null),
                    &inner,
                    out,
                );
            }
        }
        (a, b) if a != b => out.push(path.to_owned()),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_what_a_reload_cannot_apply_needs_a_restart() {
        let running = Config::from_overlay("").unwrap();
        let fresh = Config::from_overlay(
            "[risk]\nmax_order_qty = 3\n[log]\nlevel = \"debug\"\nformat = \"json\"\n\
             [strategy.params.market-maker]\nhalf_spread_ticks = 2\n\
             [strategy.params.ewma-crossover]\nqty = 2\n\
             [feed.synthetic]\nrate = 5000\n",
        )
        .unwrap();
        assert_eq!(
            restart_needed(&running, &fresh),
            [
                "feed.synthetic.rate",
                "log.format",
                "strategy.params.ewma-crossover.qty"
            ]
        );
        assert!(restart_needed(&running, &running).is_empty());
    }
}
