//! How the payment watcher fares, as `/readyz` reports it.

use super::Service;

/// How the payment watcher fares, for `/readyz`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PaymentWatch {
    /// No round has ended yet.
    Starting,
    /// The last round read the node's payments.
    Ok,
    /// The last round failed, of this kind ([`NodeError::kind`], or `store`).
    Failing(&'static str),
}

impl Service {
    /// How the payment watcher's last round ended.
    pub fn payment_watch(&self) -> PaymentWatch {
        *self.payment_watch.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Records how a payment watcher round ended (`Starting` when the watcher stops).
    pub fn set_payment_watch(&self, state: PaymentWatch) {
        *self.payment_watch.lock().unwrap_or_else(|e| e.into_inner()) = state;
    }
}
