pub mod check;
pub mod query;
pub mod sigma;
pub mod sources;
pub mod tables;
