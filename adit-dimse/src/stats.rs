//! Process-wide counts of the associations this process opened, per peer, for monitoring
//! (the server exports them as Prometheus counters).
//!
//! Global like [`crate::limit`]: an association is opened deep inside sources and sinks, and
//! threading a recorder through every one of them would change every constructor for a
//! number. Keys are peers (`AE@host:port`) the configuration names, so the map stays small.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

/// Totals of one peer since the process started.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AssociationTotals {
    /// Associations accepted by the peer.
    pub established: u64,
    /// Attempts that failed (refused, rejected, timed out, unreachable).
    pub failed: u64,
}

static ASSOCIATIONS: Mutex<Option<HashMap<String, AssociationTotals>>> = Mutex::new(None);

/// Counts one attempt to open an association to `peer`.
pub(crate) fn record(peer: &str, established: bool) {
    let mut map = ASSOCIATIONS.lock().unwrap_or_else(PoisonError::into_inner);
    let totals = map
        .get_or_insert_with(HashMap::new)
        .entry(peer.to_owned())
        .or_default();
    if established {
        totals.established += 1;
    } else {
        totals.failed += 1;
    }
}

/// Every peer's totals, in no particular order.
pub fn associations() -> Vec<(String, AssociationTotals)> {
    let map = ASSOCIATIONS.lock().unwrap_or_else(PoisonError::into_inner);
    map.as_ref()
        .map(|m| m.iter().map(|(k, v)| (k.clone(), *v)).collect())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attempts_are_counted_per_peer_and_outcome() {
        let peer = "STATS_TEST@127.0.0.1:1";
        record(peer, true);
        record(peer, true);
        record(peer, false);
        let totals = associations()
            .into_iter()
            .find(|(p, _)| p == peer)
            .map(|(_, t)| t);
        assert_eq!(
            totals,
            Some(AssociationTotals {
                established: 2,
                failed: 1
            })
        );
    }
}
