//! The one lifecycle of an invoice request: its statuses, the moves between them, what `active`
//! and `used` mean, and the money rules that pick a move (payments as the node made them,
//! notes/cln-e2e.md F1–F2).
//!
//! Every status change goes through a [`Move`], built only by [`Move::new`] (which checks it
//! against [`allowed`]) and applied by the store in one transaction. The store's status filters
//! are written from [`Status::LIVE`] and friends here ([`sql_status_in`]), so "active" has one
//! definition: [`is_active`].
//!
//! ```text
//! pending ──► open ◄──► paying
//!    │         │  ╲       │
//!    ▼         ▼   ╲      ▼
//! failed   disabled expired, paid   (disabled → paid and expired → paid: a payment completed late)
//! ```
//! The full diagram is in `docs/architecture.md`; a test checks it against [`allowed`].

use serde::{Deserialize, Serialize};

/// Where an invoice request stands.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Written before the node was asked; settled by the node's answer or the reconciler.
    Pending,
    /// Active: the node will pay an invoice for it (until its `absolute_expiry`).
    Open,
    /// A payment for it is in flight.
    Paying,
    /// Paid (single-use: no further payment possible).
    Paid,
    /// Disabled by the client.
    Disabled,
    /// Its absolute_expiry has passed.
    Expired,
    /// The node never created it; it was never handed out.
    Failed,
}

impl Status {
    /// Every status, in lifecycle order.
    pub const ALL: [Status; 7] = [
        Status::Pending,
        Status::Open,
        Status::Paying,
        Status::Paid,
        Status::Disabled,
        Status::Expired,
        Status::Failed,
    ];

    /// The statuses in which the node pays an invoice for the request (until it expires):
    /// see [`is_active`].
    pub const LIVE: [Status; 2] = [Status::Open, Status::Paying];

    /// The statuses that may still become payable or are payable: they count toward a key's
    /// "outstanding" limit (pending ones too, so a burst of creates cannot pass it).
    pub const OUTSTANDING: [Status; 3] = [Status::Pending, Status::Open, Status::Paying];

    /// The statuses whose amount was promised payable: they count toward a key's daily spend
    /// (disabled, expired and failed ones promised nothing payable).
    pub const PROMISED: [Status; 4] = [Status::Pending, Status::Open, Status::Paying, Status::Paid];

    /// The name stored in the database and shown in the API.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pending => "pending",
            Status::Open => "open",
            Status::Paying => "paying",
            Status::Paid => "paid",
            Status::Disabled => "disabled",
            Status::Expired => "expired",
            Status::Failed => "failed",
        }
    }

    /// Reads a stored name.
    pub fn parse(s: &str) -> Option<Self> {
        Status::ALL.into_iter().find(|st| st.as_str() == s)
    }

    /// Whether the node pays an invoice for a request in this status (ignoring expiry).
    pub fn is_live(self) -> bool {
        Status::LIVE.contains(&self)
    }
}

/// The one definition of "active": live ([`Status::LIVE`]) and not past its
/// `absolute_expiry` (seconds since 1970) at `now`. A `paying` request past its expiry is not
/// active: it shows `expired` (the sweeper disables it on the node once its payment settles).
pub fn is_active(status: Status, absolute_expiry: Option<u64>, now: u64) -> bool {
    status.is_live() && absolute_expiry.is_none_or(|e| e > now)
}

/// The status the API shows at `now`: a live request past its expiry is `expired` from that
/// instant, before the sweeper has run.
pub fn effective_status(status: Status, absolute_expiry: Option<u64>, now: u64) -> Status {
    if status.is_live() && !is_active(status, absolute_expiry, now) {
        Status::Expired
    } else {
        status
    }
}

/// SQL condition `status IN ('a', 'b')` over the `status` column, from the names above
/// (static text: nothing from outside goes in).
pub fn sql_status_in(statuses: &[Status]) -> String {
    let names: Vec<String> = statuses
        .iter()
        .map(|s| format!("'{}'", s.as_str()))
        .collect();
    format!("status IN ({})", names.join(", "))
}

/// SQL condition for [`is_active`], with `now` (seconds since 1970) bound as placeholder `$n`.
pub fn sql_active(n: usize) -> String {
    format!(
        "{} AND (absolute_expiry IS NULL OR absolute_expiry > ${n})",
        sql_status_in(&Status::LIVE)
    )
}

/// Whether the lifecycle allows a request in `from` to move to `to`.
///
/// A move to the same status is allowed only where `used` can still change (a multi-use
/// request paid while open, paying, disabled or expired).
pub fn allowed(from: Status, to: Status) -> bool {
    use Status::*;
    matches!(
        (from, to),
        (Pending, Open | Failed)
            | (Open, Open | Paying | Paid | Disabled | Expired | Failed)
            | (Paying, Paying | Open | Paid | Disabled | Expired)
            | (Disabled, Disabled | Paid)
            | (Expired, Expired | Paid)
    )
}

/// A move the lifecycle refuses.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidMove {
    /// No move from this status to that one.
    #[error("an invoice request cannot move from {} to {}", .from.as_str(), .to.as_str())]
    Transition {
        /// Where it stands.
        from: Status,
        /// Where it was to go.
        to: Status,
    },
    /// `used` contradicts the move (`paid` is used; `pending` and `failed` are not, nor is a
    /// request that leaves `pending`).
    #[error("an invoice request cannot be {} with used = {used}", .to.as_str())]
    Used {
        /// Where it was to go.
        to: Status,
        /// The `used` asked for.
        used: bool,
    },
}

/// A checked status change: from any of `from` (compare-and-set on the stored status) to `to`,
/// with `active` and `used` as the lifecycle says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Move {
    from: Vec<Status>,
    to: Status,
    used: bool,
}

impl Move {
    /// A move from any of `from` to `to`, leaving `used` as given.
    ///
    /// # Errors
    /// [`InvalidMove`] when a `from → to` pair is not [`allowed`], or `used` contradicts `to`.
    pub fn new(from: &[Status], to: Status, used: bool) -> Result<Self, InvalidMove> {
        if let Some(&bad) = from.iter().find(|&&f| !allowed(f, to)) {
            return Err(InvalidMove::Transition { from: bad, to });
        }
        // Nothing is paid before the node holds it: a pending request leaves unused.
        let used_ok = match to {
            Status::Paid => used,
            Status::Pending | Status::Failed => !used,
            _ => !(used && from.contains(&Status::Pending)),
        };
        if !used_ok {
            return Err(InvalidMove::Used { to, used });
        }
        Ok(Self {
            from: from.to_vec(),
            to,
            used,
        })
    }

    /// The statuses it moves from.
    pub fn from(&self) -> &[Status] {
        &self.from
    }

    /// The status it moves to.
    pub fn to(&self) -> Status {
        self.to
    }

    /// `active` after the move: whether the node pays for it (a live status).
    pub fn active(&self) -> bool {
        self.to.is_live()
    }

    /// `used` after the move.
    pub fn used(&self) -> bool {
        self.used
    }

    /// The same move from `status` alone, if it is one of [`Move::from`]: a narrower
    /// compare-and-set, for a caller that knows exactly where the request stands (and says
    /// what the move means, e.g. in an event). `None` when the move does not start there.
    pub fn only_from(&self, status: Status) -> Option<Self> {
        self.from.contains(&status).then(|| Self {
            from: vec![status],
            to: self.to,
            used: self.used,
        })
    }

    /// A pending request the node now holds: `open`.
    pub fn created() -> Self {
        Self::new(&[Status::Pending], Status::Open, false).expect("pending → open")
    }

    /// A pending request the node never made (its label and key are free from then on).
    pub fn failed() -> Self {
        Self::new(&[Status::Pending], Status::Failed, false).expect("pending → failed")
    }

    /// An `open` request withdrawn before it was handed to anyone (the dev signer's create
    /// whose claim token could not be issued): `failed`, as if never made.
    pub fn withdrawn() -> Self {
        Self::new(&[Status::Open], Status::Failed, false).expect("open → failed")
    }
}

/// Where a payment stands, from its parts (CLN's `listsendpays` statuses).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PaymentStatus {
    /// At least one part completed: the payee has the money.
    Complete,
    /// None completed, at least one in flight.
    Pending,
    /// Every part failed: no money moved.
    Failed,
}

impl PaymentStatus {
    /// Every payment status.
    pub const ALL: [PaymentStatus; 3] = [
        PaymentStatus::Complete,
        PaymentStatus::Pending,
        PaymentStatus::Failed,
    ];

    /// `complete`, `pending` or `failed`, as CLN spells them.
    pub fn as_str(self) -> &'static str {
        match self {
            PaymentStatus::Complete => "complete",
            PaymentStatus::Pending => "pending",
            PaymentStatus::Failed => "failed",
        }
    }

    /// Reads CLN's (and the store's) spelling.
    pub fn parse(s: &str) -> Option<Self> {
        PaymentStatus::ALL.into_iter().find(|p| p.as_str() == s)
    }
}

/// The money rule: where a request goes after its recorded payments (as a whole) say
/// `complete` (some payment completed) and `pending` (some is in flight); `None` when nothing
/// changes. A completed payment makes it `used` (single-use: `paid`, whatever its status);
/// else one in flight makes a live request `paying`; else a `paying` one is `open` again.
/// Pending and failed requests are not followed (the node never paid them).
pub fn after_payments(
    status: Status,
    active: bool,
    used: bool,
    single_use: bool,
    complete: bool,
    pending: bool,
) -> Option<Move> {
    let used_now = used || complete;
    let to = match status {
        Status::Pending | Status::Failed => return None,
        _ if single_use && complete => Status::Paid,
        Status::Open | Status::Paying if pending => Status::Paying,
        Status::Open | Status::Paying => Status::Open,
        other => other,
    };
    if (to, to.is_live(), used_now) == (status, active, used) {
        return None;
    }
    Move::new(&[status], to, used_now).ok()
}

/// Where a live request goes that its node no longer holds active (paid, disabled elsewhere,
/// or inactive when a disable was asked): `paid` if the node says used, else `disabled`.
pub fn after_node_inactive(used: bool) -> Move {
    let to = if used { Status::Paid } else { Status::Disabled };
    Move::new(&Status::LIVE, to, used).expect("live → paid or disabled")
}

/// Where an expired live request goes once the node no longer pays it: `paid` when a
/// single-use request was paid before it expired, else `expired` (`used` kept).
pub fn after_expiry(single_use: bool, used_on_node: bool, used: bool) -> Move {
    let to = if used_on_node && single_use {
        Status::Paid
    } else {
        Status::Expired
    };
    Move::new(&Status::LIVE, to, used_on_node || used).expect("live → paid or expired")
}

/// Why a disable is refused before the node is asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DisableRefused {
    /// It is not active (paid, disabled, expired, failed, or not yet created).
    Inactive,
    /// A payment is in flight: disabling now would crash CLN v26.06.6 when it completes
    /// (notes/cln-e2e.md F1); the client tries again later (409 `payment_in_flight`).
    PaymentInFlight,
}

/// Whether a request in `status` (as shown now, expiry applied) may be disabled.
///
/// # Errors
/// [`DisableRefused`] says why not.
pub fn check_disable(status: Status) -> Result<(), DisableRefused> {
    match status {
        Status::Open => Ok(()),
        Status::Paying => Err(DisableRefused::PaymentInFlight),
        _ => Err(DisableRefused::Inactive),
    }
}

/// The move of a disable the node carried out (`used` as the node reports it). From either
/// live status: the store's compare-and-set is the arbiter between concurrent disables.
pub fn disabled(used: bool) -> Move {
    Move::new(&Status::LIVE, Status::Disabled, used).expect("live → disabled")
}

#[cfg(test)]
mod tests {
    use super::*;
    use Status::*;

    /// Every allowed move, written out: the table `allowed` must match exactly.
    const MOVES: &[(Status, Status)] = &[
        (Pending, Open),
        (Pending, Failed),
        (Open, Open),
        (Open, Paying),
        (Open, Paid),
        (Open, Disabled),
        (Open, Expired),
        (Open, Failed),
        (Paying, Paying),
        (Paying, Open),
        (Paying, Paid),
        (Paying, Disabled),
        (Paying, Expired),
        (Disabled, Disabled),
        (Disabled, Paid),
        (Expired, Expired),
        (Expired, Paid),
    ];

    #[test]
    fn every_status_pair_is_allowed_or_forbidden_as_the_table_says() {
        let mut checked = 0;
        for from in Status::ALL {
            for to in Status::ALL {
                let listed = MOVES.contains(&(from, to));
                assert_eq!(allowed(from, to), listed, "{from:?} → {to:?}");
                let used = to == Paid;
                assert_eq!(
                    Move::new(&[from], to, used).is_ok(),
                    listed,
                    "{from:?} → {to:?}"
                );
                if !listed {
                    assert_eq!(
                        Move::new(&[from], to, used),
                        Err(InvalidMove::Transition { from, to })
                    );
                }
                checked += 1;
            }
        }
        assert_eq!(checked, 49);
        // Terminal statuses go nowhere.
        for to in Status::ALL {
            assert!(!allowed(Paid, to) && !allowed(Failed, to), "{to:?}");
        }
        assert_eq!(Move::withdrawn().to(), Failed);
    }

    /// `docs/architecture.md`'s status diagram has an arrow for every allowed move and for
    /// nothing else.
    #[test]
    fn the_documented_diagram_is_the_lifecycle() {
        let doc = include_str!("../../docs/architecture.md");
        let diagram = doc
            .split("```mermaid\nstateDiagram-v2\n")
            .nth(1)
            .and_then(|rest| rest.split("```").next())
            .expect("a stateDiagram-v2 block");
        let mut drawn = std::collections::BTreeSet::new();
        for line in diagram.lines() {
            let arrow = line.split(':').next().unwrap_or("").trim();
            let Some((from, to)) = arrow.split_once(" --> ") else {
                continue;
            };
            if from == "[*]" {
                assert_eq!(to, "pending", "requests start pending");
                continue;
            }
            let parse = |s: &str| Status::parse(s).unwrap_or_else(|| panic!("status {s:?}"));
            assert!(drawn.insert((parse(from), parse(to))), "{line} drawn twice");
        }
        let allowed: std::collections::BTreeSet<_> = MOVES.iter().copied().collect();
        assert_eq!(drawn, allowed);
    }

    #[test]
    fn used_must_agree_with_the_target() {
        assert!(Move::new(&[Open], Paid, false).is_err());
        assert!(Move::new(&[Pending], Failed, true).is_err());
        assert!(Move::new(&[Pending], Open, true).is_err());
        assert!(Move::new(&[Open], Disabled, true).is_ok());
        assert!(Move::new(&[Open, Paying], Expired, true).is_ok());
        assert_eq!(
            Move::new(&[Open, Pending], Paying, false),
            Err(InvalidMove::Transition {
                from: Pending,
                to: Paying
            })
        );
    }

    #[test]
    fn active_is_live_and_unexpired() {
        for s in Status::ALL {
            assert_eq!(is_active(s, None, 100), matches!(s, Open | Paying), "{s:?}");
            assert!(!is_active(s, Some(100), 100), "{s:?} at its expiry");
            assert_eq!(is_active(s, Some(101), 100), s.is_live());
        }
        // The case of two definitions: paying past its expiry is neither active nor shown so.
        assert!(!is_active(Paying, Some(50), 100));
        assert_eq!(effective_status(Paying, Some(50), 100), Expired);
        assert_eq!(effective_status(Paid, Some(50), 100), Paid);
        assert_eq!(effective_status(Open, Some(150), 100), Open);
        // A move's `active` is the same rule.
        for (from, to) in MOVES {
            let m = Move::new(&[*from], *to, *to == Paid).unwrap();
            assert_eq!(m.active(), is_active(*to, None, 0));
        }
    }

    #[test]
    fn sql_filters_come_from_the_status_names() {
        assert_eq!(sql_status_in(&Status::LIVE), "status IN ('open', 'paying')");
        assert_eq!(
            sql_active(3),
            "status IN ('open', 'paying') AND (absolute_expiry IS NULL OR absolute_expiry > $3)"
        );
        for s in Status::ALL {
            assert_eq!(Status::parse(s.as_str()), Some(s));
        }
        for p in PaymentStatus::ALL {
            assert_eq!(PaymentStatus::parse(p.as_str()), Some(p));
        }
        assert_eq!(Status::parse("active"), None);
        assert_eq!(PaymentStatus::parse("paid"), None);
    }

    #[test]
    fn payments_move_requests_as_the_money_moved() {
        // (status, active, used, single_use, complete, pending) → (to, used) or no move.
        type Case = (
            (Status, bool, bool, bool, bool, bool),
            Option<(Status, bool)>,
        );
        let cases: &[Case] = &[
            (
                (Open, true, false, true, false, true),
                Some((Paying, false)),
            ),
            (
                (Paying, true, false, true, false, false),
                Some((Open, false)),
            ),
            ((Paying, true, false, true, true, false), Some((Paid, true))),
            ((Open, true, false, true, true, true), Some((Paid, true))),
            // Late completions still count (money moved): disabled or expired → paid.
            (
                (Disabled, false, false, true, true, false),
                Some((Paid, true)),
            ),
            (
                (Expired, false, false, true, true, false),
                Some((Paid, true)),
            ),
            // Multi-use: used, still open.
            ((Open, true, false, false, true, false), Some((Open, true))),
            (
                (Paying, true, false, false, true, false),
                Some((Open, true)),
            ),
            (
                (Disabled, false, false, false, true, false),
                Some((Disabled, true)),
            ),
            // Nothing changes.
            ((Open, true, false, true, false, false), None),
            ((Paying, true, false, true, false, true), None),
            ((Paid, false, true, true, true, false), None),
            ((Disabled, false, false, true, false, true), None),
            // Never followed: not created, or failed (its label freed).
            ((Pending, false, false, true, true, false), None),
            ((Failed, false, false, true, true, false), None),
        ];
        for &((status, active, used, single, complete, pending), want) in cases {
            let got = after_payments(status, active, used, single, complete, pending)
                .map(|m| (m.to(), m.used()));
            assert_eq!(
                got, want,
                "{status:?} single={single} complete={complete} pending={pending}"
            );
        }
    }

    #[test]
    fn disable_and_expiry_rules() {
        assert_eq!(check_disable(Open), Ok(()));
        assert_eq!(disabled(true).from(), &[Open, Paying]);
        assert_eq!(
            (disabled(false).to(), disabled(false).active()),
            (Disabled, false)
        );
        assert_eq!(check_disable(Paying), Err(DisableRefused::PaymentInFlight));
        for s in [Pending, Paid, Disabled, Expired, Failed] {
            assert_eq!(check_disable(s), Err(DisableRefused::Inactive), "{s:?}");
        }
        assert_eq!(after_node_inactive(true).to(), Paid);
        assert_eq!(after_node_inactive(false).to(), Disabled);
        assert_eq!(after_expiry(true, true, false).to(), Paid);
        let m = after_expiry(false, true, false);
        assert_eq!((m.to(), m.used(), m.active()), (Expired, true, false));
        assert_eq!(after_expiry(true, false, false).to(), Expired);
    }
}
