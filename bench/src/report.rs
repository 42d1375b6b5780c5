//! Turning histograms into the printed table, with ratios to the limit.

use hdrhistogram::Histogram;
use redline_engine::clock;

/// The quantiles every latency row prints.
pub const QUANTILES: [(&str, f64); 5] = [
    ("p50", 0.50),
    ("p90", 0.90),
    ("p99", 0.99),
    ("p99.9", 0.999),
    ("p99.99", 0.9999),
];

/// One row: quantiles and max, in nanoseconds.
#[derive(Debug, Clone)]
pub struct Row {
    /// What was measured.
    pub name: String,
    /// The quantiles of [`QUANTILES`], then the max, in ns.
    pub ns: [f64; 6],
    /// The mean of the samples up to p99, in ns: finer than the clock's
    /// step, which the quantiles cannot be, and unmoved by the rare stalls
    /// of a shared machine, which a plain mean is not.
    pub mean: f64,
}

impl Row {
    /// A row from a histogram of ticks.
    pub fn from_ticks(name: &str, histogram: &Histogram<u64>) -> Row {
        Row::scaled(name, histogram, clock::ns_per_tick())
    }

    /// A row from a histogram of nanoseconds.
    pub fn from_ns(name: &str, histogram: &Histogram<u64>) -> Row {
        Row::scaled(name, histogram, 1.0)
    }

    fn scaled(name: &str, histogram: &Histogram<u64>, per_tick: f64) -> Row {
        let mut ns = [0.0; 6];
        for (slot, (_, q)) in ns.iter_mut().zip(QUANTILES) {
            *slot = histogram.value_at_quantile(q) as f64 * per_tick;
        }
        ns[5] = histogram.max() as f64 * per_tick;
        Row {
            name: name.to_owned(),
            ns,
            mean: trimmed_mean(histogram, 0.99) * per_tick,
        }
    }

    /// p50 in ns.
    pub fn p50(&self) -> f64 {
        self.ns[0]
    }

    /// p99 in ns.
    pub fn p99(&self) -> f64 {
        self.ns[2]
    }

    /// The mean of the samples up to p99, in ns.
    pub fn mean(&self) -> f64 {
        self.mean
    }
}

/// Prints rows with each one's ratio to `limit` at p50, the mean, p99 and
/// p99.9. Every column starts with a space, however wide its number.
pub fn print_latency_table(title: &str, rows: &[Row], limit: Option<&Row>) {
    println!("\n{title}");
    let mut header = format!("{:<34}", "");
    for label in QUANTILES
        .iter()
        .map(|(label, _)| *label)
        .chain(["max", "mean99"])
    {
        header += &format!(" {label:>8}");
    }
    if limit.is_some() {
        header += &format!(
            " {:>7} {:>9} {:>7} {:>8}",
            "p50 x", "mean99 x", "p99 x", "p99.9 x"
        );
    }
    println!("{header}");
    for row in rows {
        let mut line = format!("{:<34}", row.name);
        for value in row.ns {
            line += &format!(" {value:>8.0}");
        }
        line += &format!(" {:>8.1}", row.mean);
        if let Some(limit) = limit {
            let ratio = |i: usize| row.ns[i] / limit.ns[i].max(1.0);
            let mean = row.mean / limit.mean.max(1.0);
            line += &format!(
                " {:>7.2} {:>9.2} {:>7.2} {:>8.2}",
                ratio(0),
                mean,
                ratio(2),
                ratio(3)
            );
        }
        println!("{line}");
    }
}

/// The mean of the recorded values up to quantile `q`, in ticks.
fn trimmed_mean(histogram: &Histogram<u64>, q: f64) -> f64 {
    let cut = histogram.value_at_quantile(q);
    let (sum, count) = histogram
        .iter_recorded()
        .take_while(|v| v.value_iterated_to() <= cut)
        .fold((0.0, 0u64), |(sum, count), v| {
            let n = v.count_at_value();
            (sum + v.value_iterated_to() as f64 * n as f64, count + n)
        });
    if count == 0 {
        0.0
    } else {
        sum / count as f64
    }
}
