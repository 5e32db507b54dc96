//! Argument plumbing shared by the scalar functions.
//!
//! Every argument arrives as a [`ColumnarValue`]: an array with one value per row, or a scalar
//! that stands for every row. The views below read either kind by row index without expanding a
//! scalar, and cast the argument to the type the function works on (text to `Utf8`, numbers to
//! `Int64`/`Float64`), so a function body is a plain loop over rows.
//!
//! When every argument is a scalar the function computes one row and returns a scalar.

use std::sync::Arc;

use datafusion::arrow::array::{
    Array, ArrayRef, AsArray, BooleanArray, Float64Array, Int64Array, PrimitiveArray, StringArray,
};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{
    ArrowPrimitiveType, DataType, DurationNanosecondType, TimeUnit, TimestampNanosecondType,
};
use datafusion::common::{Result, ScalarValue, exec_err};
use datafusion::logical_expr::ColumnarValue;

/// How many rows a call computes: 1 when all arguments are scalars.
pub(crate) struct Rows {
    pub n: usize,
    pub all_scalar: bool,
}

impl Rows {
    pub fn of(args: &[ColumnarValue], number_rows: usize) -> Rows {
        let all_scalar = args.iter().all(|a| matches!(a, ColumnarValue::Scalar(_)));
        Rows {
            n: if all_scalar { 1 } else { number_rows },
            all_scalar,
        }
    }

    /// Wraps a computed array: a scalar when every argument was a scalar.
    pub fn finish(&self, array: ArrayRef) -> Result<ColumnarValue> {
        if self.all_scalar {
            Ok(ColumnarValue::Scalar(ScalarValue::try_from_array(
                &array, 0,
            )?))
        } else {
            Ok(ColumnarValue::Array(array))
        }
    }
}

/// An argument as an array, with whether it is a scalar (one value for every row).
fn to_array(arg: &ColumnarValue, target: &DataType) -> Result<(ArrayRef, bool)> {
    let (array, scalar) = match arg {
        ColumnarValue::Array(a) => (Arc::clone(a), false),
        ColumnarValue::Scalar(s) => (s.to_array_of_size(1)?, true),
    };
    let array = if array.data_type() == target {
        array
    } else {
        cast(&array, target)?
    };
    Ok((array, scalar))
}

/// A text argument.
pub(crate) struct StrArg {
    array: StringArray,
    scalar: bool,
}

impl StrArg {
    pub fn new(arg: &ColumnarValue) -> Result<StrArg> {
        let (array, scalar) = to_array(arg, &DataType::Utf8)?;
        Ok(StrArg {
            array: array.as_string::<i32>().clone(),
            scalar,
        })
    }

    pub fn get(&self, row: usize) -> Option<&str> {
        let i = if self.scalar { 0 } else { row };
        if self.array.is_null(i) {
            None
        } else {
            Some(self.array.value(i))
        }
    }

    /// The value when the argument is a scalar (`Some(None)` for a null scalar).
    pub fn scalar(&self) -> Option<Option<&str>> {
        self.scalar.then(|| self.get(0))
    }
}

/// An integer argument (any integer type, cast to Int64).
pub(crate) struct I64Arg {
    array: Int64Array,
    scalar: bool,
}

impl I64Arg {
    pub fn new(arg: &ColumnarValue) -> Result<I64Arg> {
        let (array, scalar) = to_array(arg, &DataType::Int64)?;
        Ok(I64Arg {
            array: array.as_primitive().clone(),
            scalar,
        })
    }

    pub fn get(&self, row: usize) -> Option<i64> {
        let i = if self.scalar { 0 } else { row };
        if self.array.is_null(i) {
            None
        } else {
            Some(self.array.value(i))
        }
    }
}

/// A real argument (cast to Float64).
pub(crate) struct F64Arg {
    array: Float64Array,
    scalar: bool,
}

impl F64Arg {
    pub fn new(arg: &ColumnarValue) -> Result<F64Arg> {
        let (array, scalar) = to_array(arg, &DataType::Float64)?;
        Ok(F64Arg {
            array: array.as_primitive().clone(),
            scalar,
        })
    }

    pub fn get(&self, row: usize) -> Option<f64> {
        let i = if self.scalar { 0 } else { row };
        if self.array.is_null(i) {
            None
        } else {
            Some(self.array.value(i))
        }
    }
}

/// A datetime argument (Timestamp(ns)) or timespan (Duration(ns)) as raw nanoseconds.
pub(crate) struct NanosArg {
    values: Vec<Option<i64>>,
    scalar: bool,
}

impl NanosArg {
    pub fn timestamp(arg: &ColumnarValue) -> Result<NanosArg> {
        let (array, scalar) = to_array(arg, &DataType::Timestamp(TimeUnit::Nanosecond, None))?;
        let a = array.as_primitive::<TimestampNanosecondType>();
        Ok(NanosArg {
            values: a.iter().collect(),
            scalar,
        })
    }

    pub fn duration(arg: &ColumnarValue) -> Result<NanosArg> {
        let (array, scalar) = to_array(arg, &DataType::Duration(TimeUnit::Nanosecond))?;
        let a = array.as_primitive::<DurationNanosecondType>();
        Ok(NanosArg {
            values: a.iter().collect(),
            scalar,
        })
    }

    pub fn get(&self, row: usize) -> Option<i64> {
        self.values[if self.scalar { 0 } else { row }]
    }
}

/// An argument of any primitive Arrow type (cast to `T`'s type), read by row.
pub(crate) struct PrimArg<T: ArrowPrimitiveType> {
    array: PrimitiveArray<T>,
    scalar: bool,
}

impl<T: ArrowPrimitiveType> PrimArg<T> {
    /// Casts the argument to `target` (which must be `T`'s data type).
    pub fn new(arg: &ColumnarValue, target: &DataType) -> Result<PrimArg<T>> {
        let (array, scalar) = to_array(arg, target)?;
        Ok(PrimArg {
            array: array.as_primitive::<T>().clone(),
            scalar,
        })
    }

    pub fn get(&self, row: usize) -> Option<T::Native> {
        let i = if self.scalar { 0 } else { row };
        if self.array.is_null(i) {
            None
        } else {
            Some(self.array.value(i))
        }
    }
}

/// A boolean argument.
pub(crate) struct BoolArg {
    array: BooleanArray,
    scalar: bool,
}

impl BoolArg {
    pub fn new(arg: &ColumnarValue) -> Result<BoolArg> {
        let (array, scalar) = to_array(arg, &DataType::Boolean)?;
        Ok(BoolArg {
            array: array.as_boolean().clone(),
            scalar,
        })
    }

    pub fn get(&self, row: usize) -> Option<bool> {
        let i = if self.scalar { 0 } else { row };
        if self.array.is_null(i) {
            None
        } else {
            Some(self.array.value(i))
        }
    }
}

/// Coercion target for a text argument: everything becomes `Utf8`.
pub(crate) fn text(_t: &DataType) -> DataType {
    DataType::Utf8
}

/// Checks the argument count.
pub(crate) fn arity(name: &str, types: &[DataType], min: usize, max: usize) -> Result<()> {
    if types.len() < min || types.len() > max {
        if min == max {
            return exec_err!("{name} takes {min} arguments, got {}", types.len());
        }
        return exec_err!("{name} takes {min} to {max} arguments, got {}", types.len());
    }
    Ok(())
}

/// The argument types with every argument coerced to text.
pub(crate) fn all_text(
    name: &str,
    types: &[DataType],
    min: usize,
    max: usize,
) -> Result<Vec<DataType>> {
    arity(name, types, min, max)?;
    Ok(types.iter().map(text).collect())
}
