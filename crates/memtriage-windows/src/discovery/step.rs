//! Step records: what each discovery stage tried and what it saw, typed per stage and rendered
//! as [`DiscoveryStep`]s for `memtriage info`.

use serde::Serialize;

/// A method a stage can try; its name appears in `info` (`dtb:low-stub`, `kernel:scan`, ...).
pub trait Method: Copy {
    /// The step name, `stage:method`.
    fn step_name(self) -> &'static str;
    /// Plain words for one-line errors ("low stub").
    fn label(self) -> &'static str;
}

/// One method tried by a stage, and what it saw.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attempt<M> {
    /// The method.
    pub method: M,
    /// Whether it produced the fact.
    pub ok: bool,
    /// What it saw.
    pub detail: String,
}

/// Every method a stage tried, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attempts<M>(pub Vec<Attempt<M>>);

impl<M> Default for Attempts<M> {
    fn default() -> Self {
        Attempts(Vec::new())
    }
}

impl<M: Method> Attempts<M> {
    /// Record one attempt.
    pub fn push(&mut self, method: M, ok: bool, detail: String) {
        self.0.push(Attempt { method, ok, detail });
    }

    /// The methods tried, for an error line.
    pub fn tried(&self) -> super::error::Tried {
        let mut names: Vec<&'static str> = Vec::new();
        for a in &self.0 {
            if !names.contains(&a.method.label()) {
                names.push(a.method.label());
            }
        }
        super::error::Tried(names)
    }

    /// The attempts as `info` steps.
    pub fn render(&self) -> impl Iterator<Item = DiscoveryStep> + '_ {
        self.0.iter().map(|a| DiscoveryStep {
            step: a.method.step_name().to_string(),
            ok: a.ok,
            detail: a.detail.clone(),
        })
    }
}

/// One discovery step as `memtriage info` shows it.
#[derive(Debug, Clone, Serialize)]
pub struct DiscoveryStep {
    /// The step's name (`dtb:crash-dump-header`, `kernel:scan-back`, ...).
    pub step: String,
    /// Whether it produced the fact.
    pub ok: bool,
    /// What it saw.
    pub detail: String,
}
