pub mod attack;
pub mod check;
pub mod hunt;
pub mod query;
pub mod rules;
pub mod sigma;
pub mod sources;
pub mod tables;
