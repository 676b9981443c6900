//! SCU operations: [`echo`], [`find`], [`get`], [`move_to`] and [`StoreSession`].
//!
//! Each runs on its own association with the timeouts of [`crate::DimseOptions`]. Streaming
//! operations (find, get) are driven by a task that owns the association, so dropping the
//! stream still reaches the wire (C-CANCEL, then A-ABORT if the peer goes on).

mod cancel;
mod dataset;
mod echo;
mod find;
mod get;
mod move_to;
mod retrieve;
mod store;

pub use cancel::REFUSED_AFTER_CANCEL;
pub use dataset::{decode as decode_data_set, encode as encode_data_set};
pub use echo::echo;
pub use find::{FindStream, find};
pub use get::{GetEvent, GetQueue, GetStream, get, get_from_queue};
pub use move_to::{move_to, move_with_message_id};
pub use retrieve::RetrieveSummary;
pub use store::{StoreSession, store_all};
