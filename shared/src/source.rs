//! What one read returned, or why it is missing: the container every fact and every piece of evidence comes in.

use serde::{Deserialize, Serialize};

/// One source of evidence: what it returned, or why it is missing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Source<T> {
    Available(T),
    Unavailable(String),
}

impl<T> Source<T> {
    pub fn get(&self) -> Option<&T> {
        match self {
            Source::Available(t) => Some(t),
            Source::Unavailable(_) => None,
        }
    }

    pub fn reason(&self) -> Option<&str> {
        match self {
            Source::Available(_) => None,
            Source::Unavailable(r) => Some(r),
        }
    }
}

impl<T> Default for Source<T> {
    fn default() -> Self {
        Source::Unavailable("not gathered".into())
    }
}
