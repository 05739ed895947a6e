//! Bounded text shared by the adapters, the gathering and the report: no dependency on any of them.

/// Bound a string to `max` chars, marking the cut.
pub fn bound(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_string()
    } else {
        let mut out: String = s.chars().take(max.saturating_sub(1)).collect();
        out.push('…');
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_within_the_bound_is_kept_whole() {
        assert_eq!(bound("abc", 3), "abc");
    }

    #[test]
    fn text_over_the_bound_is_cut_to_the_bound_with_a_mark() {
        let cut = bound("abcdef", 4);
        assert_eq!(cut, "abc…");
        assert_eq!(cut.chars().count(), 4);
    }
}
