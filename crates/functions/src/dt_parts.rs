//! Parts and periods of datetimes: `dayofweek`, `dayofmonth`, `hourofday`, `getmonth`,
//! `getyear`, `startofday`/`week`/`month`/`year`, `endofday`/`week`/`month`/`year`,
//! `make_datetime`, `unixtime_seconds_todatetime`, `unixtime_milliseconds_todatetime`.
//!
//! All in UTC. A result outside the range Arrow's `Timestamp(ns)` holds (years 1677 to 2262)
//! is null.

use std::sync::Arc;

use chrono::{Datelike, Months, NaiveDate, NaiveDateTime, TimeDelta, Timelike};
use datafusion::arrow::array::{DurationNanosecondArray, Int32Array, TimestampNanosecondArray};
use datafusion::arrow::datatypes::{DataType, TimeUnit};
use datafusion::common::Result;
use datafusion::logical_expr::{ColumnarValue, ScalarFunctionArgs};

use crate::args::{F64Arg, I64Arg, NanosArg, Rows, arity};
use crate::datetime::{NS_PER_DAY, to_naive};
use crate::udf::{Spec, ret_duration, ret_i32, ret_timestamp};

/// Kusto's tick: datetimes are counted in 100 ns.
const TICK_NS: i64 = 100;

fn timestamp() -> DataType {
    DataType::Timestamp(TimeUnit::Nanosecond, None)
}

fn to_nanos(t: NaiveDateTime) -> Option<i64> {
    t.and_utc().timestamp_nanos_opt()
}

// ---------------------------------------------------------------------------------------------
// Parts
// ---------------------------------------------------------------------------------------------

fn one_datetime(name: &str, t: &[DataType]) -> Result<Vec<DataType>> {
    arity(name, t, 1, 1)?;
    Ok(vec![timestamp()])
}

fn part(args: &ScalarFunctionArgs, f: fn(NaiveDateTime) -> i32) -> Result<ColumnarValue> {
    let rows = Rows::of(&args.args, args.number_rows);
    let dt = NanosArg::timestamp(&args.args[0])?;
    let out: Int32Array = (0..rows.n).map(|i| Some(f(to_naive(dt.get(i)?)))).collect();
    rows.finish(Arc::new(out))
}

/// `dayofweek(date)` (<https://learn.microsoft.com/kusto/query/day-of-week-function>): the
/// whole days since the preceding Sunday, as a timespan (`1.00:00:00` for a Monday).
fn dayofweek(args: &ScalarFunctionArgs) -> Result<ColumnarValue> {
    let rows = Rows::of(&args.args, args.number_rows);
    let dt = NanosArg::timestamp(&args.args[0])?;
    let out: DurationNanosecondArray = (0..rows.n)
        .map(|i| {
            let d = to_naive(dt.get(i)?).weekday().num_days_from_sunday();
            Some(i64::from(d) * NS_PER_DAY)
        })
        .collect();
    rows.finish(Arc::new(out))
}

pub(crate) fn kql_dayofweek() -> Spec {
    Spec {
        name: "kql_dayofweek",
        coerce: one_datetime,
        ret: ret_duration,
        ret_field: None,
        invoke: dayofweek,
    }
}

pub(crate) fn kql_dayofmonth() -> Spec {
    Spec {
        name: "kql_dayofmonth",
        coerce: one_datetime,
        ret: ret_i32,
        ret_field: None,
        invoke: |a| part(a, |t| t.day() as i32),
    }
}

pub(crate) fn kql_hourofday() -> Spec {
    Spec {
        name: "kql_hourofday",
        coerce: one_datetime,
        ret: ret_i32,
        ret_field: None,
        invoke: |a| part(a, |t| t.hour() as i32),
    }
}

pub(crate) fn kql_getmonth() -> Spec {
    Spec {
        name: "kql_getmonth",
        coerce: one_datetime,
        ret: ret_i32,
        ret_field: None,
        invoke: |a| part(a, |t| t.month() as i32),
    }
}

pub(crate) fn kql_getyear() -> Spec {
    Spec {
        name: "kql_getyear",
        coerce: one_datetime,
        ret: ret_i32,
        ret_field: None,
        invoke: |a| part(a, |t| t.year()),
    }
}

// ---------------------------------------------------------------------------------------------
// Periods
// ---------------------------------------------------------------------------------------------

#[derive(Clone, Copy)]
enum Period {
    Day,
    Week,
    Month,
    Year,
}

/// The start of the period holding `t`, moved by `offset` periods.
fn start_of(t: NaiveDateTime, period: Period, offset: i64) -> Option<NaiveDateTime> {
    let day = t.date();
    let start = match period {
        Period::Day => day,
        Period::Week => day - TimeDelta::days(i64::from(day.weekday().num_days_from_sunday())),
        Period::Month => day.with_day(1)?,
        Period::Year => NaiveDate::from_ymd_opt(day.year(), 1, 1)?,
    };
    let moved = match period {
        Period::Day => start.checked_add_signed(TimeDelta::try_days(offset)?)?,
        Period::Week => start.checked_add_signed(TimeDelta::try_weeks(offset)?)?,
        Period::Month | Period::Year => {
            let months = if matches!(period, Period::Year) {
                offset.checked_mul(12)?
            } else {
                offset
            };
            let m = Months::new(u32::try_from(months.unsigned_abs()).ok()?);
            if months >= 0 {
                start.checked_add_months(m)?
            } else {
                start.checked_sub_months(m)?
            }
        }
    };
    moved.and_hms_opt(0, 0, 0)
}

/// The start (or, with `end`, the last tick: 100 ns before the next start) of the period.
fn period_bound(ns: i64, period: Period, offset: i64, end: bool) -> Option<i64> {
    let t = to_naive(ns);
    if end {
        let next = start_of(t, period, offset.checked_add(1)?)?;
        to_nanos(next)?.checked_sub(TICK_NS)
    } else {
        to_nanos(start_of(t, period, offset)?)
    }
}

fn period_fn(args: &ScalarFunctionArgs, period: Period, end: bool) -> Result<ColumnarValue> {
    let rows = Rows::of(&args.args, args.number_rows);
    let dt = NanosArg::timestamp(&args.args[0])?;
    let offset = args.args.get(1).map(I64Arg::new).transpose()?;
    let out: TimestampNanosecondArray = (0..rows.n)
        .map(|i| {
            let o = match &offset {
                Some(o) => o.get(i)?,
                None => 0,
            };
            period_bound(dt.get(i)?, period, o, end)
        })
        .collect();
    rows.finish(Arc::new(out))
}

fn datetime_and_offset(name: &str, t: &[DataType]) -> Result<Vec<DataType>> {
    arity(name, t, 1, 2)?;
    let mut v = vec![timestamp()];
    if t.len() == 2 {
        v.push(DataType::Int64);
    }
    Ok(v)
}

macro_rules! period_spec {
    ($fn_name:ident, $name:literal, $period:expr, $end:expr) => {
        pub(crate) fn $fn_name() -> Spec {
            Spec {
                name: $name,
                coerce: datetime_and_offset,
                ret: ret_timestamp,
                ret_field: None,
                invoke: |a| period_fn(a, $period, $end),
            }
        }
    };
}

// <https://learn.microsoft.com/kusto/query/startofweek-function>: weeks start on Sunday; the
// offset counts periods (days, weeks, months, years). The end of a period is its last tick,
// `23:59:59.9999999` (<https://learn.microsoft.com/kusto/query/endofday-function>).
period_spec!(kql_startofday, "kql_startofday", Period::Day, false);
period_spec!(kql_startofweek, "kql_startofweek", Period::Week, false);
period_spec!(kql_startofmonth, "kql_startofmonth", Period::Month, false);
period_spec!(kql_startofyear, "kql_startofyear", Period::Year, false);
period_spec!(kql_endofday, "kql_endofday", Period::Day, true);
period_spec!(kql_endofweek, "kql_endofweek", Period::Week, true);
period_spec!(kql_endofmonth, "kql_endofmonth", Period::Month, true);
period_spec!(kql_endofyear, "kql_endofyear", Period::Year, true);

// ---------------------------------------------------------------------------------------------
// make_datetime, unixtime_*_todatetime
// ---------------------------------------------------------------------------------------------

/// `make_datetime(year, month, day[, hour, minute[, second]])`
/// (<https://learn.microsoft.com/kusto/query/make-datetime-function>): `second` is a real
/// (fractions kept to the 100 ns tick). An invalid date or time gives null.
pub fn make_datetime(y: i64, mo: i64, d: i64, h: i64, mi: i64, s: f64) -> Option<i64> {
    if !(0.0..60.0).contains(&s) {
        return None;
    }
    let date = NaiveDate::from_ymd_opt(
        i32::try_from(y).ok()?,
        u32::try_from(mo).ok()?,
        u32::try_from(d).ok()?,
    )?;
    let whole = s.trunc() as u32;
    let ticks = ((s - s.trunc()) * 1e7).round() as i64;
    let t = date.and_hms_opt(u32::try_from(h).ok()?, u32::try_from(mi).ok()?, whole)?;
    to_nanos(t)?.checked_add(ticks * TICK_NS)
}

fn make_datetime_fn(args: &ScalarFunctionArgs) -> Result<ColumnarValue> {
    let rows = Rows::of(&args.args, args.number_rows);
    let ints: Vec<I64Arg> = args.args[..args.args.len().min(5)]
        .iter()
        .map(I64Arg::new)
        .collect::<Result<_>>()?;
    let secs = args.args.get(5).map(F64Arg::new).transpose()?;
    let out: TimestampNanosecondArray = (0..rows.n)
        .map(|i| {
            let mut v = [0i64; 5];
            for (k, a) in ints.iter().enumerate() {
                v[k] = a.get(i)?;
            }
            let s = match &secs {
                Some(s) => s.get(i)?,
                None => 0.0,
            };
            make_datetime(v[0], v[1], v[2], v[3], v[4], s)
        })
        .collect();
    rows.finish(Arc::new(out))
}

pub(crate) fn kql_make_datetime() -> Spec {
    Spec {
        name: "kql_make_datetime",
        coerce: |n, t| {
            arity(n, t, 3, 6)?;
            if t.len() == 4 {
                return datafusion::common::exec_err!(
                    "{n} takes year, month, day[, hour, minute[, second]]"
                );
            }
            Ok((0..t.len())
                .map(|i| {
                    if i == 5 {
                        DataType::Float64
                    } else {
                        DataType::Int64
                    }
                })
                .collect())
        },
        ret: ret_timestamp,
        ret_field: None,
        invoke: make_datetime_fn,
    }
}

/// Seconds (or milliseconds, `unit_ns` = 1e6) since the epoch as a datetime; a real keeps its
/// fraction to the 100 ns tick.
fn unixtime(args: &ScalarFunctionArgs, unit_ns: i64) -> Result<ColumnarValue> {
    let rows = Rows::of(&args.args, args.number_rows);
    let a = &args.args[0];
    let out: TimestampNanosecondArray = if a.data_type() == DataType::Int64 {
        let x = I64Arg::new(a)?;
        (0..rows.n)
            .map(|i| x.get(i)?.checked_mul(unit_ns))
            .collect()
    } else {
        let x = F64Arg::new(a)?;
        (0..rows.n)
            .map(|i| {
                let ticks = (x.get(i)? * unit_ns as f64 / TICK_NS as f64).round();
                if ticks.is_finite() && ticks.abs() < (i64::MAX / TICK_NS) as f64 {
                    Some(ticks as i64 * TICK_NS)
                } else {
                    None
                }
            })
            .collect()
    };
    rows.finish(Arc::new(out))
}

fn one_number(name: &str, t: &[DataType]) -> Result<Vec<DataType>> {
    arity(name, t, 1, 1)?;
    Ok(vec![if t[0].is_integer() {
        DataType::Int64
    } else {
        DataType::Float64
    }])
}

/// <https://learn.microsoft.com/kusto/query/unixtime-seconds-todatetime-function>
pub(crate) fn kql_unixtime_seconds_todatetime() -> Spec {
    Spec {
        name: "kql_unixtime_seconds_todatetime",
        coerce: one_number,
        ret: ret_timestamp,
        ret_field: None,
        invoke: |a| unixtime(a, 1_000_000_000),
    }
}

pub(crate) fn kql_unixtime_milliseconds_todatetime() -> Spec {
    Spec {
        name: "kql_unixtime_milliseconds_todatetime",
        coerce: one_number,
        ret: ret_timestamp,
        ret_field: None,
        invoke: |a| unixtime(a, 1_000_000),
    }
}

#[cfg(test)]
mod tests {
    use datafusion::arrow::array::{Array, AsArray};
    use datafusion::arrow::datatypes::{
        DurationNanosecondType, Int32Type, TimestampNanosecondType,
    };
    use datafusion::common::ScalarValue;

    use super::*;
    use crate::datetime::{format_kql_datetime, parse_kql_datetime};
    use crate::testing::*;

    fn dt(s: &str) -> ColumnarValue {
        ColumnarValue::Scalar(ScalarValue::TimestampNanosecond(
            Some(parse_kql_datetime(s).expect(s)),
            None,
        ))
    }

    fn ts_out(spec: Spec, args: &[ColumnarValue]) -> Vec<Option<String>> {
        let a = call(spec, args);
        a.as_primitive::<TimestampNanosecondType>()
            .iter()
            .map(|v| v.map(format_kql_datetime))
            .collect()
    }

    fn one(spec: Spec, args: &[ColumnarValue]) -> String {
        ts_out(spec, args).remove(0).expect("not null")
    }

    fn i32_out(spec: Spec, args: &[ColumnarValue]) -> Option<i32> {
        let a = call(spec, args);
        let a = a.as_primitive::<Int32Type>();
        a.is_valid(0).then(|| a.value(0))
    }

    #[test]
    fn dayofweek_doc_examples() {
        let d = |s: &str| {
            let a = call(kql_dayofweek(), &[dt(s)]);
            a.as_primitive::<DurationNanosecondType>().value(0) / NS_PER_DAY
        };
        assert_eq!(d("1947-11-30 10:00:05"), 0);
        assert_eq!(d("1970-05-11"), 1);
        assert_eq!(d("1970-05-12"), 2);
    }

    #[test]
    fn parts() {
        let t = dt("2015-12-14 10:20:30");
        assert_eq!(
            i32_out(kql_dayofmonth(), std::slice::from_ref(&t)),
            Some(14)
        );
        assert_eq!(i32_out(kql_hourofday(), std::slice::from_ref(&t)), Some(10));
        assert_eq!(i32_out(kql_getmonth(), std::slice::from_ref(&t)), Some(12));
        assert_eq!(i32_out(kql_getyear(), std::slice::from_ref(&t)), Some(2015));
        let null_ts = ColumnarValue::Scalar(ScalarValue::TimestampNanosecond(None, None));
        assert_eq!(i32_out(kql_getyear(), &[null_ts]), None);
    }

    #[test]
    fn periods_doc_examples() {
        let t = dt("2017-01-01 10:10:17");
        let offs = longs(&[Some(-1), Some(0), Some(1)]);
        assert_eq!(
            ts_out(kql_endofday(), &[t.clone(), offs.clone()]),
            vec![
                Some("2016-12-31T23:59:59.9999999Z".into()),
                Some("2017-01-01T23:59:59.9999999Z".into()),
                Some("2017-01-02T23:59:59.9999999Z".into()),
            ]
        );
        assert_eq!(
            ts_out(kql_startofday(), &[t.clone(), offs.clone()]),
            vec![
                Some("2016-12-31T00:00:00Z".into()),
                Some("2017-01-01T00:00:00Z".into()),
                Some("2017-01-02T00:00:00Z".into()),
            ]
        );
        // 2017-01-01 is a Sunday.
        assert_eq!(
            ts_out(kql_startofweek(), &[t.clone(), offs.clone()]),
            vec![
                Some("2016-12-25T00:00:00Z".into()),
                Some("2017-01-01T00:00:00Z".into()),
                Some("2017-01-08T00:00:00Z".into()),
            ]
        );
        assert_eq!(
            ts_out(kql_endofweek(), &[t.clone(), offs.clone()]),
            vec![
                Some("2016-12-31T23:59:59.9999999Z".into()),
                Some("2017-01-07T23:59:59.9999999Z".into()),
                Some("2017-01-14T23:59:59.9999999Z".into()),
            ]
        );
        assert_eq!(
            ts_out(kql_startofmonth(), &[t.clone(), offs.clone()]),
            vec![
                Some("2016-12-01T00:00:00Z".into()),
                Some("2017-01-01T00:00:00Z".into()),
                Some("2017-02-01T00:00:00Z".into()),
            ]
        );
        assert_eq!(
            ts_out(kql_endofmonth(), &[t.clone(), offs.clone()]),
            vec![
                Some("2016-12-31T23:59:59.9999999Z".into()),
                Some("2017-01-31T23:59:59.9999999Z".into()),
                Some("2017-02-28T23:59:59.9999999Z".into()),
            ]
        );
        assert_eq!(
            ts_out(kql_startofyear(), &[t.clone(), offs.clone()]),
            vec![
                Some("2016-01-01T00:00:00Z".into()),
                Some("2017-01-01T00:00:00Z".into()),
                Some("2018-01-01T00:00:00Z".into()),
            ]
        );
        assert_eq!(
            ts_out(kql_endofyear(), &[t.clone(), offs]),
            vec![
                Some("2016-12-31T23:59:59.9999999Z".into()),
                Some("2017-12-31T23:59:59.9999999Z".into()),
                Some("2018-12-31T23:59:59.9999999Z".into()),
            ]
        );
        assert_eq!(
            one(kql_startofweek(), &[dt("2017-01-04 10:00")]),
            "2017-01-01T00:00:00Z"
        );
        assert_eq!(
            one(kql_endofmonth(), &[dt("2016-02-10")]),
            "2016-02-29T23:59:59.9999999Z"
        );
    }

    #[test]
    fn make_datetime_doc_examples() {
        assert_eq!(
            one(kql_make_datetime(), &[int(2017), int(10), int(1)]),
            "2017-10-01T00:00:00Z"
        );
        assert_eq!(
            one(
                kql_make_datetime(),
                &[int(2017), int(10), int(1), int(12), int(10)]
            ),
            "2017-10-01T12:10:00Z"
        );
        let secs = ColumnarValue::Scalar(ScalarValue::Float64(Some(0.1234567)));
        assert_eq!(
            one(
                kql_make_datetime(),
                &[int(2017), int(10), int(1), int(12), int(11), secs]
            ),
            "2017-10-01T12:11:00.1234567Z"
        );
        assert_eq!(
            ts_out(kql_make_datetime(), &[int(2017), int(13), int(1)]),
            vec![None]
        );
    }

    #[test]
    fn unixtime_doc_examples() {
        assert_eq!(
            one(kql_unixtime_seconds_todatetime(), &[int(1546300800)]),
            "2019-01-01T00:00:00Z"
        );
        let r = ColumnarValue::Scalar(ScalarValue::Float64(Some(1546300800.5)));
        assert_eq!(
            one(kql_unixtime_seconds_todatetime(), &[r]),
            "2019-01-01T00:00:00.5000000Z"
        );
        assert_eq!(
            one(
                kql_unixtime_milliseconds_todatetime(),
                &[int(1546300800123)]
            ),
            "2019-01-01T00:00:00.1230000Z"
        );
    }
}
