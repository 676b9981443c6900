//! The C-STORE SCP ("receiver"): [`Receiver`] accepts storage associations (and C-ECHO),
//! writes every instance atomically to a spool directory before acknowledging it, and announces
//! it as a [`ReceivedInstance`]. [`MoveCoordinator`] matches those instances to waiting
//! C-MOVEs.
//!
//! Protocol logic without I/O is in [`machine`] (PDVs in, steps out) and [`correlate`]
//! (which move an instance belongs to, when a move is complete); [`receiver`] and
//! [`coordinator`] are the async drivers; [`spool`] is the on-disk hand-off, also readable from
//! another process; [`claim`] lets workers take spool files without ever taking one twice;
//! [`signal`] is how a worker in another process learns about new files early.
//!
//! Memory: data PDVs are written to the spool file as they arrive, so an instance is never
//! assembled in memory; the bound is one PDU (the max PDU length we announce) per association.

pub mod claim;
pub mod coordinator;
pub mod correlate;
pub mod machine;
pub mod options;
pub mod receiver;
pub mod signal;
pub mod spool;

pub use coordinator::{MoveCoordinator, MoveWaiter};
pub use correlate::{Expectation, MoveOutcome};
pub use options::ReceiverOptions;
pub use receiver::{ReceivedInstance, Receiver};
pub use signal::{Notified, Polling, SpoolSignal};
