//! `kql_mv_expand_elements(dynamic[, "bag"|"array"]) -> List<dynamic>`: the records `mv-expand` makes of a value.
//!
//! Kusto (mv-expand operator, "Returns"): a null value gives one record holding null; an empty
//! array or bag gives no record; an array gives one record per element; a bag (the default
//! `kind=bag`) gives one single-property bag `{"key": value}` per property. A scalar gives
//! itself. The planner unnests the list.

use std::sync::Arc;

use datafusion::arrow::array::{ListBuilder, StringBuilder};
use datafusion::arrow::datatypes::{DataType, Field};
use datafusion::common::Result;
use datafusion::logical_expr::{ColumnarValue, ScalarFunctionArgs};
use serde_json::Value;

use crate::args::{Rows, StrArg, all_text};
use crate::udf::Spec;

fn elements(text: Option<&str>, bags_as_arrays: bool) -> Vec<Option<String>> {
    let Some(text) = text else { return vec![None] };
    match serde_json::from_str::<Value>(text) {
        Ok(Value::Array(items)) => items
            .into_iter()
            .map(|v| (!v.is_null()).then(|| v.to_string()))
            .collect(),
        Ok(Value::Object(map)) => map
            .into_iter()
            .map(|(k, v)| {
                if bags_as_arrays {
                    // kind=array: [key, value]
                    return Some(Value::Array(vec![Value::String(k), v]).to_string());
                }
                let mut one = serde_json::Map::new();
                one.insert(k, v);
                Some(Value::Object(one).to_string())
            })
            .collect(),
        Ok(Value::Null) => vec![None],
        Ok(other) => vec![Some(other.to_string())],
        // Text that is not JSON is a string value.
        Err(_) => vec![Some(Value::String(text.to_string()).to_string())],
    }
}

fn invoke(args: &ScalarFunctionArgs) -> Result<ColumnarValue> {
    let rows = Rows::of(&args.args, args.number_rows);
    let a = StrArg::new(&args.args[0])?;
    let mode = args.args.get(1).map(StrArg::new).transpose()?;
    let mut builder = ListBuilder::new(StringBuilder::new()).with_field(Arc::new(Field::new(
        "item",
        DataType::Utf8,
        true,
    )));
    for i in 0..rows.n {
        let bags_as_arrays = mode.as_ref().and_then(|m| m.get(i)) == Some("array");
        for e in elements(a.get(i), bags_as_arrays) {
            builder.values().append_option(e);
        }
        builder.append(true);
    }
    rows.finish(Arc::new(builder.finish()))
}

fn ret(_: &[DataType]) -> Result<DataType> {
    Ok(DataType::List(Arc::new(Field::new(
        "item",
        DataType::Utf8,
        true,
    ))))
}

fn coerce(name: &str, t: &[DataType]) -> Result<Vec<DataType>> {
    all_text(name, t, 1, 2)
}

pub(crate) fn kql_mv_expand_elements() -> Spec {
    Spec {
        name: "kql_mv_expand_elements",
        coerce,
        ret,
        ret_field: None,
        invoke,
    }
}

#[cfg(test)]
mod tests {
    use super::elements;

    #[test]
    fn arrays_bags_nulls_and_scalars() {
        assert_eq!(
            elements(Some("[1,\"a\",null]"), false),
            vec![Some("1".into()), Some("\"a\"".into()), None]
        );
        assert_eq!(elements(Some("[]"), false), Vec::<Option<String>>::new());
        assert_eq!(elements(Some("{}"), false), Vec::<Option<String>>::new());
        assert_eq!(
            elements(Some("{\"a\":1,\"b\":[2]}"), false),
            vec![Some("{\"a\":1}".into()), Some("{\"b\":[2]}".into())]
        );
        assert_eq!(elements(None, false), vec![None]);
        assert_eq!(elements(Some("5"), false), vec![Some("5".into())]);
        assert_eq!(
            elements(Some("{\"a\":1}"), true),
            vec![Some("[\"a\",1]".into())]
        );
    }
}
