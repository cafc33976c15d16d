//! What both adapters share for delivery state.

use takt_core::store::DeliveryState;

/// States as one parameter: `,pending,in_doubt,` (or none for "any state"),
/// matched with `instr`/`position` against `,<state>,`.
pub(crate) fn state_list(states: &[DeliveryState]) -> Option<String> {
    (!states.is_empty()).then(|| {
        let names: Vec<&str> = states.iter().map(|s| s.as_str()).collect();
        format!(",{},", names.join(","))
    })
}

/// The error for a state name this version does not know.
pub(crate) fn corrupt_state(name: &str) -> String {
    format!("unknown delivery state {name:?} in the store")
}
