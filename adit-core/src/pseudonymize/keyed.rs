//! Values derived from the secret with HMAC-SHA256: UIDs, date shifts and pseudonyms.
//!
//! Each derivation hashes a label and the input under the secret, so the three kinds of value
//! are independent of each other, reproducible with the secret and irreversible without it.

use hmac::{Hmac, Mac};
use sha2::Sha256;

use super::config::Secret;

/// Largest date shift in days, either way.
pub const MAX_SHIFT_DAYS: i64 = 365;

/// Length of a derived pseudonym.
pub const PSEUDONYM_LEN: usize = 14;

const PSEUDONYM_ALPHABET: &[u8; 36] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";

/// An HMAC-SHA256 keyed with the project secret, ready to derive values.
#[derive(Clone)]
pub(super) struct Keyed {
    mac: Hmac<Sha256>,
}

impl Keyed {
    /// Keys the derivations with `secret`.
    pub(super) fn new(secret: &Secret) -> Self {
        // HMAC accepts keys of any length (long ones are hashed first), so this cannot fail;
        // the fallback keeps the code panic-free.
        let mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes())
            .unwrap_or_else(|_| Hmac::<Sha256>::new(&Default::default()));
        Self { mac }
    }

    /// HMAC(secret, label || 0x00 || input).
    fn digest(&self, label: &str, input: &[u8]) -> [u8; 32] {
        let mut mac = self.mac.clone();
        mac.update(label.as_bytes());
        mac.update(&[0x00]);
        mac.update(input);
        mac.finalize().into_bytes().into()
    }

    /// The pseudonymized form of a UID: `2.25.<decimal of the first 16 bytes of the HMAC>`,
    /// a valid UID of at most 44 characters. Padding (`\0`, spaces) around the input is ignored.
    pub(super) fn uid(&self, uid: &str) -> String {
        let uid = uid.trim_matches(|c: char| c == '\0' || c == ' ');
        let d = self.digest("uid", uid.as_bytes());
        let mut first = [0_u8; 16];
        first.copy_from_slice(&d[..16]);
        format!("2.25.{}", u128::from_be_bytes(first))
    }

    /// The date shift of a patient in days: in `-365..=365`, never 0.
    pub(super) fn date_shift_days(&self, patient_id: &str) -> i64 {
        let d = self.digest("date-shift", patient_id.trim().as_bytes());
        let mut first = [0_u8; 8];
        first.copy_from_slice(&d[..8]);
        // 730 possible values: -365..=-1 and 1..=365.
        let n = i64::try_from(u64::from_be_bytes(first) % 730).unwrap_or(0);
        let offset = n - MAX_SHIFT_DAYS;
        if offset >= 0 { offset + 1 } else { offset }
    }

    /// A pseudonym of [`PSEUDONYM_LEN`] characters `0-9A-Z` for a patient.
    pub(super) fn pseudonym(&self, patient_id: &str) -> String {
        let d = self.digest("pseudonym", patient_id.trim().as_bytes());
        let mut first = [0_u8; 16];
        first.copy_from_slice(&d[..16]);
        let mut n = u128::from_be_bytes(first);
        let mut out = String::with_capacity(PSEUDONYM_LEN);
        for _ in 0..PSEUDONYM_LEN {
            out.push(char::from(PSEUDONYM_ALPHABET[(n % 36) as usize]));
            n /= 36;
        }
        out
    }
}

/// The pseudonym [`super::Pseudonymizer`] uses for a patient when none is configured:
/// [`PSEUDONYM_LEN`] characters `0-9A-Z` from HMAC-SHA256(secret, PatientID).
pub fn derive_pseudonym(secret: &Secret, patient_id: &str) -> String {
    Keyed::new(secret).pseudonym(patient_id)
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    fn keyed(secret: &str) -> Keyed {
        Keyed::new(&Secret::new(secret).unwrap())
    }

    #[test]
    fn uids_are_valid_deterministic_and_keyed() {
        let a = keyed("secret-a");
        let uid = a.uid("1.2.840.113619.2.55.3.604688119.969.1268071029.320");
        assert!(uid.starts_with("2.25."));
        assert!(uid.len() <= 64);
        let number = &uid[5..];
        assert!(number.chars().all(|c| c.is_ascii_digit()));
        assert!(!number.starts_with('0') || number == "0");
        assert!(number.parse::<u128>().is_ok(), "below 2^128");
        assert_eq!(
            uid,
            a.uid("1.2.840.113619.2.55.3.604688119.969.1268071029.320\0")
        );
        assert_ne!(
            uid,
            keyed("secret-b").uid("1.2.840.113619.2.55.3.604688119.969.1268071029.320")
        );
        assert_ne!(a.uid("1.2.3"), a.uid("1.2.4"));
    }

    #[test]
    fn date_shifts_stay_in_range_and_are_never_zero() {
        let k = keyed("s");
        let shifts: Vec<i64> = (0..2000)
            .map(|i| k.date_shift_days(&format!("PAT{i}")))
            .collect();
        assert!(shifts.iter().all(|&d| d != 0 && (-365..=365).contains(&d)));
        // Spread over the range, both directions.
        assert!(shifts.iter().any(|&d| d < -300) && shifts.iter().any(|&d| d > 300));
        assert_eq!(k.date_shift_days("PAT1"), k.date_shift_days("PAT1"));
        let other = keyed("t");
        let differ = (0..50)
            .filter(|i| {
                let id = format!("PAT{i}");
                k.date_shift_days(&id) != other.date_shift_days(&id)
            })
            .count();
        assert!(differ > 40, "the secret changes the shift");
    }

    #[test]
    fn pseudonyms_are_stable_distinct_and_well_formed() {
        let secret = Secret::new("s").unwrap();
        let p = derive_pseudonym(&secret, "PAT1");
        assert_eq!(p.len(), PSEUDONYM_LEN);
        assert!(
            p.bytes()
                .all(|b| b.is_ascii_digit() || b.is_ascii_uppercase())
        );
        assert_eq!(p, derive_pseudonym(&secret, "PAT1"));
        assert_eq!(p, derive_pseudonym(&secret, " PAT1 "), "padding ignored");
        let all: HashSet<String> = (0..1000)
            .map(|i| derive_pseudonym(&secret, &format!("PAT{i}")))
            .collect();
        assert_eq!(all.len(), 1000);
        assert_ne!(p, derive_pseudonym(&Secret::new("t").unwrap(), "PAT1"));
    }
}
