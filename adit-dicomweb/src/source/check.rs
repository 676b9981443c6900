//! What a WADO-RS retrieve is checked against once its responses have ended: a WADO-RS
//! response has no failure list (unlike a C-GET's final status), so every instance the
//! server promised but did not deliver is reported as [`Retrieved::Missing`] here.

use std::collections::{BTreeSet, HashSet};

use adit_core::source::{Expected, Retrieved};
use futures::future::BoxFuture;
use futures::stream::{self, BoxStream, StreamExt};

/// What should arrive.
pub(super) enum Check {
    /// Nothing is known (QIDO-RS could not say): nothing to check.
    Unknown,
    /// These SOP Instance UIDs.
    Listed(BTreeSet<String>),
    /// This many instances (from the series' NumberOfSeriesRelatedInstances). Only when
    /// fewer arrive is `listing` run, to name the ones that did not.
    Counted {
        /// The promised number.
        instances: u64,
        /// Lists the selection's SOP Instance UIDs (instance-level QIDO-RS).
        listing: BoxFuture<'static, crate::Result<BTreeSet<String>>>,
    },
}

impl Check {
    /// The total for progress, when known.
    pub(super) fn expected(&self) -> Option<Expected> {
        let instances = match self {
            Self::Unknown => return None,
            Self::Listed(uids) => uids.len() as u64,
            Self::Counted { instances, .. } => *instances,
        };
        Some(Expected {
            instances,
            bytes: None,
        })
    }

    /// The promised instances that are not among `received`, as Missing items: by UID
    /// where a listing names them, otherwise as many unnamed ones as are short. Produced one
    /// by one, so that a server's absurd count cannot fill memory here.
    async fn undelivered(self, received: HashSet<String>, server: &str) -> MissingItems {
        let (instances, listing) = match self {
            Self::Unknown => return Box::new(std::iter::empty()),
            Self::Listed(mut listed) => {
                listed.retain(|uid| !received.contains(uid));
                return named(listed, server);
            }
            Self::Counted { instances, listing } => (instances, listing),
        };
        let shortfall = instances.saturating_sub(received.len() as u64);
        if shortfall == 0 {
            return Box::new(std::iter::empty());
        }
        match listing.await {
            Ok(mut listed) => {
                listed.retain(|uid| !received.contains(uid));
                // Counted but no longer listed: removed meanwhile, or miscounted. Either way
                // the transfer is not what the count promised.
                let unlisted = shortfall.saturating_sub(listed.len() as u64);
                let reason = format!(
                    "{unlisted} of {instances} instances counted by QIDO-RS from {server} \
                     were neither delivered by WADO-RS nor listed by QIDO-RS afterwards"
                );
                Box::new(named(listed, server).chain(unnamed(unlisted, reason)))
            }
            Err(error) => {
                tracing::warn!(
                    %server, %error, shortfall,
                    "QIDO-RS cannot list the instances WADO-RS did not deliver"
                );
                let reason = format!(
                    "{shortfall} of {instances} instances counted by QIDO-RS were not \
                     delivered by WADO-RS from {server}, and listing them failed: {error}"
                );
                unnamed(shortfall, reason)
            }
        }
    }
}

/// Missing items, made as they are taken.
type MissingItems = Box<dyn Iterator<Item = Retrieved> + Send>;

/// Each of `undelivered`, as a Missing item with its UID.
fn named(undelivered: BTreeSet<String>, server: &str) -> MissingItems {
    let reason = format!("listed by QIDO-RS but not delivered by WADO-RS from {server}");
    Box::new(undelivered.into_iter().map(move |uid| Retrieved::Missing {
        sop_instance_uid: Some(uid),
        reason: reason.clone(),
    }))
}

/// `count` Missing items without a UID.
fn unnamed(count: u64, reason: String) -> MissingItems {
    Box::new((0..count).map(move |_| Retrieved::Missing {
        sop_instance_uid: None,
        reason: reason.clone(),
    }))
}

/// Passes `items` on, and after their end reports what `check` promised but did not arrive.
/// After an error nothing more is reported: the error ends the retrieve anyway.
pub(super) fn report_undelivered(
    items: BoxStream<'static, adit_core::Result<Retrieved>>,
    check: Check,
    server: String,
) -> BoxStream<'static, adit_core::Result<Retrieved>> {
    enum State {
        Streaming {
            items: BoxStream<'static, adit_core::Result<Retrieved>>,
            received: HashSet<String>,
            check: Check,
        },
        Missing(MissingItems),
    }
    fn next_missing(
        mut missing: MissingItems,
    ) -> Option<(adit_core::Result<Retrieved>, Option<State>)> {
        let item = missing.next()?;
        Some((Ok(item), Some(State::Missing(missing))))
    }
    if matches!(check, Check::Unknown) {
        return items;
    }
    stream::unfold(
        Some(State::Streaming {
            items,
            received: HashSet::new(),
            check,
        }),
        move |state| {
            let server = server.clone();
            async move {
                match state? {
                    State::Streaming {
                        mut items,
                        mut received,
                        check,
                    } => match items.next().await {
                        Some(Ok(Retrieved::Instance(instance))) => {
                            received.insert(instance.sop_instance_uid().to_owned());
                            Some((
                                Ok(Retrieved::Instance(instance)),
                                Some(State::Streaming {
                                    items,
                                    received,
                                    check,
                                }),
                            ))
                        }
                        Some(Err(e)) => Some((Err(e), None)),
                        Some(Ok(other)) => Some((
                            Ok(other),
                            Some(State::Streaming {
                                items,
                                received,
                                check,
                            }),
                        )),
                        None => next_missing(check.undelivered(received, &server).await),
                    },
                    State::Missing(missing) => next_missing(missing),
                }
            }
        },
    )
    .boxed()
}
