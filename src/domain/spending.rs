//! Spending ceilings of an API key: what a create may promise, decided from the amount asked and
//! what the tenant has already promised. The store takes the sums and runs the insert in one
//! transaction; the rule is here.

/// Seconds in the rolling window of the daily limit.
pub const DAY_SECS: u64 = 24 * 60 * 60;

/// Ceilings on what a key may promise; `None` is no ceiling. Amounts in msat.
///
/// The daily and outstanding sums are taken over the key's whole tenant, so two keys of one
/// tenant share them; each key's own ceilings are checked against those tenant-wide sums.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SpendingPolicy {
    /// Largest amount of one invoice request.
    pub max_per_request_msat: Option<u64>,
    /// Most promised over the last 24 hours: requests created in the window that are pending,
    /// open, paying or paid (disabled, expired and failed ones promised nothing payable).
    pub max_daily_msat: Option<u64>,
    /// Most outstanding at once: pending, open and paying requests that have not expired.
    pub max_outstanding_msat: Option<u64>,
}

impl SpendingPolicy {
    /// No ceiling at all.
    pub const UNLIMITED: Self = Self {
        max_per_request_msat: None,
        max_daily_msat: None,
        max_outstanding_msat: None,
    };

    /// Whether any ceiling is set.
    pub fn is_limited(&self) -> bool {
        *self != Self::UNLIMITED
    }

    /// Whether a decision needs the tenant's sums ([`Spending`]): a daily or outstanding ceiling.
    pub fn needs_sums(&self) -> bool {
        self.max_daily_msat.is_some() || self.max_outstanding_msat.is_some()
    }

    /// The per-request check (needs no store).
    ///
    /// # Errors
    /// [`Limit::PerRequest`] when `amount_msat` exceeds `max_per_request_msat`.
    pub fn check_amount(&self, amount_msat: u64) -> Result<(), LimitExceeded> {
        match self.max_per_request_msat {
            Some(max) if amount_msat > max => Err(LimitExceeded {
                limit: Limit::PerRequest,
                limit_msat: max,
                remaining_msat: max,
            }),
            _ => Ok(()),
        }
    }
}

impl SpendingPolicy {
    /// Whether a new request of `amount_msat` fits every ceiling given what the tenant has
    /// promised (`spent`): the per-request ceiling, then the daily, then the outstanding one.
    ///
    /// # Errors
    /// The first ceiling it would pass, with the headroom left under it.
    pub fn admits(&self, amount_msat: u64, spent: &Spending) -> Result<(), LimitExceeded> {
        self.check_amount(amount_msat)?;
        let checks = [
            (Limit::Daily, self.max_daily_msat, spent.daily_msat),
            (
                Limit::Outstanding,
                self.max_outstanding_msat,
                spent.outstanding_msat,
            ),
        ];
        for (limit, max, used) in checks {
            if let Some(max) = max
                && used.saturating_add(amount_msat) > max
            {
                return Err(LimitExceeded {
                    limit,
                    limit_msat: max,
                    remaining_msat: max.saturating_sub(used),
                });
            }
        }
        Ok(())
    }
}

/// Which ceiling a create would pass.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limit {
    /// `max_per_request_msat`.
    PerRequest,
    /// `max_daily_msat`.
    Daily,
    /// `max_outstanding_msat`.
    Outstanding,
}

/// A create refused by a spending ceiling, with the headroom left under it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("{limit:?} limit of {limit_msat}msat: {remaining_msat}msat remain")]
pub struct LimitExceeded {
    /// The ceiling.
    pub limit: Limit,
    /// Its value, msat.
    pub limit_msat: u64,
    /// The largest amount that would still pass it now, msat.
    pub remaining_msat: u64,
}

/// What a tenant has promised, msat.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Spending {
    /// Counted toward the daily ceiling.
    pub daily_msat: u64,
    /// Counted toward the outstanding ceiling.
    pub outstanding_msat: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_ceiling_decides_with_its_headroom() {
        let p = SpendingPolicy {
            max_per_request_msat: Some(100),
            max_daily_msat: Some(250),
            max_outstanding_msat: Some(150),
        };
        assert!(p.needs_sums());
        assert!(!SpendingPolicy::UNLIMITED.needs_sums());
        let none = Spending::default();
        assert_eq!(p.admits(100, &none), Ok(()));
        assert_eq!(p.admits(101, &none).unwrap_err().limit, Limit::PerRequest);
        let spent = Spending {
            daily_msat: 200,
            outstanding_msat: 0,
        };
        let e = p.admits(60, &spent).unwrap_err();
        assert_eq!(
            (e.limit, e.limit_msat, e.remaining_msat),
            (Limit::Daily, 250, 50)
        );
        assert_eq!(p.admits(50, &spent), Ok(()));
        let spent = Spending {
            daily_msat: 0,
            outstanding_msat: 100,
        };
        let e = p.admits(51, &spent).unwrap_err();
        assert_eq!(e.limit, Limit::Outstanding);
        assert_eq!(e.remaining_msat, 50);
        let full = Spending {
            daily_msat: u64::MAX,
            outstanding_msat: u64::MAX,
        };
        assert_eq!(p.admits(1, &full).unwrap_err().remaining_msat, 0);
        assert_eq!(SpendingPolicy::UNLIMITED.admits(u64::MAX, &full), Ok(()));
    }
}
