//! Fault knobs: what the next calls of a method suffer.

use std::collections::VecDeque;
use std::time::Duration;

use crate::rpc::RpcError;

/// What happens to one call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// Wait this long, then run the call (it runs even if the client left) and answer.
    DelayBefore(Duration),
    /// Run the call, then wait this long before answering.
    DelayAfter(Duration),
    /// Run the call, then close the connection without an answer.
    DropAnswer,
    /// Run the call, then answer with another validly signed invoice request in `bolt12` (a
    /// node that does not do what it was asked).
    ForeignAnswer,
    /// Close the connection without running the call (the request was lost on the way).
    LoseRequest,
    /// Answer with this RPC error (HTTP 500) without running the call.
    Fail(RpcError),
}

#[derive(Debug)]
struct Entry {
    method: Option<String>,
    remaining: usize,
    fault: Fault,
}

/// Pending faults, first matching entry first.
#[derive(Debug, Default)]
pub struct Faults {
    queue: VecDeque<Entry>,
}

impl Faults {
    /// Adds `n` occurrences of `fault` for `method` (`None`: any method but `wait`).
    pub fn push(&mut self, method: Option<&str>, n: usize, fault: Fault) {
        if n > 0 {
            self.queue.push_back(Entry {
                method: method.map(str::to_owned),
                remaining: n,
                fault,
            });
        }
    }

    /// Forgets them all.
    pub fn clear(&mut self) {
        self.queue.clear();
    }

    /// Takes the fault for one call of `method`, if any.
    pub fn take(&mut self, method: &str) -> Option<Fault> {
        let pos = self.queue.iter().position(|e| match &e.method {
            Some(m) => m == method,
            None => method != "wait",
        })?;
        let entry = &mut self.queue[pos];
        entry.remaining -= 1;
        let fault = entry.fault.clone();
        if entry.remaining == 0 {
            self.queue.remove(pos);
        }
        Some(fault)
    }
}
