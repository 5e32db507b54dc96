//! "Did you mean" suggestions for misspelled names, shared by every front-end.

/// The suggestion for a misspelled name: the candidate with the same letters ignoring case, or
/// the closest one by edit distance (at most 2, or a quarter of the name's length).
pub fn did_you_mean<'a>(
    name: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<String> {
    let lower = name.to_lowercase();
    let mut best: Option<(usize, &str)> = None;
    for c in candidates {
        if c.to_lowercase() == lower {
            return Some(c.to_string());
        }
        let d = edit_distance(&lower, &c.to_lowercase());
        if d <= 2.max(name.len() / 4) && best.is_none_or(|(bd, _)| d < bd) {
            best = Some((d, c));
        }
    }
    best.map(|(_, c)| c.to_string())
}

/// Levenshtein distance between two strings, in characters.
pub fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            cur[j + 1] = (prev[j] + usize::from(ca != *cb))
                .min(prev[j + 1] + 1)
                .min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggestions_prefer_the_same_letters_then_the_closest() {
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(
            did_you_mean("eventname", ["eventSource", "eventName"]),
            Some("eventName".into())
        );
        assert_eq!(
            did_you_mean("SiginLogs", ["SigninLogs", "AuditLogs"]),
            Some("SigninLogs".into())
        );
        assert_eq!(did_you_mean("zzz", ["SigninLogs"]), None);
    }
}
