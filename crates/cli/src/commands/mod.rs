pub mod check;
pub mod query;
pub mod sources;
pub mod tables;
