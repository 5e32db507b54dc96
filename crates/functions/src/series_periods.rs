//! Period detection: `series_periods_detect`
//! (<https://learn.microsoft.com/kusto/query/series-periods-detect-function>) and the automatic
//! seasonality (-1) of `series_decompose` and `series_decompose_anomalies`.
//!
//! Kusto documents what the function returns (the most significant periods in bins, best
//! first, each with a score between 0 and 1), that it finds periods of at least 4 points and
//! at most half the series, and that series_decompose takes the best period when its score
//! reaches 0.6 (Seasonality_threshold). It does not document the algorithm, so spoor's is its
//! own, in the spirit of AutoPeriod (Vlachos, Yu and Castelli, 2005: candidate periods must
//! sit on a hill of the autocorrelation):
//!
//! 1. The series loses its least-squares line, so that a trend does not read as correlation
//!    at every lag.
//! 2. The score of a period p is the correlation (Pearson) between the series and itself
//!    shifted by p bins, clamped at 0: 1 when every point repeats p bins later.
//! 3. A period is a candidate when its score beats every lag within a quarter of p on either
//!    side (a hill of the autocorrelation; the page's advice of 20% margins around a period
//!    suggests that resolution). This drops the side lobes that a fast pattern inside a slow
//!    one creates (lags 12 and 16 around a period of 14 with a 2-bin alternation).
//! 4. It must be significant against noise: the correlation's t statistic
//!    r·√(m−2)/√(1−r²) over the m = n − p overlapping pairs must reach 2.33 (about the 1%
//!    level).
//! 5. A multiple p = k·q of a shorter period q is the same period seen again unless its
//!    pattern differs from q's repeated: the mean of every phase of p, folded by q, must vary
//!    more than noise explains (an F test of the within-fold variation, p − q and n − p degrees
//!    of freedom, at the 0.1% level with Paulson's approximation). A daily pattern whose
//!    weekdays differ from its weekends has a weekly period as well as a daily one; a weekly
//!    pattern with one spike has no two-week period.
//!
//! Where this may differ from Kusto: the scores are not Kusto's (the page's example scores
//! its 14-point period 0.84, this 0.97), so a series close to the 0.6 threshold may be
//! seasonal for one and not for the other; the periods found agree on the pages' examples
//! (14 of the 12-hour traffic series with nothing else; 168 and 24 of hourly data with
//! weekly and daily patterns). Periods are whole numbers of bins, and a period near but not
//! equal to a multiple of another is kept as a period of its own.

/// The series without its least-squares line (x = 0, 1, ... n - 1).
fn detrend(x: &[f64]) -> Vec<f64> {
    let n = x.len() as f64;
    let xm = (n - 1.0) / 2.0;
    let ym = x.iter().sum::<f64>() / n;
    let mut sxx = 0.0;
    let mut sxy = 0.0;
    for (i, v) in x.iter().enumerate() {
        let dx = i as f64 - xm;
        sxx += dx * dx;
        sxy += dx * (v - ym);
    }
    let slope = if sxx > 0.0 { sxy / sxx } else { 0.0 };
    x.iter()
        .enumerate()
        .map(|(i, v)| v - ym - slope * (i as f64 - xm))
        .collect()
}

/// Pearson's correlation of two equally long slices; 0 when either is constant.
fn pearson(a: &[f64], b: &[f64]) -> f64 {
    let n = a.len() as f64;
    let ma = a.iter().sum::<f64>() / n;
    let mb = b.iter().sum::<f64>() / n;
    let (mut sab, mut saa, mut sbb) = (0.0, 0.0, 0.0);
    for (x, y) in a.iter().zip(b) {
        sab += (x - ma) * (y - mb);
        saa += (x - ma) * (x - ma);
        sbb += (y - mb) * (y - mb);
    }
    let d = (saa * sbb).sqrt();
    // Rounding can leave a constant slice with a tiny spread; treat it as constant.
    if d <= f64::EPSILON * (saa + sbb).max(1.0) {
        0.0
    } else {
        (sab / d).clamp(-1.0, 1.0)
    }
}

/// Paulson's normal approximation of the F distribution: the z score of `f` with `d1` and
/// `d2` degrees of freedom.
fn f_z_score(f: f64, d1: f64, d2: f64) -> f64 {
    let (a, b) = (2.0 / (9.0 * d1), 2.0 / (9.0 * d2));
    let c = f.cbrt();
    ((1.0 - b) * c - (1.0 - a)) / (b * c * c + a).sqrt()
}

/// Whether the pattern of period `p` (a multiple of `q`) differs from `q`'s pattern repeated:
/// the phase means of `p`, folded by `q`, vary more than the noise around them explains.
fn differs_from_repeats(z: &[f64], q: usize, p: usize) -> bool {
    let n = z.len();
    let profile: Vec<f64> = (0..p)
        .map(|phase| {
            let v: Vec<f64> = z.iter().skip(phase).step_by(p).copied().collect();
            v.iter().sum::<f64>() / v.len() as f64
        })
        .collect();
    let within: f64 = (0..q)
        .map(|j| {
            let fold: Vec<f64> = profile.iter().skip(j).step_by(q).copied().collect();
            let m = fold.iter().sum::<f64>() / fold.len() as f64;
            fold.iter().map(|v| (v - m) * (v - m)).sum::<f64>()
        })
        .sum();
    let noise: f64 = z
        .iter()
        .enumerate()
        .map(|(i, v)| (v - profile[i % p]) * (v - profile[i % p]))
        .sum();
    let total: f64 = z.iter().map(|v| v * v).sum();
    if noise <= 1e-12 * total.max(f64::MIN_POSITIVE) || n <= p {
        // No noise to compare with: any difference is real.
        return within > 1e-12 * total;
    }
    let cycles = n as f64 / p as f64;
    let f = (within / (p - q) as f64) / (noise / (n - p) as f64 / cycles);
    f_z_score(f, (p - q) as f64, (n - p) as f64) >= 3.09
}

/// The smallest period the algorithm can find (the page: "at least 4 points").
pub const MIN_PERIOD: usize = 4;

/// The periods found in `x` between `min_period` and `max_period` bins (and between 4 and
/// half the series), best score first (equal scores: the shorter period first).
pub fn detect_periods(x: &[f64], min_period: f64, max_period: f64) -> Vec<(usize, f64)> {
    let n = x.len();
    if min_period.is_nan() || max_period.is_nan() {
        return Vec::new();
    }
    let lo = if min_period > MIN_PERIOD as f64 {
        min_period.ceil() as usize
    } else {
        MIN_PERIOD
    };
    let hi = if max_period < (n / 2) as f64 {
        max_period.floor().max(0.0) as usize
    } else {
        n / 2
    };
    if lo > hi {
        return Vec::new();
    }
    let z = detrend(x);
    // Lags beyond `hi` are only compared against; keep at least 3 overlapping pairs.
    let last_lag = (hi + hi / 4).min(n.saturating_sub(3));
    let corr: Vec<f64> = (0..=last_lag)
        .map(|p| {
            if p == 0 {
                1.0
            } else {
                pearson(&z[..n - p], &z[p..])
            }
        })
        .collect();
    let mut candidates = Vec::new();
    for p in lo..=hi.min(last_lag) {
        let r = corr[p];
        if r <= 0.0 {
            continue;
        }
        let w = (p / 4).max(1);
        let hill = (p.saturating_sub(w).max(1)..=(p + w).min(last_lag))
            .filter(|&q| q != p)
            .all(|q| corr[q] < r || (corr[q] == r && q > p));
        if !hill {
            continue;
        }
        let m = (n - p) as f64;
        let t = if r >= 1.0 {
            f64::INFINITY
        } else {
            r * (m - 2.0).max(0.0).sqrt() / (1.0 - r * r).sqrt()
        };
        if t < 2.33 {
            continue;
        }
        candidates.push(p);
    }
    let mut kept: Vec<usize> = Vec::new();
    for p in candidates {
        if !kept
            .iter()
            .any(|&q| p % q == 0 && !differs_from_repeats(&z, q, p))
        {
            kept.push(p);
        }
    }
    let mut out: Vec<(usize, f64)> = kept.into_iter().map(|p| (p, corr[p])).collect();
    out.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    out
}

/// The period series_decompose uses with seasonality -1: the best period between 4 bins and
/// half the series when its score reaches `threshold` (Kusto's default 0.6), else 0 (none).
pub fn auto_period(x: &[f64], threshold: f64) -> usize {
    match detect_periods(x, MIN_PERIOD as f64, (x.len() / 2) as f64).first() {
        Some(&(p, score)) if score >= threshold => p,
        _ => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A reproducible noise source (xorshift), uniform in [-0.5, 0.5).
    struct Noise(u64);
    impl Noise {
        fn next(&mut self) -> f64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            (self.0 >> 11) as f64 / (1u64 << 53) as f64 - 0.5
        }
    }

    #[test]
    fn page_example_finds_the_two_week_period_only() {
        // https://learn.microsoft.com/kusto/query/series-periods-detect-function: a month of
        // 12-hour bins; Kusto finds 14 (score 0.84) and nothing else between 0 and 50.
        let y = [
            80., 139., 87., 110., 68., 54., 50., 51., 53., 133., 86., 141., 97., 156., 94., 149.,
            95., 140., 77., 61., 50., 54., 47., 133., 72., 152., 94., 148., 105., 162., 101., 160.,
            87., 63., 53., 55., 54., 151., 103., 189., 108., 183., 113., 175., 113., 178., 90.,
            71., 62., 62., 65., 165., 109., 181., 115., 182., 121., 178., 114., 170.,
        ];
        let found = detect_periods(&y, 0.0, 50.0);
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].0, 14);
        assert!(found[0].1 > 0.9 && found[0].1 <= 1.0);
        assert_eq!(auto_period(&y, 0.6), 14);
        // A range that excludes 14 finds nothing there.
        assert!(detect_periods(&y, 15.0, 30.0).iter().all(|(p, _)| *p != 14));
    }

    #[test]
    fn hourly_data_with_daily_and_weekly_patterns() {
        // The series_decompose page's generator: weekends lower, a daily parabola, noise.
        let mut noise = Noise(42);
        let y: Vec<f64> = (1..=24 * 7 * 5)
            .map(|t| {
                let base = if (t / 24) % 7 >= 5 { 10.0 } else { 15.0 };
                let hour = (t % 24) as f64 / 10.0;
                2.0 * (noise.next() + 0.5) + base - hour * hour
            })
            .collect();
        let found = detect_periods(&y, 0.0, 10_000.0);
        let periods: Vec<usize> = found.iter().map(|f| f.0).collect();
        assert_eq!(&periods[..2], &[168, 24], "{found:?}");
        // A trend does not hide them.
        let trended: Vec<f64> = y
            .iter()
            .enumerate()
            .map(|(t, v)| v + t as f64 / 72.0)
            .collect();
        assert_eq!(detect_periods(&trended, 0.0, 10_000.0)[0].0, 168);
    }

    #[test]
    fn weekly_pattern_in_daily_data() {
        let mut noise = Noise(7);
        for days in [14usize, 28, 60] {
            let y: Vec<f64> = (0..days)
                .map(|d| if d % 7 < 5 { 10.0 } else { 3.0 } + noise.next())
                .collect();
            let found = detect_periods(&y, 0.0, 1000.0);
            assert_eq!(found[0].0, 7, "{days} days: {found:?}");
            assert_eq!(auto_period(&y, 0.6), 7);
        }
    }

    #[test]
    fn noise_trend_and_flat_series_have_no_period() {
        let mut noise = Noise(1);
        let y: Vec<f64> = (0..200).map(|_| noise.next()).collect();
        assert_eq!(auto_period(&y, 0.6), 0);
        assert!(
            detect_periods(&y, 0.0, 1000.0)
                .iter()
                .all(|(_, s)| *s < 0.6)
        );
        let line: Vec<f64> = (0..50).map(|i| 3.0 * i as f64 + 1.0).collect();
        assert_eq!(detect_periods(&line, 0.0, 100.0), vec![]);
        assert_eq!(detect_periods(&[5.0; 40], 0.0, 100.0), vec![]);
        // Too short for a period of 4 points.
        assert_eq!(
            detect_periods(&[1.0, 2.0, 1.0, 2.0, 1.0, 2.0, 1.0], 0.0, 10.0),
            vec![]
        );
    }
}
