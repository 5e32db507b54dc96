//! Shared infrastructure for every spoor crate: byte [`Span`]s, [`Diagnostic`]s, a
//! [`LineIndex`] (byte offset → line:column), a plain-text diagnostic renderer, and a
//! [`cursor::Cursor`] over query text for the hand-written parsers.
//!
//! ```
//! use spoor_core::{Diagnostic, Span};
//! let src = "T\n| where x == ";
//! let d = Diagnostic::new("expected an expression after `==`", Span::empty(15))
//!     .with_hint("a comparison needs a value on both sides");
//! let text = d.render(src, "hunt.kql");
//! assert!(text.contains(" --> hunt.kql:2:14"));
//! ```
#![deny(missing_docs)]

pub mod cursor;
mod diagnostic;
mod line_index;
mod span;
mod suggest;

pub use diagnostic::Diagnostic;
pub use line_index::{LineCol, LineIndex};
pub use span::Span;
pub use suggest::{did_you_mean, edit_distance};
