//! The Elastic ES|QL front-end (`--lang esql`): a query such as
//! `FROM logs-windows.sysmon_operational-* | WHERE process.executable LIKE "*\\whoami.exe"`
//! planned over the tables the data streams in `FROM` map onto ([`datastreams`]), with
//! Elastic's ECS field names. Nothing executes here: the engine binds and runs the plan.

pub mod datastreams;
