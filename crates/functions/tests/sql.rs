//! The functions inside real DataFusion plans: SQL over a two-partition table, so aggregates go
//! through partial aggregation, state, and merge.

use std::sync::Arc;

use datafusion::arrow::array::{
    Array, ArrayRef, AsArray, Int64Array, RecordBatch, StringArray, TimestampNanosecondArray,
};
use datafusion::arrow::datatypes::{DataType, Field, Int64Type, Schema, TimeUnit};
use datafusion::datasource::MemTable;
use datafusion::prelude::{SessionConfig, SessionContext};

fn context(partitions: Vec<Vec<RecordBatch>>) -> SessionContext {
    let schema = partitions[0][0].schema();
    let config = SessionConfig::new()
        .with_target_partitions(2)
        .set_bool("datafusion.sql_parser.enable_ident_normalization", false);
    let ctx = SessionContext::new_with_config(config);
    let mut state = ctx.state();
    spoor_functions::register_all(&mut state).unwrap();
    let ctx = SessionContext::new_with_state(state);
    ctx.register_table(
        "t",
        Arc::new(MemTable::try_new(schema, partitions).unwrap()),
    )
    .unwrap();
    ctx
}

/// Rows: g (group), s (string), n (long), ts (datetime); spread over two partitions.
fn events() -> SessionContext {
    let schema = Arc::new(Schema::new(vec![
        Field::new("g", DataType::Utf8, true),
        Field::new("s", DataType::Utf8, true),
        Field::new("n", DataType::Int64, true),
        Field::new("ts", DataType::Timestamp(TimeUnit::Nanosecond, None), true),
    ]));
    let batch = |g: Vec<&str>, s: Vec<Option<&str>>, n: Vec<Option<i64>>, ts: Vec<i64>| {
        RecordBatch::try_new(
            Arc::clone(&schema),
            vec![
                Arc::new(StringArray::from(g)) as ArrayRef,
                Arc::new(StringArray::from(s)),
                Arc::new(Int64Array::from(n)),
                Arc::new(TimestampNanosecondArray::from(ts)),
            ],
        )
        .unwrap()
    };
    let p1 = batch(
        vec!["a", "a", "b", "a"],
        vec![Some("x"), Some("y"), Some("x"), None],
        vec![Some(1), Some(5), Some(2), Some(9)],
        vec![10, 20, 30, 40],
    );
    let p2 = batch(
        vec!["a", "b", "b", "a"],
        vec![Some("y"), Some("z"), Some("x"), Some("w")],
        vec![Some(7), None, Some(2), Some(3)],
        vec![50, 60, 70, 80],
    );
    context(vec![vec![p1], vec![p2]])
}

async fn rows(ctx: &SessionContext, sql: &str) -> Vec<RecordBatch> {
    ctx.sql(sql)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .collect()
        .await
        .unwrap()
}

fn strings(batches: &[RecordBatch], col: usize) -> Vec<Option<String>> {
    batches
        .iter()
        .flat_map(|b| {
            let a = datafusion::arrow::compute::cast(b.column(col), &DataType::Utf8).unwrap();
            a.as_string::<i32>()
                .iter()
                .map(|v| v.map(str::to_string))
                .collect::<Vec<_>>()
        })
        .collect()
}

#[tokio::test]
async fn dcount_merges_partitions() {
    let ctx = events();
    let b = rows(
        &ctx,
        "select g, kql_dcount(s) as d, kql_dcount(n, 0) as dn from t group by g order by g",
    )
    .await;
    assert_eq!(strings(&b, 0), vec![Some("a".into()), Some("b".into())]);
    assert_eq!(strings(&b, 1), vec![Some("3".into()), Some("2".into())]);
    assert_eq!(strings(&b, 2), vec![Some("5".into()), Some("1".into())]);
    let b = rows(&ctx, "select kql_dcount(s) from t").await;
    assert_eq!(strings(&b, 0), vec![Some("4".into())]);
    let b = rows(&ctx, "select kql_dcount(s) from t where n > 100").await;
    assert_eq!(strings(&b, 0), vec![Some("0".into())]);
}

#[tokio::test]
async fn dcount_large_across_partitions() {
    let schema = Arc::new(Schema::new(vec![Field::new("x", DataType::Int64, false)]));
    let part = |r: std::ops::Range<i64>| {
        let batches: Vec<RecordBatch> = r
            .collect::<Vec<_>>()
            .chunks(8192)
            .map(|c| {
                RecordBatch::try_new(
                    Arc::clone(&schema),
                    vec![Arc::new(Int64Array::from(c.to_vec()))],
                )
                .unwrap()
            })
            .collect();
        batches
    };
    // 0..60_000 and 40_000..100_000: 100,000 distinct values, 20,000 shared.
    let ctx = context(vec![part(0..60_000), part(40_000..100_000)]);
    let b = rows(&ctx, "select kql_dcount(x) from t").await;
    let d = b[0].column(0).as_primitive::<Int64Type>().value(0);
    let err = (d as f64 - 100_000.0).abs() / 100_000.0;
    assert!(err < 0.03, "dcount {d}");
}

#[tokio::test]
async fn make_set_and_list() {
    let ctx = events();
    let b = rows(
        &ctx,
        "select g, kql_make_set(kql_to_json(s)) as st, kql_make_list(kql_to_json(n)) as l, \
         kql_make_set(kql_to_json(s), 1) as one from t group by g order by g",
    )
    .await;
    let sets = strings(&b, 1);
    let set_a: Vec<String> = serde_json::from_str(sets[0].as_deref().unwrap()).unwrap();
    let mut sorted = set_a.clone();
    sorted.sort();
    assert_eq!(sorted, vec!["w", "x", "y"]);
    let lists = strings(&b, 2);
    let mut list_a: Vec<i64> = serde_json::from_str(lists[0].as_deref().unwrap()).unwrap();
    list_a.sort();
    assert_eq!(list_a, vec![1, 3, 5, 7, 9]);
    let list_b: Vec<i64> = serde_json::from_str(lists[1].as_deref().unwrap()).unwrap();
    assert_eq!(list_b, vec![2, 2]);
    let one: Vec<String> = serde_json::from_str(strings(&b, 3)[0].as_deref().unwrap()).unwrap();
    assert_eq!(one.len(), 1);
    // make_set of array values collects the elements.
    let b = rows(
        &ctx,
        "select kql_make_set(kql_split(s, 'x')) from t where s = 'x'",
    )
    .await;
    assert_eq!(strings(&b, 0), vec![Some(r#"[""]"#.into())]);
}

#[tokio::test]
async fn arg_max_arg_min_take_any() {
    let ctx = events();
    let b = rows(
        &ctx,
        "select g, kql_arg_max(n, s) as smax, kql_arg_max(n, ts) as tmax, kql_arg_min(n, s) as smin, \
         kql_arg_max(ts, n) as nlast, kql_arg_min(s, n) as first_s, kql_take_any(s) as any \
         from t group by g order by g",
    )
    .await;
    // Group a: n = 1(x), 5(y), 9(null s), 7(y), 3(w).
    assert_eq!(strings(&b, 1), vec![None, Some("x".into())]);
    assert_eq!(
        strings(&b, 2)[0].as_deref(),
        Some("1970-01-01T00:00:00.000000040")
    );
    assert_eq!(strings(&b, 3), vec![Some("x".into()), Some("x".into())]);
    assert_eq!(strings(&b, 4), vec![Some("3".into()), Some("2".into())]);
    // Rows whose `by` is null are ignored: the smallest s of group a is "w" (n = 3).
    assert_eq!(strings(&b, 5), vec![Some("3".into()), Some("2".into())]);
    assert!(strings(&b, 6).iter().all(Option::is_some));
    // No rows at all.
    let b = rows(
        &ctx,
        "select kql_arg_max(n, s), kql_take_any(s) from t where n > 100",
    )
    .await;
    assert_eq!(strings(&b, 0), vec![None]);
}

#[tokio::test]
async fn scalars_in_sql() {
    let ctx = events();
    let b = rows(
        &ctx,
        "select kql_has(s, 'X'), kql_bin(ts, arrow_cast(20, 'Duration(Nanosecond)')), kql_tostring(n), \
         kql_json_get('{\"a\":[1,2]}', 'a', -1), kql_in_ci(s, 'Y', 'W') from t order by ts",
    )
    .await;
    assert_eq!(strings(&b, 0)[0].as_deref(), Some("true"));
    assert_eq!(strings(&b, 1)[0].as_deref(), Some("1970-01-01T00:00:00"));
    assert_eq!(strings(&b, 2)[5].as_deref(), Some(""));
    assert_eq!(strings(&b, 3)[0].as_deref(), Some("2"));
    assert_eq!(strings(&b, 4)[1].as_deref(), Some("true"));
    let b = rows(
        &ctx,
        "select kql_extract('(\\d+)', 1, 'abc 42', 'long') as v",
    )
    .await;
    assert_eq!(b[0].column(0).data_type(), &DataType::Int64);
    assert_eq!(b[0].column(0).as_primitive::<Int64Type>().value(0), 42);
    assert!(b[0].column(0).is_valid(0));
}

#[tokio::test]
async fn variance_stdev_percentiles_across_partitions() {
    let ctx = events();
    // Group a: n = 1, 5, 9 | 7, 3 (two partitions); group b: 2, null | 2.
    let b = rows(
        &ctx,
        "select g, kql_variance(n), kql_variancep(n), kql_stdev(n), kql_stdevp(n), \
         kql_percentile(n, 50), kql_percentiles_array(n, 0, 50, 100), \
         kql_percentiles_array(n, '[10, 90]') from t group by g order by g",
    )
    .await;
    assert_eq!(
        strings(&b, 1),
        vec![Some("10.0".into()), Some("0.0".into())]
    );
    assert_eq!(strings(&b, 2), vec![Some("8.0".into()), Some("0.0".into())]);
    let stdev: f64 = strings(&b, 3)[0].as_deref().unwrap().parse().unwrap();
    assert!((stdev - 10f64.sqrt()).abs() < 1e-12);
    let stdevp: f64 = strings(&b, 4)[0].as_deref().unwrap().parse().unwrap();
    assert!((stdevp - 8f64.sqrt()).abs() < 1e-12);
    assert_eq!(b[0].column(5).data_type(), &DataType::Int64);
    assert_eq!(strings(&b, 5), vec![Some("5".into()), Some("2".into())]);
    assert_eq!(
        strings(&b, 6),
        vec![Some("[1,5,9]".into()), Some("[2,2,2]".into())]
    );
    assert_eq!(strings(&b, 7)[0].as_deref(), Some("[1,9]"));
    // Datetimes keep their type; no rows at all gives null.
    let b = rows(&ctx, "select kql_percentile(ts, 50) from t").await;
    assert_eq!(
        strings(&b, 0),
        vec![Some("1970-01-01T00:00:00.000000040".into())]
    );
    let b = rows(
        &ctx,
        "select kql_percentile(n, 50), kql_stdev(n) from t where n > 100",
    )
    .await;
    assert_eq!(strings(&b, 0), vec![None]);
    assert_eq!(strings(&b, 1), vec![None]);
}

#[tokio::test]
async fn make_bag_across_partitions() {
    let ctx = events();
    let b = rows(
        &ctx,
        "select g, kql_make_bag(kql_bag_pack(s, kql_to_json(n))) from t group by g order by g",
    )
    .await;
    let bag: serde_json::Map<String, serde_json::Value> =
        serde_json::from_str(strings(&b, 1)[0].as_deref().unwrap()).unwrap();
    let mut keys: Vec<&String> = bag.keys().collect();
    keys.sort();
    assert_eq!(keys, vec!["", "w", "x", "y"]);
    assert_eq!(bag["x"], 1);
    assert_eq!(bag["w"], 3);
    let b = rows(&ctx, "select kql_make_bag(s) from t where n > 100").await;
    assert_eq!(strings(&b, 0), vec![Some("{}".into())]);
}

#[tokio::test]
async fn new_scalars_in_sql() {
    let ctx = events();
    let b = rows(
        &ctx,
        "select kql_round(2.15, 1), kql_getyear(ts), kql_endofday(ts), kql_max_of(n, 4), \
         kql_array_slice('[1,2,3]', 1, -1), kql_parse_xml('<a b=\"1\">t</a>'), \
         kql_dayofweek(ts), kql_tohex(n), kql_set_union('[1]', '[2,1]') from t order by ts",
    )
    .await;
    assert_eq!(strings(&b, 0)[0].as_deref(), Some("2.2"));
    assert_eq!(strings(&b, 1)[0].as_deref(), Some("1970"));
    assert_eq!(
        strings(&b, 2)[0].as_deref(),
        Some("1970-01-01T23:59:59.999999900")
    );
    assert_eq!(
        strings(&b, 3)[..3].to_vec(),
        vec![Some("4".into()), Some("5".into()), Some("4".into())]
    );
    assert_eq!(strings(&b, 4)[0].as_deref(), Some("[2,3]"));
    assert_eq!(
        strings(&b, 5)[0].as_deref(),
        Some(r##"{"a":{"@b":"1","#text":"t"}}"##)
    );
    assert_eq!(
        b[0].column(6).data_type(),
        &DataType::Duration(TimeUnit::Nanosecond)
    );
    assert_eq!(strings(&b, 7)[2].as_deref(), Some("2"));
    assert_eq!(strings(&b, 8)[0].as_deref(), Some("[1,2]"));
}

#[tokio::test]
async fn series_fill_merges_partitions() {
    // Bins are n (0..10): group a has n = 1, 5, 9 | 7, 3 across the two partitions.
    let ctx = events();
    let b = rows(
        &ctx,
        "select g, kql_series_fill(n, kql_to_json(n * 10), 10, '0') as s from t \
         where n is not null group by g order by g",
    )
    .await;
    assert_eq!(
        strings(&b, 1),
        vec![
            Some("[0,10,0,30,0,50,0,70,0,90]".into()),
            Some("[0,0,20,0,0,0,0,0,0,0]".into())
        ]
    );
    let b = rows(
        &ctx,
        "select kql_series_bins(0, 10, 3), kql_series_axis(0, 3, kql_series_bins(0, 10, 3))",
    )
    .await;
    assert_eq!(strings(&b, 0), vec![Some("4".into())]);
    assert_eq!(strings(&b, 1), vec![Some("[0,3,6,9]".into())]);
}
