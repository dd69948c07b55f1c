//! Short number formats for narrow panels.

const GIB: f64 = (1u64 << 30) as f64;

/// `1:02:03`, or `02:03` under an hour.
pub fn duration(seconds: f64) -> String {
    let s = seconds.max(0.0).round() as u64;
    let (h, m, s) = (s / 3600, s % 3600 / 60, s % 60);
    if h > 0 {
        format!("{h}:{m:02}:{s:02}")
    } else {
        format!("{m:02}:{s:02}")
    }
}

/// A learning rate: `3.0e-4`.
pub fn lr(v: f64) -> String {
    format!("{v:.1e}")
}

pub fn gib(bytes: u64) -> String {
    format!("{:.1}", bytes as f64 / GIB)
}

pub fn percent(fraction: f64) -> String {
    format!("{:.1}%", fraction * 100.0)
}

/// A parameter count: `11.2M`, `148k`, `5130`.
pub fn count(n: usize) -> String {
    match n {
        n if n >= 1_000_000 => format!("{:.1}M", n as f64 / 1e6),
        n if n >= 10_000 => format!("{}k", (n as f64 / 1e3).round()),
        n => n.to_string(),
    }
}

/// An axis label: few digits, exponent form for very small or large values.
pub fn axis(v: f64) -> String {
    let a = v.abs();
    if a != 0.0 && !(1e-2..1e4).contains(&a) {
        format!("{v:.1e}")
    } else if a >= 100.0 {
        format!("{v:.0}")
    } else {
        format!("{v:.2}")
    }
}

/// Cuts `text` to `width` characters, marking the cut with `…`.
pub fn fit(text: &str, width: usize) -> String {
    if text.chars().count() <= width {
        return text.to_string();
    }
    let keep: String = text.chars().take(width.saturating_sub(1)).collect();
    format!("{keep}…")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_read_as_intended() {
        assert_eq!(duration(3723.4), "1:02:03");
        assert_eq!(duration(83.0), "01:23");
        assert_eq!(lr(3e-4), "3.0e-4");
        assert_eq!(count(11_689_512), "11.7M");
        assert_eq!(count(147_968), "148k");
        assert_eq!(count(5_130), "5130");
        assert_eq!(axis(0.000123), "1.2e-4");
        assert_eq!(axis(2.345), "2.35");
        assert_eq!(axis(250.0), "250");
        assert_eq!(fit("assets/digits", 6), "asset…");
        assert_eq!(fit("abc", 6), "abc");
    }
}
