//! systemd notification for a `Type=notify` unit. With `NOTIFY_SOCKET`
//! set, the engine says `READY=1` once every hot-path stage's heartbeat
//! has moved, `WATCHDOG=1` every half `WatchdogSec=` only while every
//! stage's heartbeat still advances (so systemd restarts a wedged engine
//! rather than being fed by a healthy main thread), and `STOPPING=1` when
//! it drains. Without `NOTIFY_SOCKET` it does nothing.

use std::time::{Duration, Instant};

use redline_engine::stage::StageStatus;
use sd_notify::NotifyState;

use crate::log::Log;

/// What has been told to systemd, and what the watchdog compares.
pub struct Notifier {
    stages: Vec<StageStatus>,
    /// Each stage's heartbeat at the last check.
    beats: Vec<u64>,
    ready: bool,
    /// Half the watchdog interval, when the watchdog is on.
    every: Option<Duration>,
    next: Instant,
    log: Log,
}

impl Notifier {
    /// A notifier watching `stages`; `None` when systemd is not listening.
    pub fn new(stages: &[StageStatus], now: Instant, log: Log) -> Option<Notifier> {
        std::env::var_os("NOTIFY_SOCKET")?;
        let every = watchdog_usec().map(|usec| Duration::from_micros(usec / 2));
        Some(Notifier {
            beats: stages.iter().map(StageStatus::heartbeat).collect(),
            stages: stages.to_vec(),
            ready: false,
            every,
            next: now + every.unwrap_or_default(),
            log,
        })
    }

    /// Called often (every few ms) from the main loop.
    pub fn tick(&mut self, now: Instant) {
        if !self.ready && self.advanced() {
            self.ready = true;
            self.notify(&[NotifyState::Ready, NotifyState::Status("trading")]);
        }
        let Some(every) = self.every else {
            return;
        };
        if self.ready && now >= self.next {
            self.next = now + every;
            if self.advanced() {
                self.notify(&[NotifyState::Watchdog]);
            }
        }
    }

    /// The engine is draining, on its way to stop.
    pub fn stopping(&self) {
        self.notify(&[NotifyState::Stopping, NotifyState::Status("draining")]);
    }

    /// Whether every stage's heartbeat moved since the last time it did;
    /// notes the new ones when so.
    fn advanced(&mut self) -> bool {
        let now: Vec<u64> = self.stages.iter().map(StageStatus::heartbeat).collect();
        let moved = now.iter().zip(&self.beats).all(|(now, then)| now > then);
        if moved {
            self.beats = now;
        }
        moved
    }
}

/// `WATCHDOG_USEC` when the watchdog is meant for this process: as
/// `sd_watchdog_enabled(3)`, `WATCHDOG_PID`, if set, must be ours.
fn watchdog_usec() -> Option<u64> {
    let usec = std::env::var("WATCHDOG_USEC").ok()?.parse().ok()?;
    match std::env::var("WATCHDOG_PID") {
        Ok(pid) if pid.parse() != Ok(std::process::id()) => None,
        _ => (usec > 0).then_some(usec),
    }
}

impl Notifier {
    fn notify(&self, state: &[NotifyState<'_>]) {
        if let Err(e) = sd_notify::notify(false, state) {
            self.log
                .warn("cannot notify systemd")
                .field("error", e.to_string())
                .emit();
        }
    }
}
