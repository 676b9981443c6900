//! [`SmtpMailer`]: job-finished mails over SMTP with `lettre` (rustls, no OpenSSL).
//!
//! TLS: port 465 uses implicit TLS; any other port STARTTLS when the server offers it
//! (opportunistic), except for loopback servers, which are spoken to in plain text (local test
//! and relay servers rarely have a certificate for `localhost`). A mail that cannot be built or
//! sent is logged with the server named; it never fails the job.

use std::net::IpAddr;
use std::time::Duration;

use lettre::message::Mailbox;
use lettre::message::header::ContentType;
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use super::mail::{FinishedMail, Mailer};
use crate::config::SmtpConfig;

/// The submission port used when the configuration names none.
pub const DEFAULT_SMTP_PORT: u16 = 587;
/// The SMTPS (implicit TLS) port.
pub const SMTPS_PORT: u16 = 465;
/// Sender used when the configuration names none.
pub const DEFAULT_FROM: &str = "ADIT <adit@localhost>";
/// Bound on connecting to the server and on each SMTP command.
pub const SMTP_TIMEOUT: Duration = Duration::from_secs(30);

/// Why a mail could not be sent.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SmtpError {
    /// An address (sender or recipient) is not a mailbox.
    #[error("`{address}` is not a mail address: {reason}")]
    Address {
        /// The address as configured or stored.
        address: String,
        /// The parser's complaint.
        reason: String,
    },
    /// The message could not be assembled.
    #[error("cannot build the mail: {0}")]
    Build(String),
    /// TLS parameters for the server could not be set up.
    #[error("cannot set up TLS for SMTP server {server}: {reason}")]
    Tls {
        /// `host:port`.
        server: String,
        /// What failed.
        reason: String,
    },
    /// The SMTP exchange failed.
    #[error("SMTP server {server} did not take the mail: {reason}")]
    Send {
        /// `host:port`.
        server: String,
        /// What failed.
        reason: String,
    },
}

/// Sends job-finished mails to an SMTP server.
#[derive(Clone)]
pub struct SmtpMailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
    server: String,
}

impl std::fmt::Debug for SmtpMailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpMailer")
            .field("server", &self.server)
            .field("from", &self.from.to_string())
            .finish_non_exhaustive()
    }
}

impl SmtpMailer {
    /// A mailer for `config`; `None` when no host is configured (mails are then logged).
    pub fn from_config(config: &SmtpConfig) -> Result<Option<SmtpMailer>, SmtpError> {
        let Some(host) = config.host.as_deref().filter(|h| !h.is_empty()) else {
            return Ok(None);
        };
        let port = config.port.unwrap_or(DEFAULT_SMTP_PORT);
        let server = format!("{host}:{port}");
        let from_text = config.from.as_deref().unwrap_or(DEFAULT_FROM);
        let from = parse_mailbox(from_text)?;
        let tls = if is_loopback(host) {
            Tls::None
        } else {
            let parameters = TlsParameters::new(host.to_owned()).map_err(|e| SmtpError::Tls {
                server: server.clone(),
                reason: e.to_string(),
            })?;
            if port == SMTPS_PORT {
                Tls::Wrapper(parameters)
            } else {
                Tls::Opportunistic(parameters)
            }
        };
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host)
            .port(port)
            .tls(tls)
            .timeout(Some(SMTP_TIMEOUT));
        if let Some(username) = config.username.as_deref().filter(|u| !u.is_empty()) {
            let password = config
                .password
                .as_ref()
                .map(|p| p.expose().to_owned())
                .unwrap_or_default();
            builder = builder.credentials(Credentials::new(username.to_owned(), password));
        }
        Ok(Some(SmtpMailer {
            transport: builder.build(),
            from,
            server,
        }))
    }

    /// The server as `host:port`, for messages.
    pub fn server(&self) -> &str {
        &self.server
    }

    /// Sends `mail` and waits for the server's answer.
    pub async fn deliver(&self, mail: &FinishedMail) -> Result<(), SmtpError> {
        let to = parse_mailbox(&mail.to)?;
        let message = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(mail.subject.clone())
            .header(ContentType::TEXT_PLAIN)
            .body(mail.body.clone())
            .map_err(|e| SmtpError::Build(e.to_string()))?;
        self.transport
            .send(message)
            .await
            .map(|_| ())
            .map_err(|e| SmtpError::Send {
                server: self.server.clone(),
                reason: e.to_string(),
            })
    }
}

impl Mailer for SmtpMailer {
    /// Sends in the background on the current Tokio runtime; failures are logged.
    fn send(&self, mail: &FinishedMail) {
        if mail.to.trim().is_empty() {
            tracing::warn!(subject = %mail.subject, server = %self.server,
                "job owner has no email address; mail not sent");
            return;
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            tracing::warn!(subject = %mail.subject, server = %self.server,
                "no async runtime to send the mail on; mail not sent");
            return;
        };
        let mailer = self.clone();
        let mail = mail.clone();
        runtime.spawn(async move {
            match mailer.deliver(&mail).await {
                Ok(()) => {
                    tracing::info!(to = %mail.to, subject = %mail.subject, server = %mailer.server,
                        "mail sent");
                }
                Err(e) => {
                    tracing::warn!(to = %mail.to, subject = %mail.subject, server = %mailer.server,
                        error = %e, "cannot send the job-finished mail");
                }
            }
        });
    }
}

fn parse_mailbox(text: &str) -> Result<Mailbox, SmtpError> {
    text.trim()
        .parse::<Mailbox>()
        .map_err(|e| SmtpError::Address {
            address: text.to_owned(),
            reason: e.to_string(),
        })
}

/// True for `localhost` and loopback IP addresses.
fn is_loopback(host: &str) -> bool {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    bare.eq_ignore_ascii_case("localhost")
        || bare.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Secret;

    #[test]
    fn no_host_means_no_mailer() {
        assert!(
            SmtpMailer::from_config(&SmtpConfig::default())
                .unwrap()
                .is_none()
        );
    }

    #[test]
    fn loopback_hosts_are_recognized() {
        assert!(is_loopback("localhost"));
        assert!(is_loopback("127.0.0.1"));
        assert!(is_loopback("[::1]"));
        assert!(!is_loopback("mail.example.org"));
        assert!(!is_loopback("10.0.0.1"));
    }

    #[test]
    fn a_bad_sender_is_refused_naming_it() {
        let config = SmtpConfig {
            host: Some("mail.example.org".into()),
            from: Some("not an address".into()),
            password: Some(Secret::new("pw")),
            ..SmtpConfig::default()
        };
        let err = SmtpMailer::from_config(&config).unwrap_err();
        assert!(err.to_string().contains("not an address"), "{err}");
    }

    #[test]
    fn configured_server_is_named() {
        let config = SmtpConfig {
            host: Some("mail.example.org".into()),
            port: Some(2525),
            from: Some("ADIT <adit@example.org>".into()),
            ..SmtpConfig::default()
        };
        let mailer = SmtpMailer::from_config(&config).unwrap().unwrap();
        assert_eq!(mailer.server(), "mail.example.org:2525");
    }

    #[tokio::test]
    async fn a_refused_connection_names_the_server() {
        // A port nothing listens on: bind, note it, close.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let config = SmtpConfig {
            host: Some("127.0.0.1".into()),
            port: Some(port),
            ..SmtpConfig::default()
        };
        let mailer = SmtpMailer::from_config(&config).unwrap().unwrap();
        let mail = FinishedMail {
            to: "someone@example.org".into(),
            subject: "s".into(),
            body: "b".into(),
        };
        let err = mailer.deliver(&mail).await.unwrap_err();
        assert!(matches!(err, SmtpError::Send { .. }), "{err:?}");
        assert!(
            err.to_string().contains(&format!("127.0.0.1:{port}")),
            "{err}"
        );
        // The Mailer interface only logs the failure.
        mailer.send(&mail);
    }
}
