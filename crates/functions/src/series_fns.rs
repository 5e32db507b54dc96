//! Series functions over dynamic numeric arrays (the arrays `make-series` builds):
//! `series_stats_dynamic`, `series_fit_line_dynamic`, `series_decompose`,
//! `series_decompose_anomalies`, `series_outliers`, `series_periods_detect`,
//! `series_fill_const`, `series_fill_forward`, `series_fill_backward`, `series_fill_linear`.
//! The functions that return several columns in Kusto (`series_stats`, `series_fit_line`,
//! `series_decompose*`, `series_periods_detect`) return one bag here, which the planner spreads
//! into columns.
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
// series_decompose, series_decompose_anomalies, series_outliers, series_periods_detect
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

impl Trend {
    fn parse(s: &str) -> std::result::Result<Trend, String> {
        match s {
            "avg" => Ok(Trend::Avg),
            "linefit" => Ok(Trend::LineFit),
            "none" => Ok(Trend::None),
            other => Err(format!("unknown trend `{other}` (avg, linefit or none)")),
        }
    }
}

/// The Seasonality argument of `series_decompose*`: -1 detects the period (with the
/// Seasonality_threshold for its score), 0 means none, a positive number is the period in bins.
#[derive(Clone, Copy, PartialEq, Debug)]
pub enum Seasonality {
    Auto { threshold: f64 },
    Period(usize),
}

impl Seasonality {
    fn of(period: i64, threshold: f64) -> std::result::Result<Seasonality, String> {
        match period {
            -1 => Ok(Seasonality::Auto { threshold }),
            p if p >= 0 => Ok(Seasonality::Period(p as usize)),
            p => Err(format!(
                "seasonality {p}: use -1 (detect), 0 (none) or a period in bins"
            )),
        }
    }

    fn period(self, x: &[f64]) -> usize {
        match self {
            Seasonality::Period(p) => p,
            Seasonality::Auto { threshold } => crate::series_periods::auto_period(x, threshold),
        }
    }
}

/// The components of `series_decompose`.
#[derive(Debug, PartialEq)]
pub struct Decomposition {
    pub baseline: Vec<f64>,
    pub seasonal: Vec<f64>,
    pub trend: Vec<f64>,
    pub residual: Vec<f64>,
}

/// `series_decompose(x, seasonality, trend)`
/// (<https://learn.microsoft.com/kusto/query/series-decompose-function>), in the page's order:
/// the seasonal component is the median of the points in the same phase (0 without a period),
/// the trend is taken from the deseasonal series (its average, its least-squares line, or 0),
/// baseline = seasonal + trend and residual = x - baseline. Seasonality -1 finds the period
/// with [`crate::series_periods::auto_period`].
pub fn decompose(x: &[f64], seasonality: Seasonality, trend: Trend) -> Decomposition {
    let n = x.len();
    let period = seasonality.period(x);
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
    Decomposition {
        baseline,
        seasonal,
        trend,
        residual,
    }
}

/// Tukey's fence scores (<https://learn.microsoft.com/kusto/query/series-outliers-function>):
/// with the low and high percentiles (10 and 90 for `ctukey`, 25 and 75 for `tukey`) and their
/// range R, a value above the high one scores (x - high) / R, below the low one (x - low) / R,
/// and 0 in between. With R = 0 a value outside scores ±infinity (null in dynamic output).
pub fn outlier_scores(x: &[f64], low_pct: f64, high_pct: f64) -> Vec<f64> {
    let mut sorted = x.to_vec();
    sorted.sort_by(f64::total_cmp);
    if sorted.is_empty() {
        return Vec::new();
    }
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

/// Whether an anomaly detection method is `tukey` (25th-75th percentiles) rather than
/// `ctukey` (10th-90th by default).
fn is_tukey(method: &str) -> std::result::Result<bool, String> {
    match method {
        "ctukey" => Ok(false),
        "tukey" => Ok(true),
        other => Err(format!("unknown method `{other}` (ctukey or tukey)")),
    }
}

/// What `series_decompose_anomalies` returns.
#[derive(Debug, PartialEq)]
pub struct Anomalies {
    pub flags: Vec<i64>,
    pub scores: Vec<f64>,
    pub baseline: Vec<f64>,
}

/// `series_decompose_anomalies(x, threshold, seasonality, trend, 0, method)`
/// (<https://learn.microsoft.com/kusto/query/series-decompose-anomalies-function>): decomposes
/// the series, scores the residual with Tukey's fence (`ad_score`), and flags +1 where the
/// score is above the threshold, -1 where it is below minus the threshold, 0 elsewhere
/// (`ad_flag`); `baseline` is the decomposition's. `tukey` picks the 25th-75th percentile range
/// instead of `ctukey`'s 10th-90th. Kusto does not document its percentile interpolation; this
/// one is linear between ranks.
pub fn decompose_anomalies(
    x: &[f64],
    threshold: f64,
    seasonality: Seasonality,
    trend: Trend,
    tukey: bool,
) -> Anomalies {
    let d = decompose(x, seasonality, trend);
    let (lo, hi) = if tukey { (25.0, 75.0) } else { (10.0, 90.0) };
    let scores = outlier_scores(&d.residual, lo, hi);
    let flags = scores
        .iter()
        .map(|&s| {
            if s > threshold {
                1
            } else if s < -threshold {
                -1
            } else {
                0
            }
        })
        .collect();
    Anomalies {
        flags,
        scores,
        baseline: d.baseline,
    }
}

/// The finite numbers of a series, or None when an element is not one (Kusto's
/// decomposition needs a complete series: fill the gaps first).
fn numbers(a: &[Value]) -> Option<Vec<f64>> {
    a.iter().map(number).collect()
}

/// Runs `f` on every row; an error message it returns fails the query (a bad trend or
/// method name is a mistake in the query, not in the data).
fn per_row_checked(
    args: &ScalarFunctionArgs,
    name: &str,
    mut f: impl FnMut(Vec<Value>, usize) -> std::result::Result<Option<Value>, String>,
) -> Result<ColumnarValue> {
    let mut bad = None;
    let out = per_row(args, |a, i| match f(a, i) {
        Ok(v) => v,
        Err(msg) => {
            bad.get_or_insert(msg);
            None
        }
    })?;
    match bad {
        Some(msg) => datafusion::common::exec_err!("{name}: {msg}"),
        None => Ok(out),
    }
}

fn ints(v: &[i64]) -> Value {
    Value::Array(v.iter().copied().map(Value::from).collect())
}

/// `kql_series_decompose_anomalies(series, threshold, seasonality, trend, method,
/// seasonality_threshold)`: a bag with `ad_flag`, `ad_score` and `baseline`; the planner
/// spreads it into columns. Null when an element is not a number.
pub(crate) fn kql_series_decompose_anomalies() -> Spec {
    Spec {
        name: "kql_series_decompose_anomalies",
        coerce: |n, t| {
            arity(n, t, 6, 6)?;
            Ok(vec![
                DataType::Utf8,
                DataType::Float64,
                DataType::Int64,
                DataType::Utf8,
                DataType::Utf8,
                DataType::Float64,
            ])
        },
        ret: ret_utf8,
        ret_field: None,
        invoke: |args| {
            let threshold = F64Arg::new(&args.args[1])?;
            let period = I64Arg::new(&args.args[2])?;
            let trend = StrArg::new(&args.args[3])?;
            let method = StrArg::new(&args.args[4])?;
            let season_threshold = F64Arg::new(&args.args[5])?;
            per_row_checked(args, "series_decompose_anomalies", |a, i| {
                let trend = Trend::parse(trend.get(i).unwrap_or("avg"))?;
                let tukey = is_tukey(method.get(i).unwrap_or("ctukey"))?;
                let seasonality = Seasonality::of(
                    period.get(i).unwrap_or(-1),
                    season_threshold.get(i).unwrap_or(0.6),
                )?;
                let Some(x) = numbers(&a) else {
                    return Ok(None);
                };
                let r = decompose_anomalies(
                    &x,
                    threshold.get(i).unwrap_or(1.5),
                    seasonality,
                    trend,
                    tukey,
                );
                let mut m = serde_json::Map::new();
                m.insert("ad_flag".into(), ints(&r.flags));
                m.insert("ad_score".into(), reals(&r.scores));
                m.insert("baseline".into(), reals(&r.baseline));
                Ok(Some(Value::Object(m)))
            })
        },
    }
}

/// `kql_series_decompose(series, seasonality, trend, seasonality_threshold)`: a bag with
/// `baseline`, `seasonal`, `trend` and `residual`.
pub(crate) fn kql_series_decompose() -> Spec {
    Spec {
        name: "kql_series_decompose",
        coerce: |n, t| {
            arity(n, t, 4, 4)?;
            Ok(vec![
                DataType::Utf8,
                DataType::Int64,
                DataType::Utf8,
                DataType::Float64,
            ])
        },
        ret: ret_utf8,
        ret_field: None,
        invoke: |args| {
            let period = I64Arg::new(&args.args[1])?;
            let trend = StrArg::new(&args.args[2])?;
            let season_threshold = F64Arg::new(&args.args[3])?;
            per_row_checked(args, "series_decompose", |a, i| {
                let trend = Trend::parse(trend.get(i).unwrap_or("avg"))?;
                let seasonality = Seasonality::of(
                    period.get(i).unwrap_or(-1),
                    season_threshold.get(i).unwrap_or(0.6),
                )?;
                let Some(x) = numbers(&a) else {
                    return Ok(None);
                };
                let d = decompose(&x, seasonality, trend);
                let mut m = serde_json::Map::new();
                m.insert("baseline".into(), reals(&d.baseline));
                m.insert("seasonal".into(), reals(&d.seasonal));
                m.insert("trend".into(), reals(&d.trend));
                m.insert("residual".into(), reals(&d.residual));
                Ok(Some(Value::Object(m)))
            })
        },
    }
}

/// `series_outliers(series[, kind[, ignore_val[, min_percentile[, max_percentile]]]])`
/// (<https://learn.microsoft.com/kusto/query/series-outliers-function>): Tukey's fence score of
/// every element. Missing elements (not numbers, or equal to `ignore_val`) score 0 and take no
/// part in the percentiles; `ctukey` (the default) uses the given percentiles (10 and 90 unless
/// given, each within [2, 98]), `tukey` always 25 and 75.
pub fn series_outliers(
    a: &[Value],
    tukey: bool,
    ignore: Option<f64>,
    low: f64,
    high: f64,
) -> Vec<f64> {
    let present: Vec<Option<f64>> = a
        .iter()
        .map(|v| number(v).filter(|x| Some(*x) != ignore))
        .collect();
    let values: Vec<f64> = present.iter().flatten().copied().collect();
    let (lo, hi) = if tukey { (25.0, 75.0) } else { (low, high) };
    let mut scores = outlier_scores(&values, lo, hi).into_iter();
    present
        .iter()
        .map(|v| match v {
            Some(_) => scores.next().unwrap_or(0.0),
            None => 0.0,
        })
        .collect()
}

pub(crate) fn kql_series_outliers() -> Spec {
    Spec {
        name: "kql_series_outliers",
        coerce: |n, t| {
            arity(n, t, 5, 5)?;
            Ok(vec![
                DataType::Utf8,
                DataType::Utf8,
                DataType::Float64,
                DataType::Float64,
                DataType::Float64,
            ])
        },
        ret: ret_utf8,
        ret_field: None,
        invoke: |args| {
            let kind = StrArg::new(&args.args[1])?;
            let ignore = F64Arg::new(&args.args[2])?;
            let low = F64Arg::new(&args.args[3])?;
            let high = F64Arg::new(&args.args[4])?;
            per_row_checked(args, "series_outliers", |a, i| {
                let tukey = is_tukey(kind.get(i).unwrap_or("ctukey"))?;
                let (lo, hi) = (low.get(i).unwrap_or(10.0), high.get(i).unwrap_or(90.0));
                let in_range = |v: f64| (2.0..=98.0).contains(&v);
                let valid = in_range(lo) && in_range(hi) && lo < hi;
                if !tukey && !valid {
                    return Err(format!(
                        "the percentiles must lie within [2, 98], the minimum below the maximum (got {lo} and {hi})"
                    ));
                }
                Ok(Some(reals(&series_outliers(
                    &a,
                    tukey,
                    ignore.get(i),
                    lo,
                    hi,
                ))))
            })
        },
    }
}

/// `series_periods_detect(series, min_period, max_period, num_periods)`
/// (<https://learn.microsoft.com/kusto/query/series-periods-detect-function>): a bag with
/// `periods` and `scores`, both `num_periods` long, best first, padded with 0 (see
/// [`crate::series_periods`] for the algorithm). Null when an element is not a number.
pub(crate) fn kql_series_periods_detect() -> Spec {
    Spec {
        name: "kql_series_periods_detect",
        coerce: |n, t| {
            arity(n, t, 4, 4)?;
            Ok(vec![
                DataType::Utf8,
                DataType::Float64,
                DataType::Float64,
                DataType::Int64,
            ])
        },
        ret: ret_utf8,
        ret_field: None,
        invoke: |args| {
            let min = F64Arg::new(&args.args[1])?;
            let max = F64Arg::new(&args.args[2])?;
            let count = I64Arg::new(&args.args[3])?;
            per_row_checked(args, "series_periods_detect", |a, i| {
                let (Some(min), Some(max), Some(count)) = (min.get(i), max.get(i), count.get(i))
                else {
                    return Ok(None);
                };
                let Ok(count) = usize::try_from(count) else {
                    return Err(format!("num_periods must not be negative (got {count})"));
                };
                let Some(x) = numbers(&a) else {
                    return Ok(None);
                };
                let found = crate::series_periods::detect_periods(&x, min, max);
                let mut periods = vec![0.0; count];
                let mut scores = vec![0.0; count];
                for (k, (p, s)) in found.into_iter().take(count).enumerate() {
                    periods[k] = p as f64;
                    scores[k] = s;
                }
                let mut m = serde_json::Map::new();
                m.insert("periods".into(), reals(&periods));
                m.insert("scores".into(), reals(&scores));
                Ok(Some(Value::Object(m)))
            })
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
        let expected: Vec<i64> = (0..28)
            .map(|i| match i {
                9 => 1,
                20 => -1,
                _ => 0,
            })
            .collect();
        let r = decompose_anomalies(&x, 1.5, Seasonality::Period(7), Trend::Avg, false);
        assert_eq!(r.flags, expected);
        // The baseline is the weekly pattern (phase medians), the scores Tukey's: the spike's
        // residual is 8 over a 10th-90th percentile range of 0, so it scores +infinity.
        assert_eq!(r.baseline[9], 15.0);
        assert_eq!(r.baseline[12], 10.0);
        assert_eq!(r.scores[9], f64::INFINITY);
        assert_eq!(r.scores[0], 0.0);
        // Seasonality -1 finds the weekly period, but the spike and the dip weigh on its
        // score (0.56) in so short a series: below the default threshold of 0.6 it is not
        // used, above a threshold of 0.5 it is, and flags the same two points.
        let auto = |threshold| {
            decompose_anomalies(&x, 1.5, Seasonality::Auto { threshold }, Trend::Avg, false)
        };
        assert_eq!(auto(0.5), r);
        assert_eq!(
            auto(0.6),
            decompose_anomalies(&x, 1.5, Seasonality::Period(0), Trend::Avg, false)
        );
        // Without seasonality the weekend dips are the pattern's low end, not anomalies, but
        // the spike stands out.
        let r = decompose_anomalies(&x, 1.5, Seasonality::Period(0), Trend::None, false);
        assert_eq!(r.flags[9], 1);
        assert_eq!(r.flags[0], 0);
        // A linear trend is removed by linefit.
        let t: Vec<f64> = (0..20)
            .map(|i| i as f64 * 2.0 + if i % 2 == 0 { 0.5 } else { -0.5 })
            .collect();
        let r = decompose_anomalies(&t, 1.5, Seasonality::Period(0), Trend::LineFit, false);
        assert!(r.flags.iter().all(|f| *f == 0));
        assert_eq!(numbers(&arr("[1, null]")), None);
    }

    #[test]
    fn auto_seasonality_flags_the_spike_and_nothing_else() {
        // Hourly counts over three weeks: busy working hours on weekdays, quiet weekends, a
        // little deterministic jitter, and one burst on the second Wednesday at 03:00 that is
        // unusual for the night but lower than any working hour.
        let mut x: Vec<f64> = (0..24 * 21)
            .map(|t| {
                let (day, hour) = (t / 24 % 7, t % 24);
                let busy = if (8..18).contains(&hour) { 40.0 } else { 10.0 };
                let weekday = if day < 5 { 1.0 } else { 0.3 };
                busy * weekday + ((t * 7919) % 5) as f64
            })
            .collect();
        let spike = 24 * 9 + 3;
        x[spike] += 25.0;
        let seasonal = decompose(&x, Seasonality::Auto { threshold: 0.6 }, Trend::Avg);
        assert_eq!(
            seasonal,
            decompose(&x, Seasonality::Period(168), Trend::Avg)
        );
        let r = decompose_anomalies(
            &x,
            1.5,
            Seasonality::Auto { threshold: 0.6 },
            Trend::LineFit,
            false,
        );
        let flagged: Vec<usize> = (0..x.len()).filter(|&i| r.flags[i] != 0).collect();
        assert_eq!(flagged, vec![spike]);
        // Without seasonality the burst hides inside the day's range.
        let plain = decompose_anomalies(&x, 1.5, Seasonality::Period(0), Trend::Avg, false);
        assert_eq!(plain.flags[spike], 0);
    }

    #[test]
    fn decompose_components_add_up() {
        let x: Vec<f64> = (0..24)
            .map(|i| (i % 6) as f64 * 2.0 + i as f64 * 0.5)
            .collect();
        let d = decompose(&x, Seasonality::Period(6), Trend::LineFit);
        for (i, v) in x.iter().enumerate() {
            assert!((d.baseline[i] - d.seasonal[i] - d.trend[i]).abs() < 1e-9);
            assert!((d.residual[i] - (v - d.baseline[i])).abs() < 1e-9);
        }
        // Neither seasonality nor trend: baseline 0, residual x (the page's note).
        let d = decompose(&x, Seasonality::Period(0), Trend::None);
        assert!(d.baseline.iter().all(|b| *b == 0.0));
        assert_eq!(d.residual, x);
    }

    #[test]
    fn outliers_skip_missing_values() {
        // 1..=10 and 30 with nulls around: the nulls score 0 and leave the percentiles alone.
        let a = arr("[null, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 30, null]");
        let s = series_outliers(&a, false, None, 10.0, 90.0);
        assert_eq!(s.len(), 13);
        assert_eq!(s[0], 0.0);
        assert_eq!(s[11], 2.5);
        assert_eq!(s[1], -0.125);
        // -1 as the missing-value marker.
        let a = arr("[-1, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 30]");
        assert_eq!(series_outliers(&a, false, Some(-1.0), 10.0, 90.0)[11], 2.5);
        assert_eq!(series_outliers(&a, false, Some(-1.0), 10.0, 90.0)[0], 0.0);
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
                    lit("ctukey"),
                    f(0.6)
                ]
            )
            .as_deref(),
            Some(
                r#"{"ad_flag":[0,0,0,0,0,0,0,0,0,0,1],"ad_score":[0.0,0.0,0.0,0.0,0.0,0.0,0.0,0.0,0.0,0.0,null],"baseline":[1.7272727272727273,1.7272727272727273,1.7272727272727273,1.7272727272727273,1.7272727272727273,1.7272727272727273,1.7272727272727273,1.7272727272727273,1.7272727272727273,1.7272727272727273,1.7272727272727273]}"#
            )
        );
        // The page's example series has a period of 14.
        let y = "[80,139,87,110,68,54,50,51,53,133,86,141,97,156,94,149,95,140,77,61,50,54,47,133,72,152,94,148,105,162,101,160,87,63,53,55,54,151,103,189,108,183,113,175,113,178,90,71,62,62,65,165,109,181,115,182,121,178,114,170]";
        let out = str1(
            kql_series_periods_detect(),
            &[lit(y), f(0.0), f(50.0), i(2)],
        )
        .unwrap();
        let v: Value = serde_json::from_str(&out).unwrap();
        assert_eq!(v["periods"], serde_json::json!([14.0, 0.0]));
        assert_eq!(v["scores"][1], 0.0);
        assert_eq!(
            str1(
                kql_series_outliers(),
                &[
                    lit("[1,2,3,4,5,6,7,8,9,10,30]"),
                    lit("ctukey"),
                    crate::testing::null(),
                    f(10.0),
                    f(90.0)
                ]
            )
            .as_deref(),
            Some("[-0.125,0.0,0.0,0.0,0.0,0.0,0.0,0.0,0.0,0.0,2.5]")
        );
    }
}
