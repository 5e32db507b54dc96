//! `now()` pinned at the time the caller gives (the latest event, or `--now`), as KQL's `now()`
//! and `ago()` are: evidence is old, and a hunt must give the same rows whenever it runs.

use std::sync::Arc;

use datafusion::arrow::datatypes::{DataType, TimeUnit};
use datafusion::common::ScalarValue;
use datafusion::error::Result;
use datafusion::logical_expr::simplify::{ExprSimplifyResult, SimplifyContext};
use datafusion::logical_expr::{
    ColumnarValue, Expr, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility,
};

/// `now()` and `current_timestamp`, returning `now_ns` as a UTC timestamp without a zone
/// (the catalog's datetime type).
pub fn pinned_now(now_ns: i64) -> Arc<ScalarUDF> {
    Arc::new(ScalarUDF::new_from_impl(PinnedNow {
        now_ns,
        signature: Signature::nullary(Volatility::Stable),
        aliases: vec!["current_timestamp".to_string()],
    }))
}

#[derive(Debug, PartialEq, Eq, Hash)]
struct PinnedNow {
    now_ns: i64,
    signature: Signature,
    aliases: Vec<String>,
}

impl PinnedNow {
    fn value(&self) -> ScalarValue {
        ScalarValue::TimestampNanosecond(Some(self.now_ns), None)
    }
}

impl ScalarUDFImpl for PinnedNow {
    fn name(&self) -> &str {
        "now"
    }

    fn aliases(&self) -> &[String] {
        &self.aliases
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(DataType::Timestamp(TimeUnit::Nanosecond, None))
    }

    fn invoke_with_args(&self, _args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        Ok(ColumnarValue::Scalar(self.value()))
    }

    fn simplify(&self, _args: Vec<Expr>, _info: &SimplifyContext) -> Result<ExprSimplifyResult> {
        Ok(ExprSimplifyResult::Simplified(Expr::Literal(
            self.value(),
            None,
        )))
    }
}
