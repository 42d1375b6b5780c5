//! The FIX venue as the control plane sees it: what the gateway
//! publishes, where it connects, and health's judgement of it (the
//! `venue` component of `/health` and a reason for `/health/ready`).

use std::sync::Arc;

use redline_engine::venue::fix::{LinkCount, LinkReport, LinkState, LinkStats};

use super::health::Status;

/// The FIX gateway's link, when the venue is a FIX one.
#[derive(Debug, Clone)]
pub struct VenueLink {
    /// What the gateway publishes.
    pub stats: Arc<LinkStats>,
    /// `venue.fix.connect`.
    pub address: String,
    /// `venue.fix.target_comp_id`.
    pub target: String,
}

impl VenueLink {
    /// Its status and message on `report` (what it published, as sampled),
    /// and why it keeps the engine from trading, if it does.
    pub fn judge(&self, report: &LinkReport) -> (Status, String, Option<String>) {
        judge(report, &self.address, &self.target)
    }
}

fn judge(r: &LinkReport, address: &str, target: &str) -> (Status, String, Option<String>) {
    let open = r.open_orders;
    let said = match r.venue_said() {
        text if text.is_empty() => String::new(),
        text => format!(" (the venue said {text:?})"),
    };
    let last = r.last_end.map_or_else(String::new, |end| {
        format!("; last down: {}{said}", end.describe())
    });
    let doubts = [
        (LinkCount::BadReports, "reports unreadable"),
        (LinkCount::SessionRejects, "messages rejected by the venue"),
        (LinkCount::OffTickPrices, "fills between ticks, rounded"),
        (LinkCount::LostOrders, "orders lost with a connection"),
        (
            LinkCount::RecoveredOrders,
            "orders taken back at the start that the last run's journal never got",
        ),
        (
            LinkCount::RecoveredReports,
            "reports taken back at the start that the last run's journal never got",
        ),
        (
            LinkCount::StatusUnanswered,
            "order status requests the venue refused or left unanswered",
        ),
        (
            LinkCount::StatusUnknownOrders,
            "orders live at the venue that the engine did not know (cancelled)",
        ),
        (
            LinkCount::StatusEndedOrders,
            "orders open here that the venue had ended",
        ),
        (
            LinkCount::StatusLeavesDiffer,
            "orders with other lots left at the venue",
        ),
        (
            LinkCount::StatusMissingOrders,
            "orders open here that the venue's status left out",
        ),
        (
            LinkCount::StrayFills,
            "fills of orders not held open (missing from the positions)",
        ),
    ]
    .iter()
    .filter(|(count, _)| r.get(*count) > 0)
    .map(|(count, words)| format!("; {} {words}", r.get(*count)))
    .collect::<String>();
    match r.state {
        LinkState::Active => (
            Status::Healthy,
            format!(
                "FIX session with {target} at {address} logged on; next MsgSeqNum out {}, in {}; \
                 {open} orders open{doubts}",
                r.next_out, r.next_in
            ),
            None,
        ),
        LinkState::LoggingOut => (
            Status::Degraded,
            format!("FIX session with {target} at {address} logging out; {open} orders open"),
            Some("venue: logging out".into()),
        ),
        state => {
            let doing = match state {
                LinkState::Connecting => "connecting",
                LinkState::LoggingOn => "connected, logging on",
                _ => "not connected, waiting to try again",
            };
            let orders = if open > 0 {
                format!(
                    "; {open} orders open, as the venue last said (it says what became of them \
                     once logged on again)"
                )
            } else {
                String::new()
            };
            (
                Status::Unhealthy,
                format!(
                    "FIX venue {target} at {address}: {doing} ({} connections made, {} attempts \
                     failed){last}; new orders are refused VENUE_DOWN{orders}{doubts}",
                    r.get(LinkCount::Connects),
                    r.get(LinkCount::ConnectFailures),
                ),
                Some(format!("venue: no FIX session logged on ({doing})")),
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use redline_engine::venue::fix::{End, LinkEnd};

    #[test]
    fn a_logged_on_session_is_healthy_and_a_lost_one_not_ready() {
        let mut r = LinkReport {
            state: LinkState::Active,
            next_out: 12,
            next_in: 40,
            open_orders: 3,
            ..LinkReport::default()
        };
        let (status, message, unready) = judge(&r, "10.0.0.7:9878", "XNAS");
        assert_eq!(status, Status::Healthy);
        assert_eq!(
            message,
            "FIX session with XNAS at 10.0.0.7:9878 logged on; next MsgSeqNum out 12, in 40; 3 \
             orders open"
        );
        assert_eq!(unready, None);
        r.state = LinkState::Disconnected;
        r.last_end = Some(LinkEnd::Session(End::LogonRefused));
        let said = b"bad password";
        r.venue_text[..said.len()].copy_from_slice(said);
        r.venue_text_len = said.len();
        r.bump(LinkCount::Connects);
        r.bump(LinkCount::BadReports);
        r.bump(LinkCount::LostOrders);
        let (status, message, unready) = judge(&r, "10.0.0.7:9878", "XNAS");
        assert_eq!(status, Status::Unhealthy);
        assert!(
            message.contains("not connected, waiting to try again (1 connections made")
                && message.contains(
                    "last down: the venue answered the Logon with a Logout (check \
                     venue.fix.username and its password) (the venue said \"bad password\")"
                )
                && message.contains("3 orders open, as the venue last said")
                && message.contains("1 reports unreadable")
                && message.contains("1 orders lost with a connection"),
            "{message}"
        );
        assert_eq!(
            unready.as_deref(),
            Some("venue: no FIX session logged on (not connected, waiting to try again)")
        );
    }
}
