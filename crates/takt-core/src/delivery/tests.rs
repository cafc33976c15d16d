use std::collections::HashSet;

use proptest::prelude::*;
use takt_model::delivery::{Backoff, CircuitPolicy, DeliveryPolicy, OnExhausted};

use super::*;

const NOW: i64 = 1_764_000_000_000;

fn answered(status: u16) -> AttemptOutcome {
    AttemptOutcome::Answered {
        status,
        retry_after_ms: None,
    }
}

#[test]
fn responses_are_classified_by_status() {
    for status in [200, 201, 202, 204] {
        assert_eq!(classify(answered(status), true), Verdict::Delivered);
    }
    for status in [408, 425, 429, 500, 502, 503, 504] {
        assert!(
            matches!(classify(answered(status), true), Verdict::Retry { .. }),
            "{status}"
        );
    }
    for status in [301, 400, 401, 403, 404, 409, 410, 422] {
        let Verdict::Refused { reason } = classify(answered(status), true) else {
            panic!("{status} must be refused")
        };
        assert!(reason.contains(&status.to_string()), "{reason}");
    }
}

#[test]
fn a_lost_answer_is_retried_only_where_the_destination_de_duplicates() {
    let lost = || AttemptOutcome::NoAnswer {
        reason: "connection reset after the request was sent".into(),
    };
    assert!(matches!(classify(lost(), true), Verdict::Retry { .. }));
    let Verdict::InDoubt { reason } = classify(lost(), false) else {
        panic!("a non-idempotent destination's lost answer is in doubt")
    };
    assert!(reason.contains("connection reset"), "{reason}");
    // Nothing was sent: safe to retry either way.
    let refused = AttemptOutcome::NotSent {
        reason: "connection refused".into(),
    };
    assert!(matches!(classify(refused, false), Verdict::Retry { .. }));
}

#[test]
fn backoff_doubles_up_to_the_ceiling() {
    let backoff = Backoff {
        base_ms: 500,
        max_ms: 10_000,
        jitter: 0.0,
    };
    let delays: Vec<u64> = (1..=7).map(|a| retry_delay_ms(&backoff, a, 0.5)).collect();
    assert_eq!(delays, [500, 1_000, 2_000, 4_000, 8_000, 10_000, 10_000]);
    assert_eq!(retry_delay_ms(&backoff, 1_000, 0.5), 10_000, "no overflow");
}

#[test]
fn retry_after_is_honoured_up_to_its_cap() {
    let policy = DeliveryPolicy {
        retry_after_max_ms: 60_000,
        backoff: Backoff {
            base_ms: 100,
            max_ms: 1_000,
            jitter: 0.0,
        },
        ..DeliveryPolicy::default()
    };
    let retry = |retry_after_ms| Verdict::Retry {
        reason: "503".into(),
        retry_after_ms,
    };
    assert_eq!(
        next_step(&policy, 1, retry(Some(30_000)), NOW, 0.5),
        NextStep::RetryAt(NOW + 30_000)
    );
    assert_eq!(
        next_step(&policy, 1, retry(Some(86_400_000)), NOW, 0.5),
        NextStep::RetryAt(NOW + 60_000),
        "a day-long Retry-After is cut to the cap"
    );
    assert_eq!(
        next_step(&policy, 1, retry(Some(10)), NOW, 0.5),
        NextStep::RetryAt(NOW + 100),
        "never sooner than the backoff"
    );
    let ignoring = DeliveryPolicy {
        honour_retry_after: false,
        ..policy
    };
    assert_eq!(
        next_step(&ignoring, 1, retry(Some(30_000)), NOW, 0.5),
        NextStep::RetryAt(NOW + 100)
    );
}

#[test]
fn exhausted_and_refused_messages_are_dead_lettered_and_park_per_policy() {
    let policy = DeliveryPolicy {
        max_attempts: 3,
        ..DeliveryPolicy::default()
    };
    let retry = || Verdict::Retry {
        reason: "the destination answered 500".into(),
        retry_after_ms: None,
    };
    assert!(matches!(
        next_step(&policy, 2, retry(), NOW, 0.0),
        NextStep::RetryAt(_)
    ));
    assert_eq!(
        next_step(&policy, 3, retry(), NOW, 0.0),
        NextStep::DeadLetter {
            reason: "gave up after 3 attempts: the destination answered 500".into(),
            park_key: false
        }
    );
    let parking = DeliveryPolicy {
        on_exhausted: OnExhausted::ParkKey,
        ..policy
    };
    let refused = Verdict::Refused {
        reason: "the destination refused the message with 422".into(),
    };
    assert_eq!(
        next_step(&parking, 1, refused, NOW, 0.0),
        NextStep::DeadLetter {
            reason: "the destination refused the message with 422".into(),
            park_key: true
        }
    );
}

#[test]
fn the_circuit_opens_after_consecutive_failures_and_probes_once() {
    let mut circuit = Circuit::new(CircuitPolicy {
        failures: 3,
        open_ms: 1_000,
    });
    circuit.failure(NOW);
    circuit.success();
    circuit.failure(NOW);
    circuit.failure(NOW);
    assert!(
        circuit.try_call(NOW),
        "a success in between reset the count"
    );
    circuit.failure(NOW);
    assert_eq!(
        circuit.state(),
        CircuitState::Open {
            until_ms: NOW + 1_000
        }
    );
    assert!(!circuit.try_call(NOW + 999));
    assert!(circuit.try_call(NOW + 1_000), "one probe after open_ms");
    assert!(!circuit.try_call(NOW + 1_000), "only one probe at a time");
    circuit.failure(NOW + 1_100);
    assert_eq!(
        circuit.state(),
        CircuitState::Open {
            until_ms: NOW + 2_100
        },
        "a failed probe re-opens it"
    );
    assert!(circuit.try_call(NOW + 2_100));
    circuit.success();
    assert_eq!(circuit.state(), CircuitState::Closed { failures: 0 });
}

#[test]
fn a_key_goes_one_message_at_a_time_in_accepted_order() {
    let pending = [
        Pending { seq: 1, key: "a" },
        Pending { seq: 2, key: "a" },
        Pending { seq: 3, key: "b" },
        Pending { seq: 4, key: "c" },
        Pending { seq: 5, key: "b" },
    ];
    assert_eq!(deliverable(pending.clone(), &HashSet::new(), 10), [1, 3, 4]);
    assert_eq!(
        deliverable(pending.clone(), &HashSet::from(["a"]), 10),
        [3, 4]
    );
    assert_eq!(deliverable(pending, &HashSet::new(), 2), [1, 3]);
}

proptest! {
    #[test]
    fn delays_stay_within_the_jitter_and_the_ceiling(
        base in 1u64..10_000, max in 1u64..1_000_000, jitter in 0.0f64..=1.0,
        attempt in 1u32..100, random in 0.0f64..1.0,
    ) {
        let backoff = Backoff { base_ms: base.min(max), max_ms: max, jitter };
        let plain = retry_delay_ms(&Backoff { jitter: 0.0, ..backoff }, attempt, random);
        let delay = retry_delay_ms(&backoff, attempt, random);
        prop_assert!(delay <= max);
        #[allow(clippy::cast_precision_loss)]
        let (low, high) = (plain as f64 * (1.0 - jitter) - 1.0, plain as f64 * (1.0 + jitter) + 1.0);
        #[allow(clippy::cast_precision_loss)]
        let d = delay as f64;
        prop_assert!(d >= low && d <= high, "{delay} outside [{low}, {high}]");
    }

    #[test]
    fn chosen_messages_are_each_the_oldest_of_a_free_key(
        keys in proptest::collection::vec(0u8..6, 0..60),
        busy in proptest::collection::hash_set(0u8..6, 0..3),
        limit in 0usize..8,
    ) {
        let names: Vec<String> = keys.iter().map(|k| format!("k{k}")).collect();
        let busy_names: Vec<String> = busy.iter().map(|k| format!("k{k}")).collect();
        let busy: HashSet<&str> = busy_names.iter().map(String::as_str).collect();
        let pending: Vec<Pending<'_>> = names
            .iter()
            .enumerate()
            .map(|(i, key)| Pending { seq: i64::try_from(i).unwrap(), key })
            .collect();
        let chosen = deliverable(pending.clone(), &busy, limit);
        prop_assert!(chosen.len() <= limit);
        let mut keys_chosen = HashSet::new();
        for seq in &chosen {
            let message = &pending[usize::try_from(*seq).unwrap()];
            prop_assert!(!busy.contains(message.key));
            prop_assert!(keys_chosen.insert(message.key), "two messages of one key");
            prop_assert!(
                pending.iter().filter(|p| p.key == message.key).all(|p| p.seq >= message.seq),
                "an older message of its key waits"
            );
        }
        // Nothing deliverable is left out while there is room.
        if chosen.len() < limit {
            let free: HashSet<&str> = pending.iter().map(|p| p.key).filter(|k| !busy.contains(k)).collect();
            prop_assert_eq!(keys_chosen.len(), free.len());
        }
    }
}
