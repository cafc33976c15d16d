//! The circuit breaker of one destination.

use takt_model::delivery::CircuitPolicy;

/// Where a circuit stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CircuitState {
    /// Calls go out; this many retryable failures in a row so far.
    Closed {
        /// Consecutive retryable failures.
        failures: u32,
    },
    /// No calls until this instant (ms since the epoch).
    Open {
        /// When a probe may go out.
        until_ms: i64,
    },
    /// One probe is out; its result closes or re-opens the circuit.
    HalfOpen,
}

/// A circuit breaker: it opens after `policy.failures` retryable failures in
/// a row, stays open for `policy.open_ms`, then lets one probe through.
#[derive(Debug, Clone)]
pub struct Circuit {
    policy: CircuitPolicy,
    state: CircuitState,
}

impl Circuit {
    /// A closed circuit.
    pub fn new(policy: CircuitPolicy) -> Self {
        Self {
            policy,
            state: CircuitState::Closed { failures: 0 },
        }
    }

    /// The current state.
    pub fn state(&self) -> CircuitState {
        self.state
    }

    /// Whether a call may go out now. An open circuit whose time is up lets
    /// exactly one probe through (and is half-open until its result).
    pub fn try_call(&mut self, now_ms: i64) -> bool {
        match self.state {
            CircuitState::Closed { .. } => true,
            CircuitState::Open { until_ms } if now_ms >= until_ms => {
                self.state = CircuitState::HalfOpen;
                true
            }
            CircuitState::Open { .. } | CircuitState::HalfOpen => false,
        }
    }

    /// Records a call that reached the destination and was not a transient
    /// failure (delivered, or refused for the message's own sake).
    pub fn success(&mut self) {
        self.state = CircuitState::Closed { failures: 0 };
    }

    /// Records a transient failure (5xx, 429, timeout, no connection).
    pub fn failure(&mut self, now_ms: i64) {
        let open = CircuitState::Open {
            until_ms: now_ms.saturating_add(i64::try_from(self.policy.open_ms).unwrap_or(i64::MAX)),
        };
        self.state = match self.state {
            CircuitState::HalfOpen => open,
            CircuitState::Closed { failures } => {
                let failures = failures.saturating_add(1);
                if self.policy.failures > 0 && failures >= self.policy.failures {
                    open
                } else {
                    CircuitState::Closed { failures }
                }
            }
            state @ CircuitState::Open { .. } => state,
        };
    }
}
