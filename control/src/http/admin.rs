//! The admin endpoints, behind the bearer token. Commands (POST, and PUT
//! for limits, strategy parameters and the log level) are validated here, sent to the decide stage through the
//! command ring, and answered with the resulting state once the audit
//! stream says how they ended, or with 202 when that takes longer than
//! [`ANSWER_WAIT`]; the request waits in a list meanwhile, so the side
//! thread never blocks on one. Positions, open orders, the limits and the
//! effective config are read from what the hot path publishes and what the
//! control side holds. Every command is logged with who sent it, what it
//! asked and how it ended.

use std::collections::BTreeMap;
use std::io::Read as _;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use redline_engine::command::{Action, ActionKind, Outcome};
use redline_engine::domain::{Decimal, Instruments, Qty, Side};
use redline_engine::risk::RiskLimits;
use redline_engine::strategy::{Registry, StrategyError};
use serde_json::{json, Map, Value};
use tiny_http::{Method, Request};

use super::{error, json_response, method_not_allowed, ControlPlane, Resp};
use crate::commander::{Change, Commander};
use crate::log::Level;
use crate::side::Tally;

/// How long a command's answer waits for it to end before saying 202 (in
/// progress): cancel-all and flatten wait for the venue.
pub const ANSWER_WAIT: Duration = Duration::from_secs(5);

/// The most a request body may hold.
pub const BODY_LIMIT: usize = 64 * 1024;

/// What the admin endpoints work with beside the hot path's counters.
pub struct Desk {
    /// The command ring and what is in force, shared with the main and
    /// side threads.
    pub commander: Arc<Mutex<Commander>>,
    /// The strategies, to check new parameters for the running one.
    pub registry: Registry,
    /// The running strategy's name.
    pub strategy: String,
    /// The effective config, secrets redacted, as at start (what is in
    /// force is laid over it when shown).
    pub config: Value,
    /// The instruments, to show prices and quantities.
    pub instruments: Instruments,
    /// Set to ask the main thread for a drain.
    pub drain: Arc<AtomicBool>,
    /// Requests waiting for their command to end.
    pending: Vec<Pending>,
    /// Commands answered, by action and outcome label.
    answered: BTreeMap<(&'static str, &'static str), u64>,
}

/// A command's request, waiting for the command to end.
struct Pending {
    request: Request,
    id: u64,
    action: ActionKind,
    issuer: u32,
    until: Instant,
}

impl Desk {
    /// A desk sending through `commander`, for the strategy called
    /// `strategy` in `registry`, showing the effective `config`.
    pub fn new(
        commander: Arc<Mutex<Commander>>,
        registry: Registry,
        strategy: String,
        config: Value,
        instruments: Instruments,
        drain: Arc<AtomicBool>,
    ) -> Desk {
        Desk {
            commander,
            registry,
            strategy,
            config: redact(config),
            instruments,
            drain,
            pending: Vec::new(),
            answered: BTreeMap::new(),
        }
    }

    /// Commands answered so far, by `(action, outcome)`.
    pub fn answered(&self) -> impl Iterator<Item = (&'static str, &'static str, u64)> + '_ {
        self.answered.iter().map(|(&(a, o), &n)| (a, o, n))
    }

    fn count(&mut self, action: &'static str, outcome: &'static str) {
        *self.answered.entry((action, outcome)).or_default() += 1;
    }
}

impl ControlPlane {
    /// Answers an authorized `/admin/*` request from `issuer` (a token id).
    pub(super) fn admin(
        &mut self,
        mut request: Request,
        path: &str,
        query: &str,
        issuer: u32,
        tally: &Mutex<Tally>,
    ) {
        let method = request.method().clone();
        let action = match path {
            "/admin/halt" => Some(ActionKind::Halt),
            "/admin/resume" => Some(ActionKind::Resume),
            "/admin/reduce-only" => Some(ActionKind::ReduceOnly),
            "/admin/cancel-all" => Some(ActionKind::CancelAll),
            "/admin/flatten" => Some(ActionKind::Flatten),
            "/admin/drain" => Some(ActionKind::Drain),
            _ => None,
        };
        let response = match (path, action) {
            (_, Some(kind)) if method == Method::Post => {
                match self.command(&mut request, kind, issuer) {
                    Ok(Some(pending)) => {
                        self.desk.pending.push(pending.with(request));
                        return;
                    }
                    Ok(None) => drain_started(),
                    Err(response) => self.refused(issuer, kind, response),
                }
            }
            (_, Some(_)) => method_not_allowed("POST"),
            ("/admin/limits", _) if method == Method::Get => json_response(200, &self.limits()),
            ("/admin/strategy", _) if method == Method::Get => json_response(200, &self.strategy()),
            ("/admin/log-level", _) if method == Method::Get => {
                json_response(200, &json!({ "level": self.log.level().name() }))
            }
            ("/admin/limits" | "/admin/strategy" | "/admin/log-level", _)
                if method == Method::Put =>
            {
                let (kind, sent) = match path {
                    "/admin/limits" => (ActionKind::Limits, self.put_limits(&mut request, issuer)),
                    "/admin/strategy" => (
                        ActionKind::Strategy,
                        self.put_strategy(&mut request, issuer),
                    ),
                    _ => (
                        ActionKind::LogLevel,
                        self.put_log_level(&mut request, issuer),
                    ),
                };
                match sent {
                    Ok(pending) => {
                        self.desk.pending.push(pending.with(request));
                        return;
                    }
                    Err(response) => self.refused(issuer, kind, response),
                }
            }
            ("/admin/limits" | "/admin/strategy" | "/admin/log-level", _) => {
                method_not_allowed("GET, PUT")
            }
            ("/admin/positions", _) if method == Method::Get => {
                json_response(200, &self.positions())
            }
            ("/admin/orders", _) if method == Method::Get => json_response(200, &self.orders()),
            ("/admin/config", _) if method == Method::Get => json_response(200, &self.config()),
            ("/admin/latency", _) if method == Method::Get => self.latency(query, tally),
            ("/admin/positions" | "/admin/orders" | "/admin/config" | "/admin/latency", _) => {
                method_not_allowed("GET")
            }
            _ => error(404, &format!("no admin endpoint {path}")),
        };
        let _ = request.respond(response);
    }

    /// Validates a command's body and sends it; `None` for a drain, which
    /// the main thread sends.
    fn command(
        &mut self,
        request: &mut Request,
        kind: ActionKind,
        issuer: u32,
    ) -> Result<Option<Unsent>, Resp> {
        let body = self.body(request)?;
        let reason = self.reason(&body, kind)?;
        let action = match kind {
            ActionKind::Halt => Action::Halt,
            ActionKind::Resume => Action::Resume,
            ActionKind::ReduceOnly => Action::ReduceOnly,
            ActionKind::CancelAll => Action::CancelAll,
            ActionKind::Flatten => Action::Flatten,
            ActionKind::Limits | ActionKind::Strategy | ActionKind::LogLevel => {
                unreachable!("changes are PUT")
            }
            ActionKind::Drain => {
                self.desk.commander.lock().set_drain_issuer(issuer);
                // Relaxed: the main thread polls the flag; the lock above
                // ordered the issuer.
                self.desk.drain.store(true, Ordering::Relaxed);
                self.log_command(issuer, kind, None, "accepted", &reason);
                self.desk.count(kind.name(), "accepted");
                return Ok(None);
            }
        };
        let id = self.send(issuer, action)?;
        self.log_command(issuer, kind, Some(id), "sent", &reason);
        Ok(Some(Unsent {
            id,
            action: kind,
            issuer,
        }))
    }

    /// A PUT of some limits: merged over those in force, checked whole,
    /// then sent.
    fn put_limits(&mut self, request: &mut Request, issuer: u32) -> Result<Unsent, Resp> {
        let changes = self.changes(request, "{\"max_order_qty\": 5}")?;
        let in_force = self.desk.commander.lock().in_force().limits;
        let Value::Object(mut merged) = json!(in_force) else {
            unreachable!("limits serialize as an object");
        };
        for (key, value) in changes {
            if !merged.contains_key(&key) {
                let known: Vec<&str> = merged.keys().map(String::as_str).collect();
                return Err(self.bad_request(&format!(
                    "no limit `{key}`; the limits are {}",
                    known.join(", ")
                )));
            }
            merged.insert(key, value);
        }
        let limits: RiskLimits = serde_json::from_value(Value::Object(merged))
            .map_err(|e| self.bad_request(&format!("invalid limits: {e} (money is a string)")))?;
        let problems = self.desk.commander.lock().limit_problems(&limits);
        if !problems.is_empty() {
            self.counters.bad_requests += 1;
            return Err(json_response(
                400,
                &json!({ "error": "invalid limits", "problems": problems }),
            ));
        }
        self.send_change(
            issuer,
            Action::Limits(limits),
            Change::Limits(limits),
            ActionKind::Limits,
        )
    }

    /// A PUT of some of the running strategy's parameters: merged over
    /// those in force, checked by the strategy's own tuner as at start,
    /// then sent.
    fn put_strategy(&mut self, request: &mut Request, issuer: u32) -> Result<Unsent, Resp> {
        let changes = self.changes(request, "{\"half_spread_ticks\": 2}")?;
        let mut params = self.desk.commander.lock().in_force().strategy.clone();
        for (key, value) in changes {
            match toml::Value::try_from(&value) {
                Ok(value) => params.insert(key, value),
                Err(_) => {
                    return Err(self.bad_request(&format!(
                        "parameter `{key}`: {value} has no TOML form (use a number, string, \
                         boolean, array or object)"
                    )))
                }
            };
        }
        let name = &self.desk.strategy;
        let tuning = match self
            .desk
            .registry
            .tune(name, &params, &self.desk.instruments)
        {
            Ok(tuning) => tuning,
            Err(err @ StrategyError::Fixed { .. }) => {
                self.counters.bad_requests += 1;
                return Err(error(409, &err.to_string()));
            }
            Err(err) => return Err(self.bad_request(&err.to_string())),
        };
        self.send_change(
            issuer,
            Action::Strategy(tuning),
            Change::Strategy(params),
            ActionKind::Strategy,
        )
    }

    /// A PUT of `{"level": "debug"}`: recorded by the decide stage, then
    /// in force.
    fn put_log_level(&mut self, request: &mut Request, issuer: u32) -> Result<Unsent, Resp> {
        let changes = self.changes(request, "{\"level\": \"debug\"}")?;
        let names: Vec<&str> = Level::ALL.iter().map(|l| l.name()).collect();
        let level = match (changes.get("level"), changes.len()) {
            (Some(Value::String(name)), 1) => Level::from_name(name),
            _ => None,
        };
        let Some(level) = level else {
            return Err(self.bad_request(&format!(
                "the body must be {{\"level\": \"...\"}} with one of {}",
                names.join(", ")
            )));
        };
        self.send_change(
            issuer,
            Action::LogLevel,
            Change::LogLevel(level),
            ActionKind::LogLevel,
        )
    }

    /// The JSON object of a PUT, or a 400 showing `example`.
    fn changes(
        &mut self,
        request: &mut Request,
        example: &str,
    ) -> Result<Map<String, Value>, Resp> {
        match self.body(request)? {
            Some(Value::Object(changes)) => Ok(changes),
            _ => Err(self.bad_request(&format!(
                "the body must be a JSON object of what to change, e.g. {example}"
            ))),
        }
    }

    fn send_change(
        &mut self,
        issuer: u32,
        action: Action,
        change: Change,
        kind: ActionKind,
    ) -> Result<Unsent, Resp> {
        let id = self
            .desk
            .commander
            .lock()
            .send_change(issuer, action, change)
            .map_err(|_| ring_full())?;
        self.log_command(issuer, kind, Some(id), "sent", &None);
        Ok(Unsent {
            id,
            action: kind,
            issuer,
        })
    }

    /// The limits in force.
    fn limits(&self) -> Value {
        json!({ "limits": self.desk.commander.lock().in_force().limits })
    }

    /// The running strategy, its parameters in force, and whether they
    /// may change.
    fn strategy(&self) -> Value {
        let params = self.desk.commander.lock().in_force().strategy.clone();
        let tunable = !matches!(
            self.desk
                .registry
                .tune(&self.desk.strategy, &params, &self.desk.instruments),
            Err(StrategyError::Fixed { .. })
        );
        json!({ "name": self.desk.strategy, "params": params, "tunable": tunable })
    }

    /// The effective config with what is in force laid over it.
    fn config(&self) -> Value {
        let mut config = self.desk.config.clone();
        let in_force = self.desk.commander.lock().in_force().clone();
        config["risk"] = json!(in_force.limits);
        config["strategy"]["params"][&self.desk.strategy] = json!(in_force.strategy);
        config["log"]["level"] = json!(self.log.level().name());
        config
    }

    /// The admin record of a command: who, what, which, how it stands.
    fn log_command(
        &self,
        issuer: u32,
        action: ActionKind,
        id: Option<u64>,
        result: &str,
        reason: &Option<String>,
    ) {
        let mut event = self
            .log
            .info("admin")
            .field("token", format!("{issuer:08x}"))
            .field("command", action.name())
            .field("id", id.map_or_else(|| "-".to_owned(), |id| id.to_string()))
            .field("result", result);
        if let Some(reason) = reason {
            event = event.field("reason", reason);
        }
        event.emit();
    }

    /// Records a command refused before it was sent, in the log and (but
    /// for a full command ring) in the audit stream, and passes on the
    /// answer that says why.
    fn refused(&mut self, issuer: u32, kind: ActionKind, response: Resp) -> Resp {
        let status = response.status_code().0;
        let (result, id) = match status {
            503 => ("unavailable", None),
            _ => {
                let rejected = Action::Rejected {
                    action: kind,
                    status,
                };
                ("bad_request", self.send(issuer, rejected).ok())
            }
        };
        self.log_command(issuer, kind, id, result, &None);
        self.desk.count(kind.name(), result);
        response
    }

    fn send(&mut self, issuer: u32, action: Action) -> Result<u64, Resp> {
        self.desk
            .commander
            .lock()
            .send(issuer, action)
            .map_err(|_| ring_full())
    }

    /// The request's body as JSON; `None` when empty.
    fn body(&mut self, request: &mut Request) -> Result<Option<Value>, Resp> {
        if request.body_length().is_some_and(|n| n > BODY_LIMIT) {
            return Err(self.too_large());
        }
        let mut bytes = Vec::new();
        let read = request
            .as_reader()
            .take(BODY_LIMIT as u64 + 1)
            .read_to_end(&mut bytes);
        if read.is_err() {
            return Err(self.bad_request("cannot read the request body"));
        }
        if bytes.len() > BODY_LIMIT {
            return Err(self.too_large());
        }
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(None);
        }
        serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| self.bad_request(&format!("the body is not valid JSON: {e}")))
    }

    /// A command's body: nothing, or an object with an optional `reason`.
    fn reason(&mut self, body: &Option<Value>, kind: ActionKind) -> Result<Option<String>, Resp> {
        let Some(body) = body else {
            return Ok(None);
        };
        let object = body.as_object().filter(|o| o.keys().all(|k| k == "reason"));
        match object.map(|o| o.get("reason")) {
            Some(None) => Ok(None),
            Some(Some(Value::String(reason))) => Ok(Some(reason.clone())),
            _ => Err(self.bad_request(&format!(
                "the body of {} is empty or {{\"reason\": \"...\"}}",
                kind.name()
            ))),
        }
    }

    fn too_large(&mut self) -> Resp {
        self.counters.bad_requests += 1;
        error(
            413,
            &format!("the request body is over the {BODY_LIMIT}-byte limit"),
        )
    }

    fn bad_request(&mut self, message: &str) -> Resp {
        self.counters.bad_requests += 1;
        error(400, message)
    }

    /// Answers the requests whose commands ended, or that waited too long.
    pub(super) fn settle(&mut self, tally: &Mutex<Tally>) {
        if self.desk.pending.is_empty() {
            return;
        }
        let now = Instant::now();
        let waiting = std::mem::take(&mut self.desk.pending);
        let outcomes: Vec<Option<Outcome>> = {
            let tally = tally.lock();
            waiting.iter().map(|p| tally.outcome(p.id)).collect()
        };
        for (pending, outcome) in waiting.into_iter().zip(outcomes) {
            if outcome.is_none() && now < pending.until {
                self.desk.pending.push(pending);
            } else {
                self.answer_command(pending, outcome);
            }
        }
    }

    fn answer_command(&mut self, pending: Pending, outcome: Option<Outcome>) {
        let Pending {
            request,
            id,
            action,
            issuer,
            ..
        } = pending;
        let label = outcome.map_or("in_progress", label);
        self.log_command(issuer, action, Some(id), label, &None);
        self.desk.count(action.name(), label);
        let mut body = json!({
            "command": id,
            "action": action.name(),
            "outcome": label,
            "trading_state": self.view.counters.state().name(),
        });
        if let Some(outcome) = outcome {
            body["message"] = json!(match outcome {
                Outcome::Refused(reason) => format!("{}: {}", outcome.name(), reason.code()),
                _ => outcome.name().to_owned(),
            });
        }
        if let Value::Object(state) = self.positions() {
            body["open_orders"] = state["open_orders"].clone();
            body["positions"] = state["instruments"].clone();
        }
        // The side thread put what is done in force before this answer.
        match action {
            ActionKind::Limits => body["limits"] = self.limits()["limits"].take(),
            ActionKind::Strategy => body["params"] = self.strategy()["params"].take(),
            ActionKind::LogLevel => body["level"] = json!(self.log.level().name()),
            _ => {}
        }
        let code = match outcome {
            None => 202,
            Some(Outcome::Done) => 200,
            Some(_) => 409,
        };
        let _ = request.respond(json_response(code, &body));
    }

    /// P&L and each instrument's position, as last published.
    fn positions(&self) -> Value {
        let Some(risk) = self.view.counters.risk() else {
            return json!({ "error": "the decide stage stopped while publishing" });
        };
        let instruments: Map<String, Value> = self
            .desk
            .instruments
            .iter()
            .zip(&risk.instruments)
            .map(|(instrument, r)| {
                (
                    instrument.spec.symbol.clone(),
                    json!({
                        "position": r.position,
                        "quantity": instrument.quantity(Qty(r.position)).to_string(),
                        "open_buy": r.open_buy,
                        "open_sell": r.open_sell,
                        "exposure": money(r.exposure_nanos),
                        "unrealized_pnl": money(r.unrealized_nanos),
                    }),
                )
            })
            .collect();
        json!({
            "trading_state": self.view.counters.state().name(),
            "pnl": money(risk.pnl_nanos()),
            "realized_pnl": money(risk.realized_nanos),
            "unrealized_pnl": money(risk.unrealized_nanos),
            "gross_exposure": money(risk.gross_exposure_nanos()),
            "open_orders": risk.open_orders,
            "instruments": instruments,
        })
    }

    /// The open orders, as last published.
    fn orders(&self) -> Value {
        let Some(mut orders) = self.view.counters.open_orders() else {
            return json!({ "error": "the decide stage stopped while publishing" });
        };
        orders.sort_by_key(|o| o.id);
        let list: Vec<Value> = orders
            .iter()
            .map(|o| {
                let instrument = self.desk.instruments.get(o.instrument);
                json!({
                    "id": o.id.0,
                    "instrument": instrument.spec.symbol,
                    "side": match o.side {
                        Side::Buy => "buy",
                        Side::Sell => "sell",
                    },
                    "price": instrument.price(o.price).to_string(),
                    "leaves": o.leaves,
                })
            })
            .collect();
        json!({ "count": list.len(), "orders": list })
    }
}

/// A command sent whose request is still to be kept.
struct Unsent {
    id: u64,
    action: ActionKind,
    issuer: u32,
}

impl Unsent {
    fn with(self, request: Request) -> Pending {
        Pending {
            request,
            id: self.id,
            action: self.action,
            issuer: self.issuer,
            until: Instant::now() + ANSWER_WAIT,
        }
    }
}

fn ring_full() -> Resp {
    error(
        503,
        "the command ring is full: the decide stage has not taken the commands before this \
         one; check /health",
    )
}

fn drain_started() -> Resp {
    json_response(
        202,
        &json!({
            "action": "drain",
            "outcome": "accepted",
            "message": "draining: new orders stop, open orders are cancelled, then the engine \
                        exits",
        }),
    )
}

/// An outcome as a metric label.
fn label(outcome: Outcome) -> &'static str {
    match outcome {
        Outcome::Done => "done",
        Outcome::Superseded => "superseded",
        Outcome::Incomplete => "incomplete",
        Outcome::Draining => "draining",
        Outcome::LossLimit => "loss_limit",
        Outcome::Invalid => "invalid",
        Outcome::Refused(_) => "refused",
    }
}

/// Nano-units as an exact decimal string.
fn money(nanos: i64) -> String {
    Decimal::new(i128::from(nanos), 9).to_string()
}

/// The config with anything secret-looking replaced: values of keys that
/// name a password or secret, and passwords inside URLs.
fn redact(value: Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.into_iter()
                .map(|(key, value)| {
                    let key_lower = key.to_ascii_lowercase();
                    // `password_file` and `password_env` name where a
                    // secret is, which is not secret.
                    let secret = ["password", "secret"].iter().any(|s| key_lower.contains(s))
                        && !key_lower.ends_with("_file")
                        && !key_lower.ends_with("_env");
                    let value = match value {
                        Value::String(_) if secret => json!("[redacted]"),
                        other => redact(other),
                    };
                    (key, value)
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.into_iter().map(redact).collect()),
        Value::String(text) => Value::String(redact_url(&text)),
        other => other,
    }
}

/// `scheme://user:password@host` with the password replaced.
fn redact_url(text: &str) -> String {
    let Some((scheme, rest)) = text.split_once("://") else {
        return text.to_owned();
    };
    let Some((userinfo, host)) = rest.split_once('@') else {
        return text.to_owned();
    };
    match userinfo.split_once(':') {
        Some((user, _)) => format!("{scheme}://{user}:[redacted]@{host}"),
        None => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_redacted_and_the_rest_kept() {
        let config = json!({
            "persistence": {
                "database_url": "postgres://redline:hunter2@db:5432/redline",
                "password_file": "/run/secrets/db",
                "db_password": "hunter2",
            },
            "control": { "token_env": "REDLINE_ADMIN_TOKEN", "listen": "127.0.0.1:9900" },
        });
        let redacted = redact(config).to_string();
        assert!(!redacted.contains("hunter2"), "{redacted}");
        assert!(redacted.contains("/run/secrets/db"), "where, not what");
        assert!(redacted.contains("postgres://redline:[redacted]@db:5432/redline"));
        assert!(redacted.contains("REDLINE_ADMIN_TOKEN") && redacted.contains("127.0.0.1:9900"));
    }
}
