//! KQL semantics as DataFusion functions: scalar UDFs (`kql_has`, `kql_bin`, `kql_json_get`,
//! ...) and aggregate UDAFs (`kql_dcount`, `kql_make_set`, `kql_arg_max`, ...).
//!
//! Types follow the catalog: datetime is `Timestamp(ns)`, timespan `Duration(ns)`, long `Int64`,
//! int `Int32`, real `Float64`, and dynamic is `Utf8` holding compact JSON text.
//!
//! Every function is listed once, in [`scalar_specs`], [`aggregate_udfs`] or [`window_udfs`];
//! [`register_all`] registers them all, [`scalar`], [`aggregate`] and [`window`] find one by
//! name.

use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

use datafusion::error::Result;
use datafusion::execution::FunctionRegistry;
use datafusion::logical_expr::{AggregateUDF, ScalarUDF, WindowUDF};

mod aggregate;
mod arg_max;
mod args;
mod arrays;
mod bin;
mod convert;
pub mod datetime;
mod dcount;
mod dt_parts;
pub mod dynamic;
mod has;
mod ipv4;
mod ipv6;
mod json_path;
mod make_bag;
mod make_set;
mod math;
mod mv_expand;
mod parse_url;
mod percentile;
mod range_fn;
mod regex_fns;
mod row_window;
mod series;
mod series_fns;
mod series_periods;
mod stats;
mod string_ops;
mod strings;
mod take_any;
mod text;
pub mod text_fields;
mod udf;
mod xml;

#[cfg(test)]
mod testing;

pub use convert::format_real;

/// Every scalar function.
fn scalar_specs() -> Vec<udf::Spec> {
    vec![
        mv_expand::kql_mv_expand_elements(),
        has::kql_has(),
        has::kql_has_cs(),
        has::kql_has_any(),
        has::kql_has_all(),
        string_ops::kql_contains(),
        string_ops::kql_contains_cs(),
        string_ops::kql_startswith(),
        string_ops::kql_startswith_cs(),
        string_ops::kql_endswith(),
        string_ops::kql_endswith_cs(),
        string_ops::kql_equals_ci(),
        string_ops::kql_in_ci(),
        string_ops::kql_in(),
        bin::kql_bin(),
        dynamic::kql_json_get(),
        dynamic::kql_json_text_ignore_case(),
        dynamic::kql_json_text(),
        dynamic::kql_dyn_to_string(),
        dynamic::kql_dyn_to_long(),
        dynamic::kql_dyn_to_int(),
        dynamic::kql_dyn_to_double(),
        dynamic::kql_dyn_to_bool(),
        dynamic::kql_dyn_to_datetime(),
        dynamic::kql_dyn_to_timespan(),
        dynamic::kql_parse_json(),
        dynamic::kql_array_length(),
        dynamic::kql_pack_array(),
        dynamic::kql_bag_pack(),
        convert::kql_tostring(),
        convert::kql_to_json(),
        convert::kql_tolong(),
        convert::kql_toint(),
        convert::kql_todouble(),
        convert::kql_tobool(),
        datetime::kql_todatetime(),
        datetime::kql_totimespan(),
        datetime::kql_format_datetime(),
        datetime::kql_datetime_diff(),
        json_path::kql_extract_json(),
        regex_fns::kql_extract(),
        regex_fns::kql_extract_all(),
        regex_fns::kql_trim(),
        regex_fns::kql_trim_start(),
        regex_fns::kql_trim_end(),
        strings::kql_split(),
        strings::kql_substring(),
        strings::kql_replace_string(),
        strings::kql_strcat(),
        strings::kql_isempty(),
        strings::kql_isnotempty(),
        parse_url::kql_parse_url(),
        ipv4::kql_ipv4_is_private(),
        ipv4::kql_ipv4_is_match(),
        ipv4::kql_ipv4_is_in_range(),
        ipv6::kql_ipv6_is_in_range(),
        text_fields::kql_kv_text(),
        text_fields::kql_url_part(),
        ipv4::kql_ipv4_compare(),
        ipv4::kql_parse_ipv4(),
        ipv4::kql_has_any_ipv4(),
        ipv4::kql_has_any_ipv4_prefix(),
        ipv4::kql_geo_info_from_ip_address(),
        xml::kql_parse_xml(),
        math::kql_round(),
        math::kql_abs(),
        math::kql_max_of(),
        math::kql_min_of(),
        math::kql_binary_and(),
        math::kql_binary_or(),
        math::kql_todecimal(),
        dt_parts::kql_dayofweek(),
        dt_parts::kql_dayofmonth(),
        dt_parts::kql_hourofday(),
        dt_parts::kql_getmonth(),
        dt_parts::kql_getyear(),
        dt_parts::kql_startofday(),
        dt_parts::kql_startofweek(),
        dt_parts::kql_startofmonth(),
        dt_parts::kql_startofyear(),
        dt_parts::kql_endofday(),
        dt_parts::kql_endofweek(),
        dt_parts::kql_endofmonth(),
        dt_parts::kql_endofyear(),
        dt_parts::kql_make_datetime(),
        dt_parts::kql_unixtime_seconds_todatetime(),
        dt_parts::kql_unixtime_milliseconds_todatetime(),
        arrays::kql_array_concat(),
        arrays::kql_array_slice(),
        arrays::kql_array_index_of(),
        arrays::kql_array_sort_asc(),
        arrays::kql_array_sort_desc(),
        arrays::kql_set_difference(),
        arrays::kql_set_union(),
        arrays::kql_set_intersect(),
        arrays::kql_set_has_element(),
        arrays::kql_bag_keys(),
        arrays::kql_bag_merge(),
        arrays::kql_zip(),
        arrays::kql_dynamic_to_json(),
        arrays::kql_repeat(),
        arrays::kql_strcat_array(),
        text::kql_countof(),
        text::kql_indexof(),
        text::kql_indexof_regex(),
        text::kql_reverse(),
        text::kql_isascii(),
        text::kql_isutf8(),
        text::kql_string_size(),
        text::kql_url_encode(),
        text::kql_url_decode(),
        text::kql_base64_encode_tostring(),
        text::kql_base64_decode_tostring(),
        text::kql_base64_decode_toarray(),
        text::kql_tohex(),
        text::kql_hash_sha256(),
        text::kql_hash_md5(),
        text::kql_translate(),
        range_fn::kql_range(),
        text::kql_unicode_codepoints_to_string(),
        series::kql_series_bin_index(),
        series::kql_series_bins(),
        series::kql_series_axis(),
        series_fns::kql_series_stats_dynamic(),
        series_fns::kql_series_fit_line_dynamic(),
        series_fns::kql_series_decompose_anomalies(),
        series_fns::kql_series_decompose(),
        series_fns::kql_series_outliers(),
        series_fns::kql_series_periods_detect(),
        series_fns::kql_series_fill_const(),
        series_fns::kql_series_fill_forward(),
        series_fns::kql_series_fill_backward(),
        series_fns::kql_series_fill_linear(),
    ]
}

/// Every aggregate function.
fn aggregate_udfs() -> Vec<AggregateUDF> {
    vec![
        AggregateUDF::new_from_impl(dcount::Dcount::new()),
        AggregateUDF::new_from_impl(make_set::MakeCollection::set()),
        AggregateUDF::new_from_impl(make_set::MakeCollection::list()),
        AggregateUDF::new_from_impl(arg_max::ArgMaxMin::max()),
        AggregateUDF::new_from_impl(arg_max::ArgMaxMin::min()),
        AggregateUDF::new_from_impl(take_any::TakeAny::new()),
        AggregateUDF::new_from_impl(make_bag::MakeBag::new()),
        AggregateUDF::new_from_impl(stats::Stats::stdev()),
        AggregateUDF::new_from_impl(stats::Stats::variance()),
        AggregateUDF::new_from_impl(stats::Stats::stdevp()),
        AggregateUDF::new_from_impl(stats::Stats::variancep()),
        AggregateUDF::new_from_impl(percentile::Percentile::single()),
        AggregateUDF::new_from_impl(percentile::Percentile::array()),
        AggregateUDF::new_from_impl(series::SeriesFill::new()),
    ]
}

/// Every window function (functions of a serialized row set that read the rows in order).
fn window_udfs() -> Vec<WindowUDF> {
    vec![
        row_window::row_window_session(),
        row_window::row_number_restart(),
    ]
}

fn scalars() -> &'static HashMap<String, Arc<ScalarUDF>> {
    static SCALARS: OnceLock<HashMap<String, Arc<ScalarUDF>>> = OnceLock::new();
    SCALARS.get_or_init(|| {
        scalar_specs()
            .into_iter()
            .map(|s| (s.name.to_string(), Arc::new(s.udf())))
            .collect()
    })
}

fn aggregates() -> &'static HashMap<String, Arc<AggregateUDF>> {
    static AGGREGATES: OnceLock<HashMap<String, Arc<AggregateUDF>>> = OnceLock::new();
    AGGREGATES.get_or_init(|| {
        aggregate_udfs()
            .into_iter()
            .map(|u| (u.name().to_string(), Arc::new(u)))
            .collect()
    })
}

fn windows() -> &'static HashMap<String, Arc<WindowUDF>> {
    static WINDOWS: OnceLock<HashMap<String, Arc<WindowUDF>>> = OnceLock::new();
    WINDOWS.get_or_init(|| {
        window_udfs()
            .into_iter()
            .map(|u| (u.name().to_string(), Arc::new(u)))
            .collect()
    })
}

/// A scalar function by name (`kql_has`, ...).
pub fn scalar(name: &str) -> Option<Arc<ScalarUDF>> {
    scalars().get(name).cloned()
}

/// An aggregate function by name (`kql_dcount`, ...).
pub fn aggregate(name: &str) -> Option<Arc<AggregateUDF>> {
    aggregates().get(name).cloned()
}

/// A window function by name (`kql_row_window_session`, ...).
pub fn window(name: &str) -> Option<Arc<WindowUDF>> {
    windows().get(name).cloned()
}

/// The names of every function, scalar then aggregate then window.
pub fn names() -> Vec<&'static str> {
    let mut v: Vec<&'static str> = scalar_specs().iter().map(|s| s.name).collect();
    v.sort_unstable();
    let mut a: Vec<&str> = aggregates().keys().map(String::as_str).collect();
    a.sort_unstable();
    v.extend(a);
    let mut w: Vec<&str> = windows().keys().map(String::as_str).collect();
    w.sort_unstable();
    v.extend(w);
    v
}

/// Registers every function.
pub fn register_all(registry: &mut dyn FunctionRegistry) -> Result<()> {
    for f in scalars().values() {
        registry.register_udf(Arc::clone(f))?;
    }
    for f in aggregates().values() {
        registry.register_udaf(Arc::clone(f))?;
    }
    for f in windows().values() {
        registry.register_udwf(Arc::clone(f))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    #[test]
    fn names_are_unique_and_prefixed() {
        let mut seen = HashSet::new();
        for s in scalar_specs() {
            assert!(s.name.starts_with("kql_"), "{}", s.name);
            assert!(
                seen.insert(s.name.to_string()),
                "duplicate function name {}",
                s.name
            );
        }
        for a in aggregate_udfs() {
            assert!(a.name().starts_with("kql_"), "{}", a.name());
            assert!(
                seen.insert(a.name().to_string()),
                "duplicate function name {}",
                a.name()
            );
            for alias in a.aliases() {
                assert!(seen.insert(alias.clone()), "duplicate alias {alias}");
            }
        }
        for w in window_udfs() {
            assert!(w.name().starts_with("kql_"), "{}", w.name());
            assert!(
                seen.insert(w.name().to_string()),
                "duplicate function name {}",
                w.name()
            );
        }
        assert_eq!(
            seen.len(),
            scalars().len() + aggregates().len() + windows().len()
        );
    }

    #[test]
    fn register_all_into_a_session() {
        let ctx = datafusion::prelude::SessionContext::new();
        let mut state = ctx.state();
        register_all(&mut state).unwrap();
        for name in names() {
            assert!(
                state.udf(name).is_ok() || state.udaf(name).is_ok() || state.udwf(name).is_ok(),
                "{name} not registered"
            );
        }
        assert!(scalar("kql_has").is_some());
        assert!(scalar("nope").is_none());
    }
}
