//! [`Association`]: one SCU association on dicom-ul's async client, with TCP_NODELAY, timeouts
//! on every wait, messages sent fragmented and received assembled by [`crate::message`].
//!
//! We use dicom-ul only for negotiation and `send(&Pdu)` / `receive()`: its async P-DATA
//! reader and writer are slow or panic on current-thread runtimes (see rust-stack.md).

use std::collections::VecDeque;
use std::future::Future;
use std::time::Duration;

use dicom_encoding::TransferSyntaxIndex;
use dicom_encoding::transfer_syntax::TransferSyntax;
use dicom_transfer_syntax_registry::TransferSyntaxRegistry;
use dicom_ul::pdu::{
    PDataValueType, PresentationContextNegotiated, PresentationContextResultReason,
};
use dicom_ul::{ClientAssociationOptions, Pdu};
use tokio::sync::OwnedSemaphorePermit;

use crate::error::{Error, Result};
use crate::limit;
use crate::link::ClientLink;
use crate::message::{Assembler, Command, Message, fragment};
use crate::options::{DimseOptions, PeerAddress};

/// The most presentation contexts one association may propose (PS3.8: odd ids 1..=255).
pub const MAX_PRESENTATION_CONTEXTS: usize = 128;

/// What to propose when associating.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Proposal {
    contexts: Vec<(String, Vec<String>)>,
    scp_roles: Vec<String>,
}

impl Proposal {
    /// An empty proposal.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a presentation context; the same abstract syntax may be proposed several times
    /// with different transfer syntaxes.
    pub fn context<I, S>(mut self, abstract_syntax: &str, transfer_syntaxes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.push_context(abstract_syntax, transfer_syntaxes);
        self
    }

    /// Adds a presentation context in place.
    pub fn push_context<I, S>(&mut self, abstract_syntax: &str, transfer_syntaxes: I)
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.contexts.push((
            abstract_syntax.to_owned(),
            transfer_syntaxes.into_iter().map(Into::into).collect(),
        ));
    }

    /// Asks for the SCP role for a SOP class (C-GET sub-operations come to us as C-STOREs).
    pub fn scp_role(mut self, sop_class: &str) -> Self {
        if !self.scp_roles.iter().any(|s| s == sop_class) {
            self.scp_roles.push(sop_class.to_owned());
        }
        self
    }

    /// Number of presentation contexts proposed.
    pub fn len(&self) -> usize {
        self.contexts.len()
    }

    /// Whether nothing is proposed.
    pub fn is_empty(&self) -> bool {
        self.contexts.is_empty()
    }

    /// Whether a context with this abstract syntax and transfer syntax is proposed.
    pub fn proposes(&self, abstract_syntax: &str, transfer_syntax: &str) -> bool {
        self.contexts
            .iter()
            .any(|(a, ts)| a == abstract_syntax && ts.iter().any(|t| t == transfer_syntax))
    }
}

/// An established association to a peer. Call [`Association::release`] (or
/// [`Association::abort`]) at the end; dropping it only closes the socket.
pub struct Association {
    inner: ClientLink,
    peer: String,
    operation: String,
    dimse_timeout: Duration,
    association_timeout: Duration,
    cancel_grace: Duration,
    assembler: Assembler,
    received: VecDeque<Message>,
    next_message_id: u16,
    _permit: Option<OwnedSemaphorePermit>,
}

impl std::fmt::Debug for Association {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Association")
            .field("peer", &self.peer)
            .field("operation", &self.operation)
            .field("contexts", &self.inner.presentation_contexts().len())
            .finish_non_exhaustive()
    }
}

impl Association {
    /// Connects and negotiates. Waits first for a slot under the peer's association limit.
    /// `operation` names what this association is for in errors (`C-FIND STUDY`, ...).
    pub async fn connect(
        peer: &PeerAddress,
        options: &DimseOptions,
        proposal: &Proposal,
        operation: &str,
    ) -> Result<Self> {
        let permit = match peer.max_associations {
            Some(max) => limit::acquire(&peer.limit_key(), max).await,
            None => None,
        };
        Self::connect_holding(peer, options, proposal, operation, permit).await
    }

    /// Like [`Association::connect`] with a slot the caller already took from
    /// [`crate::limit`] (or none); the association keeps it until closed.
    pub async fn connect_holding(
        peer: &PeerAddress,
        options: &DimseOptions,
        proposal: &Proposal,
        operation: &str,
        permit: Option<OwnedSemaphorePermit>,
    ) -> Result<Self> {
        let peer_name = peer.to_string();
        if proposal.is_empty() || proposal.len() > MAX_PRESENTATION_CONTEXTS {
            return Err(Error::Config {
                field: "presentation contexts".into(),
                reason: format!(
                    "{} proposed; 1 to {MAX_PRESENTATION_CONTEXTS} allowed",
                    proposal.len()
                ),
            });
        }
        let mut ul = ClientAssociationOptions::new()
            .calling_ae_title(options.calling_ae_title.clone())
            .called_ae_title(peer.ae_title.clone())
            .max_pdu_length(options.effective_max_pdu_length())
            .connection_timeout(options.connect_timeout)
            // dicom-ul applies this to every later receive too; ours are bounded separately.
            .read_timeout(options.association_timeout.max(options.dimse_timeout))
            .write_timeout(options.dimse_timeout);
        for (abstract_syntax, ts) in &proposal.contexts {
            ul = ul.with_presentation_context(abstract_syntax.clone(), ts.clone());
        }
        for sop in &proposal.scp_roles {
            ul = ul.with_role_selection(sop.clone(), false, true);
        }
        let whole = options.connect_timeout + options.association_timeout;
        let address = (peer.host.as_str(), peer.port);
        let establish = async {
            match &options.tls {
                None => ul
                    .establish_async(address)
                    .await
                    .map(|a| ClientLink::Plain(Box::new(a))),
                Some(tls) => ul
                    .tls_config(tls.config())
                    .server_name(tls.server_name_for(&peer.host))
                    .establish_tls_async(address)
                    .await
                    .map(|a| ClientLink::Tls(Box::new(a))),
            }
        };
        let established = tokio::time::timeout(whole, establish).await;
        crate::stats::record(&peer_name, matches!(established, Ok(Ok(_))));
        let mut inner = match established {
            Err(_) => {
                return Err(Error::Timeout {
                    peer: peer_name,
                    operation: operation.to_owned(),
                    stage: "association",
                    after: whole,
                });
            }
            Ok(Err(e)) => return Err(establish_error(e, &peer_name, operation, options)),
            Ok(Ok(inner)) => inner,
        };
        // Without it every small message waits for a delayed ACK (~40 ms).
        if let Err(e) = inner.set_nodelay() {
            tracing::warn!(peer = %peer_name, "cannot set TCP_NODELAY: {e}");
        }
        Ok(Self {
            inner,
            peer: peer_name,
            operation: operation.to_owned(),
            dimse_timeout: options.dimse_timeout,
            association_timeout: options.association_timeout,
            cancel_grace: options.cancel_grace,
            assembler: Assembler::new(options.max_data_set_len),
            received: VecDeque::new(),
            next_message_id: 1,
            _permit: permit,
        })
    }

    /// The peer, `AE@host:port`.
    pub fn peer(&self) -> &str {
        &self.peer
    }

    /// The operation named at connect time.
    pub fn operation(&self) -> &str {
        &self.operation
    }

    /// How long the peer may keep sending after a C-CANCEL.
    pub fn cancel_grace(&self) -> Duration {
        self.cancel_grace
    }

    /// The accepted presentation contexts.
    pub fn accepted_contexts(&self) -> impl Iterator<Item = &PresentationContextNegotiated> {
        self.inner
            .presentation_contexts()
            .iter()
            .filter(|pc| pc.reason == PresentationContextResultReason::Acceptance)
    }

    /// The first accepted context for an abstract syntax: `(id, transfer syntax UID)`.
    pub fn context_for(&self, abstract_syntax: &str) -> Option<(u8, String)> {
        self.accepted_contexts()
            .find(|pc| trim_uid(&pc.abstract_syntax) == abstract_syntax)
            .map(|pc| (pc.id, trim_uid(&pc.transfer_syntax).to_owned()))
    }

    /// The transfer syntax accepted on a context id.
    pub fn transfer_syntax_of(&self, presentation_context_id: u8) -> Option<String> {
        self.accepted_contexts()
            .find(|pc| pc.id == presentation_context_id)
            .map(|pc| trim_uid(&pc.transfer_syntax).to_owned())
    }

    /// Whether the peer granted us the SCP role for a SOP class (C-GET sub-operations).
    pub fn has_scp_role(&self, sop_class: &str) -> bool {
        self.inner.requestor_roles_for(sop_class).scp
    }

    /// The max PDU length the peer accepts.
    pub fn peer_max_pdu_length(&self) -> u32 {
        self.inner.peer_max_pdu_length()
    }

    /// A fresh MessageID.
    pub fn next_message_id(&mut self) -> u16 {
        let id = self.next_message_id;
        self.next_message_id = self.next_message_id.wrapping_add(1).max(1);
        id
    }

    /// A [`Error::NoContext`] for this association.
    pub fn no_context(&self, what: impl Into<String>) -> Error {
        Error::NoContext {
            peer: self.peer.clone(),
            operation: self.operation.clone(),
            what: what.into(),
        }
    }

    /// An [`Error::Protocol`] for this association.
    pub fn protocol_error(&self, reason: impl Into<String>) -> Error {
        Error::Protocol {
            peer: self.peer.clone(),
            operation: self.operation.clone(),
            reason: reason.into(),
        }
    }

    /// Sends a command and its data set, fragmented to the peer's max PDU length; command and
    /// data never share a PDU.
    ///
    /// Not cancel-safe: a send dropped half-way leaves the association unusable (abort it).
    pub async fn send(
        &mut self,
        presentation_context_id: u8,
        command: &Command,
        data: Option<&[u8]>,
    ) -> Result<()> {
        let max = self.inner.peer_max_pdu_length();
        let command_bytes = command.encode();
        for pdu in fragment(
            presentation_context_id,
            PDataValueType::Command,
            &command_bytes,
            max,
        ) {
            self.send_pdu(&pdu).await?;
        }
        if let Some(data) = data {
            for pdu in fragment(presentation_context_id, PDataValueType::Data, data, max) {
                self.send_pdu(&pdu).await?;
            }
        }
        Ok(())
    }

    async fn send_pdu(&mut self, pdu: &Pdu) -> Result<()> {
        let after = self.dimse_timeout;
        match tokio::time::timeout(after, self.inner.send(pdu)).await {
            Err(_) => Err(self.timeout("sending", after)),
            Ok(Err(e)) => Err(self.ul_error(e)),
            Ok(Ok(())) => Ok(()),
        }
    }

    /// Receives the next complete message, waiting at most the DIMSE timeout for each PDU.
    ///
    /// Cancel-safe: bytes already read stay buffered for the next call.
    pub async fn receive(&mut self) -> Result<Message> {
        self.receive_within(self.dimse_timeout).await
    }

    /// Like [`Association::receive`] with a custom wait per PDU.
    pub async fn receive_within(&mut self, after: Duration) -> Result<Message> {
        loop {
            if let Some(message) = self.received.pop_front() {
                return Ok(message);
            }
            let pdu = match tokio::time::timeout(after, self.inner.receive()).await {
                Err(_) => return Err(self.timeout("response", after)),
                Ok(Err(e)) => return Err(self.ul_error(e)),
                Ok(Ok(pdu)) => pdu,
            };
            match pdu {
                Pdu::PData { data } => {
                    for pdv in data {
                        let done = self
                            .assembler
                            .push(pdv)
                            .map_err(|e| e.at(&self.peer, &self.operation))?;
                        self.received.extend(done);
                    }
                }
                Pdu::AbortRQ { source } => {
                    return Err(self.lost(format!("the peer aborted the association ({source:?})")));
                }
                Pdu::ReleaseRQ => {
                    // Answer politely; the operation is over either way.
                    let _ = self.inner.send(&Pdu::ReleaseRP).await;
                    return Err(self.lost("the peer released the association mid-operation"));
                }
                other => {
                    return Err(self.protocol_error(format!(
                        "unexpected {} during the operation",
                        other.short_description()
                    )));
                }
            }
        }
    }

    /// Releases the association (A-RELEASE), within the association timeout.
    pub async fn release(self) -> Result<()> {
        let peer = self.peer.clone();
        let operation = self.operation.clone();
        let after = self.association_timeout;
        match tokio::time::timeout(after, self.inner.release()).await {
            Err(_) => Err(Error::Timeout {
                peer,
                operation,
                stage: "release",
                after,
            }),
            Ok(Err(e)) => Err(Error::Association {
                peer,
                operation,
                reason: format!("release failed: {}", ul_reason(&e)),
            }),
            Ok(Ok(())) => Ok(()),
        }
    }

    /// Aborts the association (A-ABORT) and closes the socket; never waits long.
    pub async fn abort(self) {
        let _ = tokio::time::timeout(Duration::from_secs(2), self.inner.abort()).await;
    }

    fn timeout(&self, stage: &'static str, after: Duration) -> Error {
        Error::Timeout {
            peer: self.peer.clone(),
            operation: self.operation.clone(),
            stage,
            after,
        }
    }

    fn lost(&self, reason: impl Into<String>) -> Error {
        Error::Association {
            peer: self.peer.clone(),
            operation: self.operation.clone(),
            reason: reason.into(),
        }
    }

    fn ul_error(&self, e: dicom_ul::association::Error) -> Error {
        use dicom_ul::association::Error as Ul;
        match e {
            Ul::Timeout { .. } => self.timeout("response", self.dimse_timeout),
            other => self.lost(ul_reason(&other)),
        }
    }
}

/// Runs `f` and turns its timeout into our error; for whole-operation deadlines.
pub async fn with_deadline<T>(
    after: Duration,
    peer: &str,
    operation: &str,
    f: impl Future<Output = Result<T>>,
) -> Result<T> {
    match tokio::time::timeout(after, f).await {
        Ok(result) => result,
        Err(_) => Err(Error::Timeout {
            peer: peer.to_owned(),
            operation: operation.to_owned(),
            stage: "operation",
            after,
        }),
    }
}

/// Looks up a transfer syntax in the registry.
pub fn transfer_syntax(uid: &str) -> Result<&'static TransferSyntax> {
    TransferSyntaxRegistry.get(trim_uid(uid)).ok_or_else(|| {
        Error::dicom(
            format!("transfer syntax {uid}"),
            "not supported by dicom-rs",
        )
    })
}

/// Strips the NUL and space padding a UID may carry.
pub fn trim_uid(uid: &str) -> &str {
    uid.trim_end_matches(['\0', ' '])
}

fn establish_error(
    e: dicom_ul::association::Error,
    peer: &str,
    operation: &str,
    options: &DimseOptions,
) -> Error {
    use dicom_ul::association::Error as Ul;
    let peer = peer.to_owned();
    let operation = operation.to_owned();
    match e {
        Ul::Connect { .. } | Ul::ToAddress { .. } => Error::Connect {
            peer,
            operation,
            reason: ul_reason(&e),
        },
        Ul::Rejected { .. } | Ul::NoAcceptedPresentationContexts { .. } => Error::Rejected {
            peer,
            operation,
            reason: ul_reason(&e),
        },
        Ul::Timeout { .. } => Error::Timeout {
            peer,
            operation,
            stage: "association",
            after: options.association_timeout,
        },
        // dicom-ul reports every unreadable answer to a plain A-ASSOCIATE-RQ as TLS data,
        // including a peer that just closed the connection (a busy single-process SCP does):
        // say what is known instead of sending the operator after a TLS problem.
        Ul::TlsNotSupported if options.tls.is_none() => Error::Association {
            peer,
            operation,
            reason: "no readable answer to the association request: the peer closed the \
                     connection (busy or refusing), or it expects TLS"
                .to_owned(),
        },
        other => Error::Association {
            peer,
            operation,
            reason: ul_reason(&other),
        },
    }
}

/// The error with its sources, one line.
pub(crate) fn ul_reason(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}
