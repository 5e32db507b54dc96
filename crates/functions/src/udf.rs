//! The one `ScalarUDFImpl` behind every KQL scalar function.
//!
//! Each function file supplies a [`Spec`]: its name, how its arguments are coerced, its return
//! type, and the body. Functions carry no state, so a plan holding them serialises by name
//! (datafusion-proto) and an executor rebuilds them from [`crate::scalar`].

use std::hash::{Hash, Hasher};

use std::sync::Arc;

use datafusion::arrow::datatypes::{DataType, Field, FieldRef};
use datafusion::common::Result;
use datafusion::logical_expr::{
    ColumnarValue, ReturnFieldArgs, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature,
    Volatility,
};

/// Coerces the argument types (also checks the argument count).
pub(crate) type CoerceFn = fn(&str, &[DataType]) -> Result<Vec<DataType>>;
/// The return type from the coerced argument types.
pub(crate) type ReturnFn = fn(&[DataType]) -> Result<DataType>;
/// The body.
pub(crate) type InvokeFn = fn(&ScalarFunctionArgs) -> Result<ColumnarValue>;

/// The return field when it depends on literal arguments (`extract(..., typeof(long))`).
pub(crate) type ReturnFieldFn = fn(&ReturnFieldArgs) -> Result<FieldRef>;

/// What a KQL scalar function is.
pub(crate) struct Spec {
    pub name: &'static str,
    pub coerce: CoerceFn,
    pub ret: ReturnFn,
    pub ret_field: Option<ReturnFieldFn>,
    pub invoke: InvokeFn,
}

impl Spec {
    pub fn udf(self) -> ScalarUDF {
        ScalarUDF::new_from_impl(KqlScalar {
            spec: self,
            signature: Signature::user_defined(Volatility::Immutable),
        })
    }
}

pub(crate) struct KqlScalar {
    spec: Spec,
    signature: Signature,
}

impl std::fmt::Debug for KqlScalar {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KqlScalar")
            .field("name", &self.spec.name)
            .finish()
    }
}

impl PartialEq for KqlScalar {
    fn eq(&self, other: &Self) -> bool {
        self.spec.name == other.spec.name
    }
}

impl Eq for KqlScalar {}

impl Hash for KqlScalar {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.spec.name.hash(state);
    }
}

impl ScalarUDFImpl for KqlScalar {
    fn name(&self) -> &str {
        self.spec.name
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        (self.spec.coerce)(self.spec.name, arg_types)
    }

    fn return_type(&self, arg_types: &[DataType]) -> Result<DataType> {
        (self.spec.ret)(arg_types)
    }

    fn return_field_from_args(&self, args: ReturnFieldArgs) -> Result<FieldRef> {
        match self.spec.ret_field {
            Some(f) => f(&args),
            None => {
                let types: Vec<DataType> = args
                    .arg_fields
                    .iter()
                    .map(|f| f.data_type().clone())
                    .collect();
                Ok(Arc::new(Field::new(
                    self.spec.name,
                    (self.spec.ret)(&types)?,
                    true,
                )))
            }
        }
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        (self.spec.invoke)(&args)
    }
}

/// Return-type helpers.
pub(crate) fn ret_bool(_: &[DataType]) -> Result<DataType> {
    Ok(DataType::Boolean)
}
pub(crate) fn ret_utf8(_: &[DataType]) -> Result<DataType> {
    Ok(DataType::Utf8)
}
pub(crate) fn ret_i64(_: &[DataType]) -> Result<DataType> {
    Ok(DataType::Int64)
}
pub(crate) fn ret_i32(_: &[DataType]) -> Result<DataType> {
    Ok(DataType::Int32)
}
pub(crate) fn ret_f64(_: &[DataType]) -> Result<DataType> {
    Ok(DataType::Float64)
}
pub(crate) fn ret_timestamp(_: &[DataType]) -> Result<DataType> {
    Ok(DataType::Timestamp(
        datafusion::arrow::datatypes::TimeUnit::Nanosecond,
        None,
    ))
}
pub(crate) fn ret_duration(_: &[DataType]) -> Result<DataType> {
    Ok(DataType::Duration(
        datafusion::arrow::datatypes::TimeUnit::Nanosecond,
    ))
}
