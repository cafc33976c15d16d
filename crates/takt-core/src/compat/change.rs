//! One difference between two schema versions, and which directions it breaks.

/// What a change does to a concrete message, in the direction it breaks.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Impact {
    /// A message that shows the break, e.g. `/data/qty/uom = "LBR"`.
    pub example: String,
}

/// One difference between an old and a new version of a schema.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Change {
    /// JSON pointer into the message, `*` standing for any array item.
    pub path: String,
    /// Stable code of the rule, e.g. `enum_value_removed`.
    pub rule: &'static str,
    /// What changed, e.g. `enum value "LBR" removed`.
    pub change: String,
    /// Set when messages valid under the old version fail under the new one.
    pub backward: Option<Impact>,
    /// Set when messages valid under the new version fail under the old one.
    pub forward: Option<Impact>,
}

impl Change {
    pub(super) fn new(path: &str, rule: &'static str, change: impl Into<String>) -> Self {
        Self {
            path: path.to_owned(),
            rule,
            change: change.into(),
            backward: None,
            forward: None,
        }
    }

    /// Marks the change as breaking old producers → new consumers.
    pub(super) fn breaks_backward(mut self, example: impl Into<String>) -> Self {
        self.backward = Some(Impact {
            example: example.into(),
        });
        self
    }

    /// Marks the change as breaking new producers → old consumers.
    pub(super) fn breaks_forward(mut self, example: impl Into<String>) -> Self {
        self.forward = Some(Impact {
            example: example.into(),
        });
        self
    }

    /// Whether the change breaks nothing.
    pub fn is_compatible(&self) -> bool {
        self.backward.is_none() && self.forward.is_none()
    }
}
