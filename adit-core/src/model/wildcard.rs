//! DICOM wildcard matching: `*` matches any run of characters, `?` exactly one, and the
//! pattern must match the whole value (PS3.4 C.2.2.2.4).

/// Whether a value contains a wildcard character.
pub fn has_wildcards(s: &str) -> bool {
    s.contains(['*', '?'])
}

/// Matches `value` against a wildcard `pattern`, whole value, optionally ignoring case.
pub fn wildcard_match(pattern: &str, value: &str, ignore_case: bool) -> bool {
    let fold = |s: &str| -> Vec<char> {
        if ignore_case {
            s.chars().flat_map(char::to_lowercase).collect()
        } else {
            s.chars().collect()
        }
    };
    let pattern = fold(pattern);
    let value = fold(value);

    // Greedy scan with one backtrack point: the position after the last `*` seen.
    let (mut p, mut v) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while v < value.len() {
        match pattern.get(p) {
            Some('*') => {
                star = Some((p, v));
                p += 1;
            }
            Some(&c) if c == '?' || c == value[v] => {
                p += 1;
                v += 1;
            }
            _ => match star {
                Some((sp, sv)) => {
                    p = sp + 1;
                    v = sv + 1;
                    star = Some((sp, sv + 1));
                }
                None => return false,
            },
        }
    }
    pattern[p..].iter().all(|c| *c == '*')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_whole_values_only() {
        assert!(wildcard_match("Kopf*", "Kopf nativ", false));
        assert!(!wildcard_match("Kopf", "Kopf nativ", false));
        assert!(!wildcard_match("nativ", "Kopf nativ", false));
        assert!(wildcard_match("*nativ", "Kopf nativ", false));
        assert!(wildcard_match("*", "", false));
        assert!(!wildcard_match("?", "", false));
    }

    #[test]
    fn question_mark_matches_exactly_one_character() {
        assert!(wildcard_match("t?_tse", "t2_tse", false));
        assert!(!wildcard_match("t?_tse", "t22_tse", false));
        assert!(wildcard_match("Müller?", "MüllerX", false));
    }

    #[test]
    fn backtracks_across_several_stars() {
        assert!(wildcard_match("*a*b*c", "xxaxxbxxbxc", false));
        assert!(!wildcard_match("*a*b*c", "xxaxxbxxbx", false));
        assert!(wildcard_match("a**b", "ab", false));
    }

    #[test]
    fn case_is_significant_unless_ignored() {
        assert!(!wildcard_match("doe*", "DOE^JOHN", false));
        assert!(wildcard_match("doe*", "DOE^JOHN", true));
        assert!(has_wildcards("DOE*") && has_wildcards("D?E") && !has_wildcards("DOE"));
    }
}
