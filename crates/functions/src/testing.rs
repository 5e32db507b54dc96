//! Test helpers: call a function spec on arrays and scalars as DataFusion would.

use std::sync::Arc;

use datafusion::arrow::array::{
    Array, ArrayRef, AsArray, BooleanArray, Float64Array, Int64Array, StringArray,
};
use datafusion::arrow::datatypes::{DataType, Field, Float64Type, Int64Type};
use datafusion::common::ScalarValue;
use datafusion::common::config::ConfigOptions;
use datafusion::logical_expr::{ColumnarValue, ScalarFunctionArgs};

use crate::udf::Spec;

/// A text column.
pub fn s(values: &[Option<&str>]) -> ColumnarValue {
    ColumnarValue::Array(Arc::new(StringArray::from(values.to_vec())))
}

/// A text literal.
pub fn lit(v: &str) -> ColumnarValue {
    ColumnarValue::Scalar(ScalarValue::Utf8(Some(v.to_string())))
}

/// A null text literal.
pub fn null() -> ColumnarValue {
    ColumnarValue::Scalar(ScalarValue::Utf8(None))
}

/// An integer literal.
pub fn int(v: i64) -> ColumnarValue {
    ColumnarValue::Scalar(ScalarValue::Int64(Some(v)))
}

/// A long column.
#[allow(dead_code)]
pub fn longs(values: &[Option<i64>]) -> ColumnarValue {
    ColumnarValue::Array(Arc::new(Int64Array::from(values.to_vec())))
}

/// A real column.
pub fn reals(values: &[Option<f64>]) -> ColumnarValue {
    ColumnarValue::Array(Arc::new(Float64Array::from(values.to_vec())))
}

/// Calls a function; coerces the arguments as the planner's type coercion would.
pub fn call(spec: Spec, args: &[ColumnarValue]) -> ArrayRef {
    let n = args
        .iter()
        .find_map(|a| match a {
            ColumnarValue::Array(a) => Some(a.len()),
            ColumnarValue::Scalar(_) => None,
        })
        .unwrap_or(1);
    let types: Vec<DataType> = args.iter().map(|a| a.data_type()).collect();
    let coerced = (spec.coerce)(spec.name, &types).expect("coerce");
    let args: Vec<ColumnarValue> = args
        .iter()
        .zip(&coerced)
        .map(|(a, t)| a.cast_to(t, None).expect("cast"))
        .collect();
    let arg_fields: Vec<_> = coerced
        .iter()
        .map(|t| Arc::new(Field::new("a", t.clone(), true)))
        .collect();
    let ret = match spec.ret_field {
        Some(f) => {
            let scalars: Vec<Option<&ScalarValue>> = args
                .iter()
                .map(|a| match a {
                    ColumnarValue::Scalar(s) => Some(s),
                    ColumnarValue::Array(_) => None,
                })
                .collect();
            let field = f(&datafusion::logical_expr::ReturnFieldArgs {
                arg_fields: &arg_fields,
                scalar_arguments: &scalars,
            })
            .expect("return field");
            field.data_type().clone()
        }
        None => (spec.ret)(&coerced).expect("return type"),
    };
    let out = (spec.invoke)(&ScalarFunctionArgs {
        args,
        arg_fields,
        number_rows: n,
        return_field: Arc::new(Field::new("r", ret.clone(), true)),
        config_options: Arc::new(ConfigOptions::default()),
    })
    .expect("invoke");
    let array = out.into_array(n).expect("array");
    assert_eq!(
        array.data_type(),
        &ret,
        "{}: declared and actual return types differ",
        spec.name
    );
    array
}

pub fn call_bool(spec: Spec, args: &[ColumnarValue]) -> Vec<Option<bool>> {
    let a = call(spec, args);
    let a: &BooleanArray = a.as_boolean();
    a.iter().collect()
}

pub fn call_str(spec: Spec, args: &[ColumnarValue]) -> Vec<Option<String>> {
    let a = call(spec, args);
    a.as_string::<i32>()
        .iter()
        .map(|v| v.map(str::to_string))
        .collect()
}

pub fn call_i64(spec: Spec, args: &[ColumnarValue]) -> Vec<Option<i64>> {
    let a = call(spec, args);
    a.as_primitive::<Int64Type>().iter().collect()
}

pub fn call_f64(spec: Spec, args: &[ColumnarValue]) -> Vec<Option<f64>> {
    let a = call(spec, args);
    a.as_primitive::<Float64Type>().iter().collect()
}

/// One scalar call returning text.
pub fn str1(spec: Spec, args: &[ColumnarValue]) -> Option<String> {
    call_str(spec, args).remove(0)
}
