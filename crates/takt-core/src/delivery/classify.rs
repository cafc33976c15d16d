//! An attempt's outcome, as a connector observed it, and what it means.

/// What happened when a connector tried to hand a message over.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AttemptOutcome {
    /// The destination answered (HTTP status; other connectors map their
    /// acknowledgement to 200 and their refusal to 4xx or 5xx).
    Answered {
        /// HTTP status code.
        status: u16,
        /// `Retry-After`, in ms, if the answer had one.
        retry_after_ms: Option<u64>,
    },
    /// No connection was made, so nothing was sent (refused, DNS, TLS).
    NotSent {
        /// The connector's description.
        reason: String,
    },
    /// The message may have been received, but no answer came: a timeout
    /// or a connection lost after sending.
    NoAnswer {
        /// The connector's description.
        reason: String,
    },
}

/// What an outcome means for the message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// The destination has it.
    Delivered,
    /// A transient failure: try again later.
    Retry {
        /// Why, for the attempt history.
        reason: String,
        /// What the destination asked for, in ms.
        retry_after_ms: Option<u64>,
    },
    /// The destination refused the message itself: retrying will not help.
    Refused {
        /// Why, for the dead-letter queue.
        reason: String,
    },
    /// It may or may not have arrived, and the destination cannot tell a
    /// resent message from a new one.
    InDoubt {
        /// Why, for the operator.
        reason: String,
    },
}

/// Classifies an outcome.
///
/// - 2xx: delivered.
/// - 408, 425, 429 and 5xx: retry (honouring `Retry-After`).
/// - 3xx: refused; redirects are not followed (a followed 301, 302 or 303
///   turns the posting into a GET without its body).
/// - Any other status (other 4xx, and 1xx, which a delivery never
///   expects): refused.
/// - Nothing sent: retry.
/// - No answer: retry when the destination de-duplicates on the idempotency
///   header (`idempotent`), in doubt otherwise.
pub fn classify(outcome: AttemptOutcome, idempotent: bool) -> Verdict {
    match outcome {
        AttemptOutcome::Answered { status, .. } if (200..300).contains(&status) => {
            Verdict::Delivered
        }
        AttemptOutcome::Answered {
            status,
            retry_after_ms,
        } if matches!(status, 408 | 425 | 429) || (500..600).contains(&status) => Verdict::Retry {
            reason: format!("the destination answered {status}"),
            retry_after_ms,
        },
        // Redirects are not followed: a client following a 301, 302 or 303
        // sends the next request as a GET without the body, and a 200 to
        // that GET would count as delivered while nothing was posted.
        AttemptOutcome::Answered { status, .. } if (300..400).contains(&status) => {
            Verdict::Refused {
                reason: format!(
                    "the destination answered {status}, a redirect, which is not followed for a delivery: \
                     point the connector's url at the address in Location (kept with the answer)"
                ),
            }
        }
        AttemptOutcome::Answered { status, .. } => Verdict::Refused {
            reason: format!("the destination refused the message with {status}"),
        },
        AttemptOutcome::NotSent { reason } => Verdict::Retry {
            reason: format!("not sent: {reason}"),
            retry_after_ms: None,
        },
        AttemptOutcome::NoAnswer { reason } if idempotent => Verdict::Retry {
            reason: format!("no answer: {reason}"),
            retry_after_ms: None,
        },
        AttemptOutcome::NoAnswer { reason } => Verdict::InDoubt {
            reason: format!(
                "no answer ({reason}) from a destination that cannot de-duplicate: \
                 it may have received the message"
            ),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answered(status: u16) -> Verdict {
        classify(
            AttemptOutcome::Answered {
                status,
                retry_after_ms: None,
            },
            true,
        )
    }

    #[test]
    fn statuses_are_classified() {
        assert_eq!(answered(201), Verdict::Delivered);
        assert!(matches!(answered(429), Verdict::Retry { .. }));
        assert!(matches!(answered(503), Verdict::Retry { .. }));
        assert!(
            matches!(answered(422), Verdict::Refused { reason } if reason.contains("refused the message with 422"))
        );
        for status in [301, 302, 303, 307, 308] {
            assert!(
                matches!(answered(status), Verdict::Refused { reason } if reason.contains("redirect")),
                "{status}"
            );
        }
    }
}
