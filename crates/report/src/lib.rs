//! What a hunt writes besides the terminal summary: the timeline of every hit (CSV, as
//! forensic timelines are), the ATT&CK Navigator layer, and the HTML report.

mod html;
mod layer;
mod timeline;

pub use html::{ReportContext, html_report};
pub use layer::navigator_layer;
pub use timeline::write_timeline;
