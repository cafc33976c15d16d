use std::fmt;
use std::str::FromStr;

/// A compatibility mode, as in schema registries (Confluent's names).
///
/// - BACKWARD: consumers on the new version read everything producers on the
///   previous version send (upgrade consumers first).
/// - FORWARD: consumers on the previous version read everything producers on
///   the new version send (upgrade producers first).
/// - FULL: both.
/// - `_TRANSITIVE`: against every earlier version, not only the latest.
/// - NONE: no check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// No compatibility required.
    None,
    /// New readers accept what the latest previous writers send.
    Backward,
    /// BACKWARD against every earlier version.
    BackwardTransitive,
    /// Previous readers accept what new writers send.
    Forward,
    /// FORWARD against every earlier version.
    ForwardTransitive,
    /// BACKWARD and FORWARD.
    Full,
    /// FULL against every earlier version.
    FullTransitive,
}

/// A direction in which a change can break.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// Old producers → new consumers.
    Backward,
    /// New producers → old consumers.
    Forward,
}

impl Direction {
    /// `BACKWARD` or `FORWARD`, as printed in explanations.
    pub fn label(self) -> &'static str {
        match self {
            Self::Backward => "BACKWARD",
            Self::Forward => "FORWARD",
        }
    }
}

impl Mode {
    /// Every mode name accepted by [`Mode::from_str`].
    pub const NAMES: [&'static str; 7] = [
        "none",
        "backward",
        "backward_transitive",
        "forward",
        "forward_transitive",
        "full",
        "full_transitive",
    ];
    const ALL: [Self; 7] = [
        Self::None,
        Self::Backward,
        Self::BackwardTransitive,
        Self::Forward,
        Self::ForwardTransitive,
        Self::Full,
        Self::FullTransitive,
    ];

    /// The mode's lowercase name, e.g. `backward_transitive`.
    pub fn as_str(self) -> &'static str {
        Self::NAMES[Self::ALL
            .iter()
            .position(|m| *m == self)
            .unwrap_or_default()]
    }

    /// Whether every earlier version is checked, not only the latest.
    pub fn is_transitive(self) -> bool {
        matches!(
            self,
            Self::BackwardTransitive | Self::ForwardTransitive | Self::FullTransitive
        )
    }

    /// The directions this mode requires.
    pub fn directions(self) -> &'static [Direction] {
        match self {
            Self::None => &[],
            Self::Backward | Self::BackwardTransitive => &[Direction::Backward],
            Self::Forward | Self::ForwardTransitive => &[Direction::Forward],
            Self::Full | Self::FullTransitive => &[Direction::Backward, Direction::Forward],
        }
    }
}

impl FromStr for Mode {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let wanted = s.to_ascii_lowercase().replace('-', "_");
        Self::ALL
            .into_iter()
            .find(|m| m.as_str() == wanted)
            .ok_or_else(|| {
                format!(
                    "unknown compatibility mode {s:?}; use one of {}",
                    Self::NAMES.join(", ")
                )
            })
    }
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.as_str().to_ascii_uppercase())
    }
}
