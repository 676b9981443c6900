//! Safe file and folder names from DICOM values.

/// Longest name component we write, in bytes (file systems allow 255; leave room for the
/// temporary-file prefix and suffix).
const MAX_NAME_BYTES: usize = 200;

/// Makes `name` safe as one path component, as ADIT does: `<>:"/\|?*` and control characters
/// become `_`, surrounding whitespace is removed, and an empty result becomes `default`.
///
/// Beyond ADIT, names made only of dots (`.`, `..`) become underscores so a value can never
/// climb out of its folder, and names are cut to 200 bytes at a character boundary.
pub fn sanitize_filename(name: &str, default: &str) -> String {
    let replaced: String = name
        .chars()
        .map(|c| {
            if c.is_control() || matches!(c, '<' | '>' | ':' | '"' | '/' | '\\' | '|' | '?' | '*') {
                '_'
            } else {
                c
            }
        })
        .collect();
    let trimmed = replaced.trim();
    let mut out = if trimmed.is_empty() {
        default.to_owned()
    } else {
        trimmed.to_owned()
    };
    if out.chars().all(|c| c == '.') {
        out = "_".repeat(out.len());
    }
    if out.len() > MAX_NAME_BYTES {
        let mut end = MAX_NAME_BYTES;
        while !out.is_char_boundary(end) {
            end -= 1;
        }
        out.truncate(end);
        out.truncate(out.trim_end().len());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_forbidden_characters() {
        assert_eq!(
            sanitize_filename("a<b>c:d\"e/f\\g|h?i*j", "x"),
            "a_b_c_d_e_f_g_h_i_j"
        );
        assert_eq!(sanitize_filename("line\nbreak\ttab", "x"), "line_break_tab");
        assert_eq!(
            sanitize_filename("  Kopf nativ 5.0  ", "x"),
            "Kopf nativ 5.0"
        );
        assert_eq!(sanitize_filename("CT des Schädels", "x"), "CT des Schädels");
    }

    #[test]
    fn empty_names_get_the_default() {
        assert_eq!(sanitize_filename("", "Undefined"), "Undefined");
        assert_eq!(sanitize_filename("   ", "Undefined"), "Undefined");
    }

    #[test]
    fn dot_names_cannot_escape_the_folder() {
        assert_eq!(sanitize_filename("..", "x"), "__");
        assert_eq!(sanitize_filename(".", "x"), "_");
        assert_eq!(sanitize_filename("../../etc", "x"), ".._.._etc");
    }

    #[test]
    fn long_names_are_cut_at_a_character_boundary() {
        let long = "ä".repeat(300);
        let cut = sanitize_filename(&long, "x");
        assert!(cut.len() <= 200);
        assert!(cut.chars().all(|c| c == 'ä'));
    }
}
