//! Durations as kubectl writes them: `90s`, `15m`, `1h30m`, `2h`, `1d` (units `ms`, `s`,
//! `m`, `h`, `d`, combined largest first). A bare number is refused rather than guessed.

use std::time::Duration;

/// Parse a kubectl-style duration; the error says what is valid.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let t = text.trim();
    if t == "0" {
        return Ok(Duration::ZERO);
    }
    let bad = |why: &str| format!("invalid duration {text:?}: {why}; write e.g. 90s, 15m, 1h30m");
    if t.is_empty() {
        return Err(bad("empty"));
    }
    let mut total = Duration::ZERO;
    let mut rest = t;
    let mut last_rank = usize::MAX;
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(rest.len());
        if digits == 0 {
            return Err(bad("expected a number"));
        }
        let n: u64 = rest[..digits]
            .parse()
            .map_err(|_| bad("number too large"))?;
        rest = &rest[digits..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit())
            .unwrap_or(rest.len());
        let (unit, rank, secs_per) = match &rest[..unit_len] {
            "d" => ("d", 4, 86_400.0),
            "h" => ("h", 3, 3_600.0),
            "m" => ("m", 2, 60.0),
            "s" => ("s", 1, 1.0),
            "ms" => ("ms", 0, 0.001),
            "" => return Err(bad("a number needs a unit")),
            other => return Err(bad(&format!("unknown unit {other:?} (use ms, s, m, h, d)"))),
        };
        if rank >= last_rank {
            return Err(bad(&format!("`{unit}` out of order (largest unit first)")));
        }
        last_rank = rank;
        total += Duration::from_secs_f64(n as f64 * secs_per);
        rest = &rest[unit_len..];
    }
    Ok(total)
}

/// A duration the way it was most likely written: `1h30m`, `45s`.
pub fn format_duration(d: Duration) -> String {
    let mut secs = d.as_secs();
    if secs == 0 {
        return format!("{}ms", d.as_millis());
    }
    let mut out = String::new();
    for (unit, size) in [("d", 86_400), ("h", 3_600), ("m", 60), ("s", 1)] {
        if secs >= size {
            out.push_str(&format!("{}{unit}", secs / size));
            secs %= size;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kubectl_durations_parse() {
        assert_eq!(parse_duration("90s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("1h30m"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse_duration("2d"), Ok(Duration::from_secs(172_800)));
        assert_eq!(parse_duration("1m500ms"), Ok(Duration::from_millis(60_500)));
        assert_eq!(parse_duration("0"), Ok(Duration::ZERO));
        assert_eq!(format_duration(Duration::from_secs(5400)), "1h30m");
    }

    #[test]
    fn bad_durations_say_what_is_valid() {
        for bad in ["90", "1x", "30m1h", "", "h", "1h1h"] {
            let err = parse_duration(bad).unwrap_err();
            assert!(err.contains("1h30m"), "{bad}: {err}");
        }
        assert!(parse_duration("90").unwrap_err().contains("needs a unit"));
    }
}
