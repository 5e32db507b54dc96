//! Series functions over dynamic numeric arrays (the arrays `make-series` builds):
//! `series_stats_dynamic`, `series_fit_line_dynamic`, `series_decompose_anomalies` (the
//! `ad_flag` output), `series_fill_const`, `series_fill_forward`, `series_fill_backward`,
//! `series_fill_linear`.
//!
//! A series arrives as dynamic JSON text; a value that is not an array gives null. Elements that
//! are not numbers (JSON null, strings) are missing values.

use std::sync::Arc;

use datafusion::arrow::array::StringArray;
use datafusion::arrow::datatypes::DataType;
use datafusion::common::Result;
use datafusion::logical_expr::{ColumnarValue, ScalarFunctionArgs};
use serde_json::Value;

use crate::args::{BoolArg, F64Arg, I64Arg, Rows, StrArg, arity};
use crate::dynamic::parse;
use crate::udf::{Spec, ret_utf8};

fn array_of(s: Option<&str>) -> Option<Vec<Value>> {
    match parse(s?)? {
        Value::Array(a) => Some(a),
        _ => None,
    }
}

/// The finite number in an element, if any.
fn number(v: &Value) -> Option<f64> {
    v.as_f64().filter(|x| x.is_finite())
}

fn real(v: f64) -> Value {
    serde_json::Number::from_f64(v)
        .map(Value::Number)
        .unwrap_or(Value::Null)
}

fn reals(v: &[f64]) -> Value {
    Value::Array(v.iter().copied().map(real).collect())
}

/// The mean and the sample variance (n - 1; 0 for one value).
fn mean_variance(x: &[f64]) -> (f64, f64) {
    let n = x.len() as f64;
    let mean = x.iter().sum::<f64>() / n;
    let ss: f64 = x.iter().map(|v| (v - mean) * (v - mean)).sum();
    let var = if x.len() > 1 { ss / (n - 1.0) } else { 0.0 };
    (mean, var)
}

/// Runs `f` on every row's series and further arguments, dynamic text out.
fn per_row(
    args: &ScalarFunctionArgs,
    mut f: impl FnMut(Vec<Value>, usize) -> Option<Value>,
) -> Result<ColumnarValue> {
    let rows = Rows::of(&args.args, args.number_rows);
    let series = StrArg::new(&args.args[0])?;
    let out: StringArray = (0..rows.n)
        .map(|i| f(array_of(series.get(i))?, i).map(|v| v.to_string()))
        .collect();
    rows.finish(Arc::new(out))
}

// ---------------------------------------------------------------------------------------------
// series_stats_dynamic
// ---------------------------------------------------------------------------------------------

/// `series_stats_dynamic(series[, ignore_nonfinite])`
/// (<https://learn.microsoft.com/kusto/query/series-stats-dynamic-function>): a bag with `min`,
/// `min_idx`, `max`, `max_idx`, `avg`, `stdev`, `variance` (sample), `sum`, `len` (the input
/// length). With a missing or non-finite element and `ignore_nonfinite` false (the default) the
/// result is null, as the page says; with true those elements are skipped (indexes still count
/// them). Null for a series with no values.
pub fn series_stats(a: &[Value], ignore_nonfinite: bool) -> Option<Value> {
    let mut vals: Vec<(usize, f64)> = Vec::with_capacity(a.len());
    for (i, v) in a.iter().enumerate() {
        match number(v) {
            Some(x) => vals.push((i, x)),
            None if ignore_nonfinite => {}
            None => return None,
        }
    }
    if vals.is_empty() {
        return None;
    }
    let (mut min, mut max) = (vals[0], vals[0]);
    for &(i, x) in &vals[1..] {
        if x < min.1 {
            min = (i, x);
        }
        if x > max.1 {
            max = (i, x);
        }
    }
    let xs: Vec<f64> = vals.iter().map(|v| v.1).collect();
    let (avg, var) = mean_variance(&xs);
    let mut m = serde_json::Map::new();
    m.insert("min".into(), real(min.1));
    m.insert("min_idx".into(), Value::from(min.0));
    m.insert("max".into(), real(max.1));
    m.insert("max_idx".into(), Value::from(max.0));
    m.insert("avg".into(), real(avg));
    m.insert("stdev".into(), real(var.sqrt()));
    m.insert("variance".into(), real(var));
    m.insert("sum".into(), real(xs.iter().sum()));
    m.insert("len".into(), Value::from(a.len()));
    Some(Value::Object(m))
}

pub(crate) fn kql_series_stats_dynamic() -> Spec {
    Spec {
        name: "kql_series_stats_dynamic",
        coerce: |n, t| {
            arity(n, t, 1, 2)?;
            let mut v = vec![DataType::Utf8];
            if t.len() == 2 {
                v.push(DataType::Boolean);
            }
            Ok(v)
        },
        ret: ret_utf8,
        ret_field: None,
        invoke: |args| {
            let ignore = args.args.get(1).map(BoolArg::new).transpose()?;
            per_row(args, |a, i| {
                series_stats(&a, ignore.as_ref().and_then(|b| b.get(i)).unwrap_or(false))
            })
        },
    }
}

// ---------------------------------------------------------------------------------------------
// series_fit_line_dynamic
// ---------------------------------------------------------------------------------------------

/// Least squares over x = 1..n: (slope, interception, fitted values).
fn line_fit(y: &[f64]) -> (f64, f64, Vec<f64>) {
    let n = y.len() as f64;
    let xm = (n + 1.0) / 2.0;
    let ym = y.iter().sum::<f64>() / n;
    let mut sxx = 0.0;
    let mut sxy = 0.0;
    for (i, v) in y.iter().enumerate() {
        let dx = (i + 1) as f64 - xm;
        sxx += dx * dx;
        sxy += dx * (v - ym);
    }
    let slope = if sxx > 0.0 { sxy / sxx } else { 0.0 };
    let b = ym - slope * xm;
    let fit = (0..y.len()).map(|i| slope * (i + 1) as f64 + b).collect();
    (slope, b, fit)
}

/// `series_fit_line_dynamic(series)`
/// (<https://learn.microsoft.com/kusto/query/series-fit-line-dynamic-function>): linear
/// regression over x = 1, 2, ... n (the page's example: interception -1.666 and slope 2.730
/// give a first fitted value of 1.064). `variance` is the sample variance of the input,
/// `rvariance` the residuals' sum of squares over n - 1, `rsquare` 1 - SSres / SStot; the page's
/// example gives 0.982, 2.730, 98.628, 1.686, -1.666. Null when an element is not a number or
/// the series has fewer than two values.
pub fn series_fit_line(a: &[Value]) -> Option<Value> {
    let y: Vec<f64> = a.iter().map(number).collect::<Option<_>>()?;
    if y.len() < 2 {
        return None;
    }
    let (slope, b, fit) = line_fit(&y);
    let (mean, var) = mean_variance(&y);
    let n = y.len() as f64;
    let ss_res: f64 = y.iter().zip(&fit).map(|(v, f)| (v - f) * (v - f)).sum();
    let ss_tot: f64 = y.iter().map(|v| (v - mean) * (v - mean)).sum();
    let rsquare = if ss_tot > 0.0 {
        1.0 - ss_res / ss_tot
    } else {
        1.0
    };
    let mut m = serde_json::Map::new();
    m.insert("rsquare".into(), real(rsquare));
    m.insert("slope".into(), real(slope));
    m.insert("variance".into(), real(var));
    m.insert("rvariance".into(), real(ss_res / (n - 1.0)));
    m.insert("interception".into(), real(b));
    m.insert("line_fit".into(), reals(&fit));
    Some(Value::Object(m))
}

pub(crate) fn kql_series_fit_line_dynamic() -> Spec {
    Spec {
        name: "kql_series_fit_line_dynamic",
        coerce: |n, t| {
            arity(n, t, 1, 1)?;
            Ok(vec![DataType::Utf8])
        },
        ret: ret_utf8,
        ret_field: None,
        invoke: |args| per_row(args, |a, _| series_fit_line(&a)),
    }
}

// ---------------------------------------------------------------------------------------------
// series_decompose_anomalies
// ---------------------------------------------------------------------------------------------

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

/// The p-th percentile (0..100) of sorted values, interpolating linearly between ranks.
fn percentile(sorted: &[f64], p: f64) -> f64 {
    let pos = p / 100.0 * (sorted.len() - 1) as f64;
    let lo = pos.floor() as usize;
    let hi = pos.ceil() as usize;
    sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo as f64)
}

/// The trend of `series_decompose`.
#[derive(Clone, Copy, PartialEq, Debug)]
pub enum Trend {
    Avg,
    LineFit,
    None,
}

/// `series_decompose(x, period, trend)` (<https://learn.microsoft.com/kusto/query/series-decompose-function>):
/// the seasonal component is the median of the points in the same phase (0 when the period is
/// 0), the trend is taken from the deseasonal series; returns (baseline, residual).
pub fn decompose(x: &[f64], period: usize, trend: Trend) -> (Vec<f64>, Vec<f64>) {
    let n = x.len();
    let seasonal: Vec<f64> = if period == 0 {
        vec![0.0; n]
    } else {
        let medians: Vec<f64> = (0..period.min(n))
            .map(|phase| {
                let mut v: Vec<f64> = x.iter().skip(phase).step_by(period).copied().collect();
                median(&mut v)
            })
            .collect();
        (0..n).map(|i| medians[i % period]).collect()
    };
    let deseasonal: Vec<f64> = x.iter().zip(&seasonal).map(|(a, s)| a - s).collect();
    let trend: Vec<f64> = match trend {
        Trend::None => vec![0.0; n],
        Trend::Avg => {
            let m = deseasonal.iter().sum::<f64>() / n as f64;
            vec![m; n]
        }
        Trend::LineFit if n >= 2 => line_fit(&deseasonal).2,
        Trend::LineFit => deseasonal.clone(),
    };
    let baseline: Vec<f64> = seasonal.iter().zip(&trend).map(|(s, t)| s + t).collect();
    let residual = x.iter().zip(&baseline).map(|(a, b)| a - b).collect();
    (baseline, residual)
}

/// Tukey's fence scores (<https://learn.microsoft.com/kusto/query/series-outliers-function>):
/// with the low and high percentiles (10 and 90 for `ctukey`, 25 and 75 for `tukey`) and their
/// range R, a value above the high one scores (x - high) / R, below the low one (x - low) / R,
/// and 0 in between.
pub fn outlier_scores(x: &[f64], low_pct: f64, high_pct: f64) -> Vec<f64> {
    let mut sorted = x.to_vec();
    sorted.sort_by(f64::total_cmp);
    let lo = percentile(&sorted, low_pct);
    let hi = percentile(&sorted, high_pct);
    let range = hi - lo;
    x.iter()
        .map(|&v| {
            let over = if v > hi {
                v - hi
            } else if v < lo {
                v - lo
            } else {
                return 0.0;
            };
            if range > 0.0 {
                over / range
            } else {
                over.signum() * f64::INFINITY
            }
        })
        .collect()
}

/// `series_decompose_anomalies(x, threshold, period, trend, tukey)`
/// (<https://learn.microsoft.com/kusto/query/series-decompose-anomalies-function>): decomposes
/// the series, scores the residual with Tukey's fence, and flags +1 where the score is above
/// the threshold, -1 where it is below minus the threshold, 0 elsewhere. `tukey` picks the
/// 25th-75th percentile range instead of `ctukey`'s 10th-90th. Kusto does not document its
/// percentile interpolation; this one is linear between ranks. Null when an element is not a
/// number.
pub fn decompose_anomalies(
    a: &[Value],
    threshold: f64,
    period: usize,
    trend: Trend,
    tukey: bool,
) -> Option<Vec<i64>> {
    let x: Vec<f64> = a.iter().map(number).collect::<Option<_>>()?;
    if x.is_empty() {
        return Some(Vec::new());
    }
    let (_, residual) = decompose(&x, period, trend);
    let (lo, hi) = if tukey { (25.0, 75.0) } else { (10.0, 90.0) };
    Some(
        outlier_scores(&residual, lo, hi)
            .into_iter()
            .map(|s| {
                if s > threshold {
                    1
                } else if s < -threshold {
                    -1
                } else {
                    0
                }
            })
            .collect(),
    )
}

pub(crate) fn kql_series_decompose_anomalies() -> Spec {
    Spec {
        name: "kql_series_decompose_anomalies",
        coerce: |n, t| {
            arity(n, t, 5, 5)?;
            Ok(vec![
                DataType::Utf8,
                DataType::Float64,
                DataType::Int64,
                DataType::Utf8,
                DataType::Utf8,
            ])
        },
        ret: ret_utf8,
        ret_field: None,
        invoke: |args| {
            let threshold = F64Arg::new(&args.args[1])?;
            let period = I64Arg::new(&args.args[2])?;
            let trend = StrArg::new(&args.args[3])?;
            let method = StrArg::new(&args.args[4])?;
            let mut bad = None;
            let out = per_row(args, |a, i| {
                let trend = match trend.get(i).unwrap_or("avg") {
                    "avg" => Trend::Avg,
                    "linefit" => Trend::LineFit,
                    "none" => Trend::None,
                    other => {
                        bad = Some(format!("unknown trend `{other}` (avg, linefit or none)"));
                        return None;
                    }
                };
                let tukey = match method.get(i).unwrap_or("ctukey") {
                    "ctukey" => false,
                    "tukey" => true,
                    other => {
                        bad = Some(format!("unknown method `{other}` (ctukey or tukey)"));
                        return None;
                    }
                };
                let period = usize::try_from(period.get(i)?).ok()?;
                let flags =
                    decompose_anomalies(&a, threshold.get(i).unwrap_or(1.5), period, trend, tukey)?;
                Some(Value::Array(flags.into_iter().map(Value::from).collect()))
            });
            match bad {
                Some(msg) => datafusion::common::exec_err!("series_decompose_anomalies: {msg}"),
                None => out,
            }
        },
    }
}

// ---------------------------------------------------------------------------------------------
// series_fill_*
// ---------------------------------------------------------------------------------------------

/// Whether an element is missing: JSON null when the placeholder is null, else a number equal
/// to the placeholder.
fn is_missing(v: &Value, placeholder: Option<f64>) -> bool {
    match placeholder {
        None => v.is_null(),
        Some(p) => v.as_f64() == Some(p),
    }
}

/// The placeholder argument (dynamic JSON text; null, absent or JSON null mean null).
fn placeholder_of(arg: Option<&StrArg>, i: usize) -> Option<f64> {
    arg.and_then(|a| a.get(i))
        .and_then(parse)
        .and_then(|v| v.as_f64())
}

/// `series_fill_const(series, value[, placeholder])`
/// (<https://learn.microsoft.com/kusto/query/series-fill-const-function>): missing elements
/// become `value` (kept as written: filling `[111,null]` with 0.0 gives `[111,0.0]`).
pub fn fill_const(a: Vec<Value>, value: Value, placeholder: Option<f64>) -> Vec<Value> {
    a.into_iter()
        .map(|v| {
            if is_missing(&v, placeholder) {
                value.clone()
            } else {
                v
            }
        })
        .collect()
}

/// `series_fill_forward` / `series_fill_backward`
/// (<https://learn.microsoft.com/kusto/query/series-fill-forward-function>): a missing element
/// takes the nearest value on its left (right); leading (trailing) ones stay.
pub fn fill_direction(mut a: Vec<Value>, placeholder: Option<f64>, forward: bool) -> Vec<Value> {
    let mut last: Option<Value> = None;
    let order: Vec<usize> = if forward {
        (0..a.len()).collect()
    } else {
        (0..a.len()).rev().collect()
    };
    for i in order {
        if is_missing(&a[i], placeholder) {
            if let Some(v) = &last {
                a[i] = v.clone();
            }
        } else {
            last = Some(a[i].clone());
        }
    }
    a
}

/// `series_fill_linear(series[, placeholder[, fill_edges[, constant]]])`
/// (<https://learn.microsoft.com/kusto/query/series-fill-linear-function>): missing elements
/// between two values are interpolated linearly; when every value is a whole number the
/// interpolated ones are truncated to whole numbers (the page's example: 111 and 36 give 73,
/// 41 and 16 give 32 and 24). With `fill_edges` (the default) leading and trailing missing
/// elements take the nearest value. A series of missing elements only is filled with
/// `constant` (default 0.0; a null constant keeps them).
pub fn fill_linear(
    mut a: Vec<Value>,
    placeholder: Option<f64>,
    fill_edges: bool,
    constant: Value,
) -> Vec<Value> {
    let known: Vec<usize> = (0..a.len())
        .filter(|&i| !is_missing(&a[i], placeholder) && a[i].as_f64().is_some())
        .collect();
    if known.is_empty() {
        if a.iter().all(|v| is_missing(v, placeholder)) {
            return vec![constant; a.len()];
        }
        return a;
    }
    let integers = known.iter().all(|&i| a[i].is_i64() || a[i].is_u64());
    for w in known.windows(2) {
        let (l, r) = (w[0], w[1]);
        let (lv, rv) = (a[l].as_f64().unwrap_or(0.0), a[r].as_f64().unwrap_or(0.0));
        for (k, slot) in a.iter_mut().enumerate().take(r).skip(l + 1) {
            if !is_missing(slot, placeholder) {
                continue;
            }
            let v = lv + (rv - lv) * (k - l) as f64 / (r - l) as f64;
            *slot = if integers {
                Value::from(v.trunc() as i64)
            } else {
                real(v)
            };
        }
    }
    if fill_edges {
        let (first, last) = (known[0], *known.last().expect("known values"));
        let (fv, lv) = (a[first].clone(), a[last].clone());
        for v in a.iter_mut().take(first) {
            *v = fv.clone();
        }
        for v in a.iter_mut().skip(last + 1) {
            *v = lv.clone();
        }
    }
    a
}

fn coerce_text(min: usize, max: usize) -> crate::udf::CoerceFn {
    match (min, max) {
        (1, 2) => |n, t| crate::args::all_text(n, t, 1, 2),
        _ => |n, t| crate::args::all_text(n, t, 2, 3),
    }
}

pub(crate) fn kql_series_fill_const() -> Spec {
    Spec {
        name: "kql_series_fill_const",
        coerce: coerce_text(2, 3),
        ret: ret_utf8,
        ret_field: None,
        invoke: |args| {
            let value = StrArg::new(&args.args[1])?;
            let ph = args.args.get(2).map(StrArg::new).transpose()?;
            per_row(args, |a, i| {
                let v = value.get(i).and_then(parse).unwrap_or(Value::Null);
                Some(Value::Array(fill_const(
                    a,
                    v,
                    placeholder_of(ph.as_ref(), i),
                )))
            })
        },
    }
}

fn fill_dir_spec(name: &'static str, invoke: crate::udf::InvokeFn) -> Spec {
    Spec {
        name,
        coerce: coerce_text(1, 2),
        ret: ret_utf8,
        ret_field: None,
        invoke,
    }
}

fn fill_dir(args: &ScalarFunctionArgs, forward: bool) -> Result<ColumnarValue> {
    let ph = args.args.get(1).map(StrArg::new).transpose()?;
    per_row(args, |a, i| {
        Some(Value::Array(fill_direction(
            a,
            placeholder_of(ph.as_ref(), i),
            forward,
        )))
    })
}

pub(crate) fn kql_series_fill_forward() -> Spec {
    fill_dir_spec("kql_series_fill_forward", |a| fill_dir(a, true))
}

pub(crate) fn kql_series_fill_backward() -> Spec {
    fill_dir_spec("kql_series_fill_backward", |a| fill_dir(a, false))
}

pub(crate) fn kql_series_fill_linear() -> Spec {
    Spec {
        name: "kql_series_fill_linear",
        coerce: |n, t| {
            arity(n, t, 4, 4)?;
            Ok(vec![
                DataType::Utf8,
                DataType::Utf8,
                DataType::Boolean,
                DataType::Utf8,
            ])
        },
        ret: ret_utf8,
        ret_field: None,
        invoke: |args| {
            let ph = StrArg::new(&args.args[1])?;
            let edges = BoolArg::new(&args.args[2])?;
            let constant = StrArg::new(&args.args[3])?;
            per_row(args, |a, i| {
                let c = constant.get(i).and_then(parse).unwrap_or(Value::Null);
                Some(Value::Array(fill_linear(
                    a,
                    placeholder_of(Some(&ph), i),
                    edges.get(i).unwrap_or(true),
                    c,
                )))
            })
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{lit, str1};

    fn arr(s: &str) -> Vec<Value> {
        array_of(Some(s)).unwrap()
    }
    fn text(v: Vec<Value>) -> String {
        Value::Array(v).to_string()
    }

    #[test]
    fn stats_page_example() {
        // https://learn.microsoft.com/kusto/query/series-stats-dynamic-function
        let x = "[23, 46, 23, 87, 4, 8, 3, 75, 2, 56, 13, 75, 32, 16, 29]";
        let s = str1(kql_series_stats_dynamic(), &[lit(x)]).unwrap();
        let v: Value = serde_json::from_str(&s).unwrap();
        assert_eq!(v["min"], 2.0);
        assert_eq!(v["min_idx"], 8);
        assert_eq!(v["max"], 87.0);
        assert_eq!(v["max_idx"], 3);
        assert!((v["avg"].as_f64().unwrap() - 32.8).abs() < 1e-12);
        assert!((v["stdev"].as_f64().unwrap() - 28.503_633_853_548).abs() < 1e-9);
        assert!((v["variance"].as_f64().unwrap() - 812.457_142_857_143).abs() < 1e-9);
        assert_eq!(v["sum"], 492.0);
        assert_eq!(v["len"], 15);
        assert!(s.starts_with(r#"{"min":2.0,"min_idx":8,"max":87.0,"max_idx":3,"avg":"#));
        // Non-finite values: null unless ignored.
        assert_eq!(series_stats(&arr("[1, null, 3]"), false), None);
        let v = series_stats(&arr("[1, null, 3]"), true).unwrap();
        assert_eq!(v["max_idx"], 2);
        assert_eq!(v["len"], 3);
        assert_eq!(str1(kql_series_stats_dynamic(), &[lit("{}")]), None);
    }

    #[test]
    fn fit_line_page_example() {
        // https://learn.microsoft.com/kusto/query/series-fit-line-dynamic-function
        let y = "[2, 5, 6, 8, 11, 15, 17, 18, 25, 26, 30, 30]";
        let v = series_fit_line(&arr(y)).unwrap();
        let f = |k: &str| v[k].as_f64().unwrap();
        assert!((f("rsquare") - 0.982).abs() < 1e-3);
        assert!((f("slope") - 2.730).abs() < 1e-3);
        assert!((f("variance") - 98.628).abs() < 1e-3);
        assert!((f("rvariance") - 1.686).abs() < 1e-3);
        assert!((f("interception") - -1.666).abs() < 1e-3);
        let fit = v["line_fit"].as_array().unwrap();
        assert_eq!(fit.len(), 12);
        assert!((fit[0].as_f64().unwrap() - 1.064).abs() < 1e-3);
        assert!((fit[11].as_f64().unwrap() - 31.102).abs() < 1e-3);
        assert_eq!(series_fit_line(&arr("[1]")), None);
        assert_eq!(series_fit_line(&arr("[1, null]")), None);
    }

    #[test]
    fn decompose_flags_spikes_and_dips() {
        // A flat series with noise-free weekly pattern plus one spike and one dip.
        let mut x: Vec<f64> = (0..28)
            .map(|i| if i % 7 >= 5 { 10.0 } else { 15.0 })
            .collect();
        x[9] += 8.0;
        x[20] -= 8.0;
        let a: Vec<Value> = x.iter().map(|v| real(*v)).collect();
        let flags = decompose_anomalies(&a, 1.5, 7, Trend::Avg, false).unwrap();
        let expected: Vec<i64> = (0..28)
            .map(|i| match i {
                9 => 1,
                20 => -1,
                _ => 0,
            })
            .collect();
        assert_eq!(flags, expected);
        // Without seasonality the weekend dips are the pattern's low end, not anomalies, but
        // the spike stands out.
        let flags = decompose_anomalies(&a, 1.5, 0, Trend::None, false).unwrap();
        assert_eq!(flags[9], 1);
        assert_eq!(flags[0], 0);
        // A linear trend is removed by linefit.
        let t: Vec<Value> = (0..20)
            .map(|i| real(i as f64 * 2.0 + if i % 2 == 0 { 0.5 } else { -0.5 }))
            .collect();
        let flags = decompose_anomalies(&t, 1.5, 0, Trend::LineFit, false).unwrap();
        assert!(flags.iter().all(|f| *f == 0));
        assert_eq!(
            decompose_anomalies(&arr("[1, null]"), 1.5, 0, Trend::Avg, false),
            None
        );
    }

    #[test]
    fn tukey_scores() {
        // 1..=11: P10 = 2, P90 = 10, range 8; 30 scores (30 - 10) / 8.
        let mut x: Vec<f64> = (1..=10).map(f64::from).collect();
        x.push(30.0);
        let s = outlier_scores(&x, 10.0, 90.0);
        assert_eq!(s[0], -0.125);
        assert_eq!(s[5], 0.0);
        assert_eq!(s[10], 2.5);
    }

    #[test]
    fn fill_page_examples() {
        // https://learn.microsoft.com/kusto/query/series-fill-const-function
        let a = arr("[111,null,36,41,23,null,16,61,33,null,null]");
        assert_eq!(
            text(fill_const(a.clone(), real(0.0), None)),
            "[111,0.0,36,41,23,0.0,16,61,33,0.0,0.0]"
        );
        assert_eq!(
            text(fill_const(a, Value::from(-1), None)),
            "[111,-1,36,41,23,-1,16,61,33,-1,-1]"
        );
        // https://learn.microsoft.com/kusto/query/series-fill-forward-function
        let a = arr("[null,null,36,41,null,null,16,61,33,null,null]");
        assert_eq!(
            text(fill_direction(a.clone(), None, true)),
            "[null,null,36,41,41,41,16,61,33,33,33]"
        );
        // https://learn.microsoft.com/kusto/query/series-fill-backward-function
        assert_eq!(
            text(fill_direction(a, None, false)),
            "[36,36,36,41,16,16,16,61,33,null,null]"
        );
        // A placeholder other than null.
        assert_eq!(
            text(fill_direction(arr("[1,-1,3]"), Some(-1.0), true)),
            "[1,1,3]"
        );
    }

    #[test]
    fn fill_linear_page_example() {
        // https://learn.microsoft.com/kusto/query/series-fill-linear-function
        let d = arr("[null,111.0,null,36.0,41.0,null,null,16.0,61.0,33.0,null,null]");
        let out = fill_linear(d.clone(), None, true, real(0.0));
        let v: Vec<f64> = out.iter().map(|x| x.as_f64().unwrap()).collect();
        let want = [
            111.0, 111.0, 73.5, 36.0, 41.0, 32.667, 24.333, 16.0, 61.0, 33.0, 33.0, 33.0,
        ];
        for (a, b) in v.iter().zip(want) {
            assert!((a - b).abs() < 1e-3, "{v:?}");
        }
        assert_eq!(
            text(fill_linear(d, None, false, real(0.0)))
                .split(',')
                .next()
                .unwrap(),
            "[null"
        );
        let i = arr("[null,111,null,36,41,null,null,16,61,33,null,null]");
        assert_eq!(
            text(fill_linear(i.clone(), None, true, real(0.0))),
            "[111,111,73,36,41,32,24,16,61,33,33,33]"
        );
        assert_eq!(
            text(fill_linear(i, None, false, real(0.0))),
            "[null,111,73,36,41,32,24,16,61,33,null,null]"
        );
        let n = arr("[null,null,null,null]");
        assert_eq!(
            text(fill_linear(n.clone(), None, true, real(0.0))),
            "[0.0,0.0,0.0,0.0]"
        );
        assert_eq!(
            text(fill_linear(n, None, true, real(2.5))),
            "[2.5,2.5,2.5,2.5]"
        );
    }

    #[test]
    fn udfs_through_datafusion_shapes() {
        assert_eq!(
            str1(
                kql_series_fill_const(),
                &[lit("[1,null]"), lit("0"), crate::testing::null()]
            )
            .as_deref(),
            Some("[1,0]")
        );
        assert_eq!(
            str1(kql_series_fill_forward(), &[lit("[1,null]")]).as_deref(),
            Some("[1,1]")
        );
        assert_eq!(
            str1(kql_series_fill_backward(), &[lit("[null,2]")]).as_deref(),
            Some("[2,2]")
        );
        let b = ColumnarValue::Scalar(datafusion::common::ScalarValue::Boolean(Some(true)));
        assert_eq!(
            str1(
                kql_series_fill_linear(),
                &[lit("[1,null,3]"), crate::testing::null(), b, lit("0.0")]
            )
            .as_deref(),
            Some("[1,2,3]")
        );
        let f = |v: f64| ColumnarValue::Scalar(datafusion::common::ScalarValue::Float64(Some(v)));
        let i = |v: i64| ColumnarValue::Scalar(datafusion::common::ScalarValue::Int64(Some(v)));
        assert_eq!(
            str1(
                kql_series_decompose_anomalies(),
                &[
                    lit("[1,1,1,1,1,1,1,1,1,1,9]"),
                    f(1.5),
                    i(0),
                    lit("avg"),
                    lit("ctukey")
                ]
            )
            .as_deref(),
            Some("[0,0,0,0,0,0,0,0,0,0,1]")
        );
    }
}
