//! What DataFusion's SQL planner asks while planning: the catalog's tables (empty; the engine
//! binds them to evidence), DataFusion's and spoor's functions, and nothing that reads files.

use std::sync::{Arc, OnceLock};

use datafusion::arrow::datatypes::DataType;
use datafusion::common::TableReference;
use datafusion::config::ConfigOptions;
use datafusion::datasource::empty::EmptyTable;
use datafusion::datasource::provider_as_source;
use datafusion::error::{DataFusionError, Result};
use datafusion::execution::SessionStateBuilder;
use datafusion::execution::session_state::SessionState;
use datafusion::logical_expr::planner::{ContextProvider, ExprPlanner, TypePlanner};
use datafusion::logical_expr::{
    AggregateUDF, HigherOrderUDF, LogicalPlan, ScalarUDF, TableSource, WindowUDF,
};
use datafusion::sql::planner::{NullOrdering, ParserOptions, SqlToRel};
use datafusion::sql::sqlparser::ast::Statement;

/// Table functions that only generate rows (no file or network access).
const GENERATING_TABLE_FUNCTIONS: &[&str] = &["generate_series", "range"];

/// DataFusion's functions with spoor's, built once.
fn functions() -> &'static SessionState {
    static STATE: OnceLock<SessionState> = OnceLock::new();
    STATE.get_or_init(|| {
        let mut state = SessionStateBuilder::new().with_default_features().build();
        spoor_functions::register_all(&mut state).expect("spoor's functions register");
        state
    })
}

/// One planning: the functions, the catalog, and `now` pinned.
pub struct PlanningContext {
    state: &'static SessionState,
    now: Arc<ScalarUDF>,
}

impl PlanningContext {
    pub fn new(now_ns: i64) -> Self {
        PlanningContext {
            state: functions(),
            now: crate::now::pinned_now(now_ns),
        }
    }

    /// Plans one (already checked) statement.
    pub fn plan(&self, statement: Statement) -> Result<LogicalPlan> {
        let options = ParserOptions {
            // Catalog names are case-sensitive (`eventName`, `EventName`); `names` has already
            // matched the query's names to them ignoring case where Athena would.
            enable_ident_normalization: false,
            collect_spans: true,
            // spoor's functions take Utf8; CAST(x AS VARCHAR) must give it.
            map_string_types_to_utf8view: false,
            // Athena (Trino) puts nulls last whatever the direction.
            default_null_ordering: NullOrdering::NullsLast,
            ..ParserOptions::new()
        };
        SqlToRel::new_with_options(self, options).sql_statement_to_plan(statement)
    }
}

impl ContextProvider for PlanningContext {
    fn get_table_source(&self, name: TableReference) -> Result<Arc<dyn TableSource>> {
        // A database or schema before the name is ignored: the evidence is one database.
        let table = name.table();
        let def = spoor_catalog::catalog().table(table).ok_or_else(|| {
            DataFusionError::Plan(format!(
                "table '{table}' not found; `spoor tables` lists the tables the evidence fills"
            ))
        })?;
        Ok(provider_as_source(Arc::new(EmptyTable::new(def.schema()))))
    }

    fn get_table_function_source(
        &self,
        name: &str,
        args: Vec<datafusion::logical_expr::Expr>,
    ) -> Result<Arc<dyn TableSource>> {
        if !GENERATING_TABLE_FUNCTIONS.contains(&name) {
            return Err(DataFusionError::Plan(format!(
                "table function '{name}' is not available: queries read the catalog's tables, \
                 which spoor fills from the evidence (only {} generate rows)",
                GENERATING_TABLE_FUNCTIONS.join(" and ")
            )));
        }
        let function = self
            .state
            .table_functions()
            .get(name)
            .cloned()
            .ok_or_else(|| DataFusionError::Plan(format!("table function '{name}' not found")))?;
        let provider = function.create_table_provider_with_args(
            datafusion::catalog::TableFunctionArgs::new(&args, self.state),
        )?;
        Ok(provider_as_source(provider))
    }

    fn get_expr_planners(&self) -> &[Arc<dyn ExprPlanner>] {
        self.state.expr_planners()
    }

    fn get_type_planner(&self) -> Option<Arc<dyn TypePlanner>> {
        None
    }

    fn get_function_meta(&self, name: &str) -> Option<Arc<ScalarUDF>> {
        if name.eq_ignore_ascii_case("now") || name.eq_ignore_ascii_case("current_timestamp") {
            return Some(Arc::clone(&self.now));
        }
        self.state.scalar_functions().get(name).cloned()
    }

    fn get_higher_order_meta(&self, name: &str) -> Option<Arc<HigherOrderUDF>> {
        self.state.higher_order_functions().get(name).cloned()
    }

    fn get_aggregate_meta(&self, name: &str) -> Option<Arc<AggregateUDF>> {
        self.state.aggregate_functions().get(name).cloned()
    }

    fn get_window_meta(&self, name: &str) -> Option<Arc<WindowUDF>> {
        self.state.window_functions().get(name).cloned()
    }

    fn get_variable_type(&self, _variable_names: &[String]) -> Option<DataType> {
        None
    }

    fn options(&self) -> &ConfigOptions {
        self.state.config_options()
    }

    fn udf_names(&self) -> Vec<String> {
        self.state.scalar_functions().keys().cloned().collect()
    }

    fn higher_order_function_names(&self) -> Vec<String> {
        self.state
            .higher_order_functions()
            .keys()
            .cloned()
            .collect()
    }

    fn udaf_names(&self) -> Vec<String> {
        self.state.aggregate_functions().keys().cloned().collect()
    }

    fn udwf_names(&self) -> Vec<String> {
        self.state.window_functions().keys().cloned().collect()
    }
}
