//! Configuration: built-in defaults, then an optional TOML file, then `ADIT_*` environment
//! variables (the last one wins). `adit config` prints the effective result with secrets masked.
//!
//! | variable | TOML key | default |
//! |---|---|---|
//! | `ADIT_DATA_DIR` | `data_dir` | `./adit-data` |
//! | `ADIT_DATABASE_URL` | `database_url` | `sqlite://<data_dir>/adit.db` |
//! | `ADIT_HTTP_ADDR` | `http_addr` | `127.0.0.1:8000` |
//! | `ADIT_CALLING_AE` | `calling_ae` | `ADIT` |
//! | `ADIT_RECEIVER_AE` | `receiver_ae` | `ADIT` |
//! | `ADIT_RECEIVER_ADDR` | `receiver_addr` | `127.0.0.1:11112` |
//! | `ADIT_WORKER_CONCURRENCY` | `worker_concurrency` | `2` (tasks the workers of `adit serve` run at once) |
//! | `ADIT_WORKER_STOP_GRACE` | `worker_stop_grace` | `10` (seconds running tasks may go on after SIGTERM before they are stopped and given back to the queue) |
//! | `ADIT_ADMIN_PASSWORD` | `admin_password` | generated on first start |
//! | `ADIT_SECRET_KEY` | `secret_key` | generated and stored on first start |
//! | `ADIT_EXCLUDE_MODALITIES` | `exclude_modalities` | empty (comma list, e.g. `PR,SR`) |
//! | `ADIT_TLS_CERT` / `ADIT_TLS_KEY` | `tls_cert` / `tls_key` | none (plain HTTP) |
//! | `ADIT_SMTP_HOST` / `_PORT` / `_USERNAME` / `_PASSWORD` / `_FROM` | `smtp.*` | none: mails are logged |
//! | `ADIT_METRICS_TOKEN` | `metrics_token` | none (only staff users may read `/metrics`) |
//! | `ADIT_METRICS_ADDR` | `metrics_addr` | none (extra `/metrics`-only listener, for `adit worker`) |
//! | `ADIT_MAX_BODY_SIZE` | `max_body_size` | `10485760` (bytes; request bodies except uploads) |
//! | `ADIT_MAX_UPLOAD_SIZE` | `max_upload_size` | `4294967296` (bytes; STOW-RS bodies) |
//! | `ADIT_RATE_LIMIT_IP` | `rate_limit_ip` | `600` (requests per minute per client IP without a token; 0: off) |
//! | `ADIT_RATE_LIMIT_TOKEN` | `rate_limit_token` | `6000` (requests per minute per API token; 0: off) |
//! | `ADIT_MAX_RETRIEVES_PER_USER` | `max_retrieves_per_user` | `4` (concurrent DICOMweb retrieves per user; 0: no cap) |
//! | `ADIT_MAX_BATCH_QUERY_SIZE` | `max_batch_query_size` | `1000` (queries per batch query job of a non-staff user) |
//! | `ADIT_MAX_BATCH_TRANSFER_SIZE` | `max_batch_transfer_size` | `500` (studies per batch transfer job of a non-staff user) |

use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// Default of [`Config::max_body_size`]: 10 MiB.
pub const DEFAULT_MAX_BODY_SIZE: u64 = 10 * 1024 * 1024;
/// Default of [`Config::max_upload_size`]: 4 GiB.
pub const DEFAULT_MAX_UPLOAD_SIZE: u64 = 4 * 1024 * 1024 * 1024;
/// Default of [`Config::rate_limit_ip`].
pub const DEFAULT_RATE_LIMIT_IP: u32 = 600;
/// Default of [`Config::rate_limit_token`].
pub const DEFAULT_RATE_LIMIT_TOKEN: u32 = 6000;
/// Default of [`Config::max_retrieves_per_user`].
pub const DEFAULT_MAX_RETRIEVES_PER_USER: usize = 4;
/// Default of [`Config::max_batch_query_size`] (ADIT's `MAX_BATCH_QUERY_SIZE`).
pub const DEFAULT_MAX_BATCH_QUERY_SIZE: usize = 1000;
/// Default of [`Config::max_batch_transfer_size`] (ADIT's `MAX_BATCH_TRANSFER_SIZE`).
pub const DEFAULT_MAX_BATCH_TRANSFER_SIZE: usize = 500;

/// Default of [`Config::worker_stop_grace`].
pub const DEFAULT_WORKER_STOP_GRACE: Duration = Duration::from_secs(10);

/// The effective configuration of an `adit` process.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Config {
    /// Directory for the SQLite database, the generated secret, spool and logs.
    pub data_dir: PathBuf,
    /// Database URL: `sqlite://...` (embedded default) or `postgres://...` (scaled deployment).
    pub database_url: String,
    /// Address the web UI and APIs listen on.
    pub http_addr: SocketAddr,
    /// AE title ADIT calls PACS with.
    pub calling_ae: String,
    /// AE title of ADIT's own DICOM receiver (the C-MOVE destination).
    pub receiver_ae: String,
    /// Address the DICOM receiver listens on.
    pub receiver_addr: SocketAddr,
    /// Tasks the workers inside `adit serve` run at the same time.
    pub worker_concurrency: usize,
    /// How long running tasks may go on after SIGINT/SIGTERM before the workers stop them and
    /// give them back to the queue.
    #[serde(with = "seconds")]
    pub worker_stop_grace: Duration,
    /// Password for the `admin` account created on first start.
    pub admin_password: Option<Secret>,
    /// Pseudonymization secret; generated and stored in the data dir when absent.
    pub secret_key: Option<Secret>,
    /// Modalities left out of pseudonymized transfers started from the web UI.
    pub exclude_modalities: Vec<String>,
    /// PEM certificate chain for HTTPS.
    pub tls_cert: Option<PathBuf>,
    /// PEM private key for HTTPS.
    pub tls_key: Option<PathBuf>,
    /// Outgoing mail; without a host, mails are written to the log.
    pub smtp: SmtpConfig,
    /// Bearer token a Prometheus server sends to read `/metrics` (staff users need none).
    pub metrics_token: Option<Secret>,
    /// Address of an extra listener serving only `/metrics` (processes without a web server).
    pub metrics_addr: Option<SocketAddr>,
    /// Largest request body in bytes, except on upload routes.
    pub max_body_size: u64,
    /// Largest body in bytes on upload routes (STOW-RS).
    pub max_upload_size: u64,
    /// Requests per minute one client IP may make without an API token (0: unlimited).
    pub rate_limit_ip: u32,
    /// Requests per minute one API token may make (0: unlimited).
    pub rate_limit_token: u32,
    /// DICOMweb retrieves (WADO-RS) one user may have running at once (0: no cap).
    pub max_retrieves_per_user: usize,
    /// Most queries in a batch query job of a non-staff user.
    pub max_batch_query_size: usize,
    /// Most studies in a batch transfer job of a non-staff user.
    pub max_batch_transfer_size: usize,
}

/// SMTP settings for job-finished mails.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SmtpConfig {
    /// SMTP server host; `None` disables sending (mails are logged).
    pub host: Option<String>,
    /// SMTP port (default 587).
    pub port: Option<u16>,
    /// Login user.
    pub username: Option<String>,
    /// Login password.
    pub password: Option<Secret>,
    /// Sender address.
    pub from: Option<String>,
}

/// A secret value: never printed, compared in full.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret.
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// The secret itself; call only where it is used, never to print it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("\"********\"")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("********")
    }
}

/// The TOML file's shape: every key optional, unknown keys rejected (a typo must not silently
/// fall back to a default).
#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
struct FileConfig {
    data_dir: Option<PathBuf>,
    database_url: Option<String>,
    http_addr: Option<String>,
    calling_ae: Option<String>,
    receiver_ae: Option<String>,
    receiver_addr: Option<String>,
    worker_concurrency: Option<usize>,
    worker_stop_grace: Option<u64>,
    admin_password: Option<Secret>,
    secret_key: Option<Secret>,
    exclude_modalities: Option<Vec<String>>,
    tls_cert: Option<PathBuf>,
    tls_key: Option<PathBuf>,
    smtp: Option<SmtpConfig>,
    metrics_token: Option<Secret>,
    metrics_addr: Option<String>,
    max_body_size: Option<u64>,
    max_upload_size: Option<u64>,
    rate_limit_ip: Option<u32>,
    rate_limit_token: Option<u32>,
    max_retrieves_per_user: Option<usize>,
    max_batch_query_size: Option<usize>,
    max_batch_transfer_size: Option<usize>,
}

impl Config {
    /// Loads the configuration from an optional TOML file and the process environment.
    pub fn load(file: Option<&Path>) -> Result<Config> {
        Config::load_from(file, |key| std::env::var(key).ok())
    }

    /// Loads the configuration from an optional TOML file and the given environment lookup
    /// (tests pass a map instead of the process environment).
    pub fn load_from(file: Option<&Path>, env: impl Fn(&str) -> Option<String>) -> Result<Config> {
        let file_config = match file {
            Some(path) => read_file(path)?,
            None => FileConfig::default(),
        };
        let origin = |key: &str| -> Option<(String, String)> {
            env(key)
                .filter(|v| !v.is_empty())
                .map(|v| (v, format!("environment variable {key}")))
        };
        let file_origin = "configuration file".to_owned();
        let pick = |env_key: &str, from_file: Option<String>| {
            origin(env_key).or_else(|| from_file.map(|v| (v, file_origin.clone())))
        };

        let data_dir = pick(
            "ADIT_DATA_DIR",
            file_config.data_dir.map(|p| p.display().to_string()),
        )
        .map(|(v, _)| PathBuf::from(v))
        .unwrap_or_else(|| PathBuf::from("./adit-data"));
        let database_url = pick("ADIT_DATABASE_URL", file_config.database_url)
            .map(|(v, o)| validate_database_url(v, &o))
            .transpose()?
            .unwrap_or_else(|| format!("sqlite://{}/adit.db", data_dir.display()));
        let http_addr = address(
            "ADIT_HTTP_ADDR",
            pick("ADIT_HTTP_ADDR", file_config.http_addr),
            "127.0.0.1:8000",
        )?;
        let receiver_addr = address(
            "ADIT_RECEIVER_ADDR",
            pick("ADIT_RECEIVER_ADDR", file_config.receiver_addr),
            "127.0.0.1:11112",
        )?;
        let calling_ae = ae_title(
            "ADIT_CALLING_AE",
            pick("ADIT_CALLING_AE", file_config.calling_ae),
        )?;
        let receiver_ae = ae_title(
            "ADIT_RECEIVER_AE",
            pick("ADIT_RECEIVER_AE", file_config.receiver_ae),
        )?;
        let worker_concurrency = match origin("ADIT_WORKER_CONCURRENCY") {
            Some((v, o)) => {
                v.parse::<usize>()
                    .ok()
                    .filter(|n| *n > 0)
                    .ok_or_else(|| Error::Config {
                        key: "ADIT_WORKER_CONCURRENCY".into(),
                        origin: o,
                        reason: format!("`{v}` is not a positive number"),
                    })?
            }
            None => file_config.worker_concurrency.unwrap_or(2).max(1),
        };
        let worker_stop_grace = match origin("ADIT_WORKER_STOP_GRACE") {
            Some((v, o)) => v.parse::<u64>().map_err(|_| Error::Config {
                key: "ADIT_WORKER_STOP_GRACE".into(),
                origin: o,
                reason: format!("`{v}` is not a number of seconds"),
            })?,
            None => file_config
                .worker_stop_grace
                .unwrap_or(DEFAULT_WORKER_STOP_GRACE.as_secs()),
        };
        let worker_stop_grace = Duration::from_secs(worker_stop_grace);
        let secret = |key: &str, from_file: Option<Secret>| {
            origin(key).map(|(v, _)| Secret(v)).or(from_file)
        };
        let exclude_modalities = match origin("ADIT_EXCLUDE_MODALITIES") {
            Some((v, _)) => v
                .split(',')
                .map(|m| m.trim().to_ascii_uppercase())
                .filter(|m| !m.is_empty())
                .collect(),
            None => file_config.exclude_modalities.unwrap_or_default(),
        };
        let path = |key: &str, from_file: Option<PathBuf>| {
            origin(key).map(|(v, _)| PathBuf::from(v)).or(from_file)
        };
        let tls_cert = path("ADIT_TLS_CERT", file_config.tls_cert);
        let tls_key = path("ADIT_TLS_KEY", file_config.tls_key);
        if tls_cert.is_some() != tls_key.is_some() {
            return Err(Error::Config {
                key: "ADIT_TLS_CERT/ADIT_TLS_KEY".into(),
                origin: "configuration".into(),
                reason: "give both the certificate and the key, or neither".into(),
            });
        }
        let file_smtp = file_config.smtp.unwrap_or_default();
        let smtp_port = match origin("ADIT_SMTP_PORT") {
            Some((v, o)) => Some(v.parse::<u16>().map_err(|e| Error::Config {
                key: "ADIT_SMTP_PORT".into(),
                origin: o,
                reason: e.to_string(),
            })?),
            None => file_smtp.port,
        };
        let smtp = SmtpConfig {
            host: origin("ADIT_SMTP_HOST").map(|(v, _)| v).or(file_smtp.host),
            port: smtp_port,
            username: origin("ADIT_SMTP_USERNAME")
                .map(|(v, _)| v)
                .or(file_smtp.username),
            password: secret("ADIT_SMTP_PASSWORD", file_smtp.password),
            from: origin("ADIT_SMTP_FROM").map(|(v, _)| v).or(file_smtp.from),
        };
        let metrics_addr = match pick("ADIT_METRICS_ADDR", file_config.metrics_addr) {
            Some(value) => Some(address("ADIT_METRICS_ADDR", Some(value), "")?),
            None => None,
        };
        let max_body_size = number(
            "ADIT_MAX_BODY_SIZE",
            origin("ADIT_MAX_BODY_SIZE"),
            file_config.max_body_size,
            DEFAULT_MAX_BODY_SIZE,
        )?;
        let max_upload_size = number(
            "ADIT_MAX_UPLOAD_SIZE",
            origin("ADIT_MAX_UPLOAD_SIZE"),
            file_config.max_upload_size,
            DEFAULT_MAX_UPLOAD_SIZE,
        )?;
        let rate_limit_ip = number(
            "ADIT_RATE_LIMIT_IP",
            origin("ADIT_RATE_LIMIT_IP"),
            file_config.rate_limit_ip,
            DEFAULT_RATE_LIMIT_IP,
        )?;
        let rate_limit_token = number(
            "ADIT_RATE_LIMIT_TOKEN",
            origin("ADIT_RATE_LIMIT_TOKEN"),
            file_config.rate_limit_token,
            DEFAULT_RATE_LIMIT_TOKEN,
        )?;
        let max_retrieves_per_user = number(
            "ADIT_MAX_RETRIEVES_PER_USER",
            origin("ADIT_MAX_RETRIEVES_PER_USER"),
            file_config.max_retrieves_per_user,
            DEFAULT_MAX_RETRIEVES_PER_USER,
        )?;
        let max_batch_query_size = number(
            "ADIT_MAX_BATCH_QUERY_SIZE",
            origin("ADIT_MAX_BATCH_QUERY_SIZE"),
            file_config.max_batch_query_size,
            DEFAULT_MAX_BATCH_QUERY_SIZE,
        )?;
        let max_batch_transfer_size = number(
            "ADIT_MAX_BATCH_TRANSFER_SIZE",
            origin("ADIT_MAX_BATCH_TRANSFER_SIZE"),
            file_config.max_batch_transfer_size,
            DEFAULT_MAX_BATCH_TRANSFER_SIZE,
        )?;
        Ok(Config {
            metrics_token: secret("ADIT_METRICS_TOKEN", file_config.metrics_token),
            metrics_addr,
            max_body_size,
            max_upload_size,
            rate_limit_ip,
            rate_limit_token,
            max_retrieves_per_user,
            max_batch_query_size,
            max_batch_transfer_size,
            admin_password: secret("ADIT_ADMIN_PASSWORD", file_config.admin_password),
            secret_key: secret("ADIT_SECRET_KEY", file_config.secret_key),
            data_dir,
            database_url,
            http_addr,
            calling_ae,
            receiver_ae,
            receiver_addr,
            worker_concurrency,
            worker_stop_grace,
            exclude_modalities,
            tls_cert,
            tls_key,
            smtp,
        })
    }

    /// True when the database is the embedded SQLite default.
    pub fn is_sqlite(&self) -> bool {
        self.database_url.starts_with("sqlite:")
    }

    /// The effective configuration as TOML, secrets masked, for `adit config`.
    pub fn to_masked_toml(&self) -> String {
        let mut masked = self.clone();
        masked.database_url = mask_url_password(&self.database_url);
        // Secret serializes transparently; replace each with a visible mask.
        let mask = |s: &Option<Secret>| s.as_ref().map(|_| Secret::new("********"));
        masked.admin_password = mask(&self.admin_password);
        masked.secret_key = mask(&self.secret_key);
        masked.smtp.password = mask(&self.smtp.password);
        masked.metrics_token = mask(&self.metrics_token);
        toml::to_string_pretty(&masked).unwrap_or_else(|e| format!("# cannot render: {e}\n"))
    }
}

/// Serializes a [`Duration`] as whole seconds (as it is configured).
mod seconds {
    use std::time::Duration;

    pub(super) fn serialize<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(d.as_secs())
    }
}

fn read_file(path: &Path) -> Result<FileConfig> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::ConfigFile {
        path: path.to_owned(),
        reason: e.to_string(),
    })?;
    toml::from_str(&text).map_err(|e| Error::ConfigFile {
        path: path.to_owned(),
        reason: e.to_string(),
    })
}

fn validate_database_url(url: String, origin: &str) -> Result<String> {
    if url.starts_with("sqlite:")
        || url.starts_with("postgres://")
        || url.starts_with("postgresql://")
    {
        Ok(url)
    } else {
        Err(Error::Config {
            key: "ADIT_DATABASE_URL".into(),
            origin: origin.to_owned(),
            reason: format!(
                "`{}` is neither sqlite://... nor postgres://...",
                mask_url_password(&url)
            ),
        })
    }
}

/// A non-negative number from the environment (`env`), else the file, else `default`.
fn number<T: std::str::FromStr>(
    key: &str,
    env: Option<(String, String)>,
    from_file: Option<T>,
    default: T,
) -> Result<T> {
    match env {
        Some((text, origin)) => text.trim().parse().map_err(|_| Error::Config {
            key: key.to_owned(),
            origin,
            reason: format!("`{text}` is not a non-negative whole number"),
        }),
        None => Ok(from_file.unwrap_or(default)),
    }
}

fn address(key: &str, value: Option<(String, String)>, default: &str) -> Result<SocketAddr> {
    let (text, origin) = value.unwrap_or_else(|| (default.to_owned(), "default".to_owned()));
    text.parse().map_err(|e| Error::Config {
        key: key.to_owned(),
        origin,
        reason: format!("`{text}` is not host:port ({e})"),
    })
}

/// AE titles: 1–16 characters of the default repertoire, no backslash or control characters,
/// not all spaces (PS3.5 VR AE).
fn ae_title(key: &str, value: Option<(String, String)>) -> Result<String> {
    let Some((text, origin)) = value else {
        return Ok("ADIT".to_owned());
    };
    let trimmed = text.trim();
    let valid = !trimmed.is_empty()
        && trimmed.len() <= 16
        && trimmed
            .chars()
            .all(|c| c.is_ascii() && !c.is_ascii_control() && c != '\\');
    if valid {
        Ok(trimmed.to_owned())
    } else {
        Err(Error::Config {
            key: key.to_owned(),
            origin,
            reason: format!("`{text}` is not an AE title (1-16 ASCII characters, no backslash)"),
        })
    }
}

/// Replaces the password of `scheme://user:password@host/...` with `********`.
fn mask_url_password(url: &str) -> String {
    let Some(scheme_end) = url.find("://") else {
        return url.to_owned();
    };
    let rest = &url[scheme_end + 3..];
    let authority_end = rest.find('/').unwrap_or(rest.len());
    let authority = &rest[..authority_end];
    match (authority.rfind('@'), authority.find(':')) {
        (Some(at), Some(colon)) if colon < at => format!(
            "{}{}:********{}",
            &url[..scheme_end + 3],
            &authority[..colon],
            &url[scheme_end + 3 + at..]
        ),
        _ => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        move |k| map.get(k).cloned()
    }

    #[test]
    fn defaults_are_the_embedded_single_machine_setup() {
        let c = Config::load_from(None, env(&[])).unwrap();
        assert_eq!(c.data_dir, PathBuf::from("./adit-data"));
        assert_eq!(c.database_url, "sqlite://./adit-data/adit.db");
        assert!(c.is_sqlite());
        assert_eq!(c.http_addr.to_string(), "127.0.0.1:8000");
        assert_eq!(c.receiver_addr.to_string(), "127.0.0.1:11112");
        assert_eq!(
            (c.calling_ae.as_str(), c.receiver_ae.as_str()),
            ("ADIT", "ADIT")
        );
        assert!(c.secret_key.is_none() && c.admin_password.is_none());
        assert_eq!(c.worker_concurrency, 2);
        assert_eq!(c.worker_stop_grace, DEFAULT_WORKER_STOP_GRACE);
        assert!(c.to_masked_toml().contains("worker_stop_grace = 10"));
        let c = Config::load_from(None, env(&[("ADIT_WORKER_CONCURRENCY", "4")])).unwrap();
        assert_eq!(c.worker_concurrency, 4);
        assert!(Config::load_from(None, env(&[("ADIT_WORKER_CONCURRENCY", "0")])).is_err());
        assert_eq!(c.max_body_size, DEFAULT_MAX_BODY_SIZE);
        assert_eq!(c.max_batch_transfer_size, 500);
        assert!(c.metrics_addr.is_none() && c.metrics_token.is_none());
    }

    #[test]
    fn limits_and_metrics_settings_are_read_and_checked() {
        let c = Config::load_from(
            None,
            env(&[
                ("ADIT_RATE_LIMIT_IP", "0"),
                ("ADIT_MAX_UPLOAD_SIZE", "1024"),
                ("ADIT_METRICS_ADDR", "127.0.0.1:9464"),
                ("ADIT_METRICS_TOKEN", "scrape-me"),
            ]),
        )
        .unwrap();
        assert_eq!((c.rate_limit_ip, c.max_upload_size), (0, 1024));
        assert_eq!(c.metrics_addr.unwrap().port(), 9464);
        assert!(!c.to_masked_toml().contains("scrape-me"));
        let err = Config::load_from(None, env(&[("ADIT_MAX_BODY_SIZE", "-1")])).unwrap_err();
        assert!(err.to_string().contains("ADIT_MAX_BODY_SIZE"), "{err}");
    }

    #[test]
    fn environment_overrides_the_file_which_overrides_defaults() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("adit.toml");
        std::fs::write(
            &file,
            "calling_ae = \"FROMFILE\"\nhttp_addr = \"127.0.0.1:9000\"\n[smtp]\nhost = \"mail.example\"\n",
        )
        .unwrap();
        let c = Config::load_from(
            Some(&file),
            env(&[
                ("ADIT_HTTP_ADDR", "127.0.0.1:9100"),
                ("ADIT_DATA_DIR", "/srv/adit"),
            ]),
        )
        .unwrap();
        assert_eq!(c.calling_ae, "FROMFILE");
        assert_eq!(c.http_addr.to_string(), "127.0.0.1:9100");
        assert_eq!(c.database_url, "sqlite:///srv/adit/adit.db");
        assert_eq!(c.smtp.host.as_deref(), Some("mail.example"));
    }

    #[test]
    fn bad_values_name_the_setting_and_origin() {
        let err = Config::load_from(None, env(&[("ADIT_HTTP_ADDR", "localhost")])).unwrap_err();
        assert!(err.to_string().contains("ADIT_HTTP_ADDR"), "{err}");
        assert!(err.to_string().contains("environment variable"), "{err}");
        let err = Config::load_from(None, env(&[("ADIT_CALLING_AE", "WAY_TOO_LONG_AE_TITLE")]))
            .unwrap_err();
        assert!(err.to_string().contains("AE title"), "{err}");
        let err = Config::load_from(None, env(&[("ADIT_DATABASE_URL", "mysql://u:pw@h/db")]))
            .unwrap_err();
        assert!(!err.to_string().contains("pw@"), "password leaked: {err}");
        let err = Config::load_from(None, env(&[("ADIT_TLS_CERT", "/c.pem")])).unwrap_err();
        assert!(err.to_string().contains("neither"), "{err}");

        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("adit.toml");
        std::fs::write(&file, "calling_aet = \"TYPO\"\n").unwrap();
        let err = Config::load_from(Some(&file), env(&[])).unwrap_err();
        assert!(err.to_string().contains("calling_aet"), "{err}");
    }

    #[test]
    fn printing_masks_every_secret() {
        let c = Config::load_from(
            None,
            env(&[
                (
                    "ADIT_DATABASE_URL",
                    "postgres://adit:hunter2@127.0.0.1/adit",
                ),
                ("ADIT_SECRET_KEY", "s3cr3t-key"),
                ("ADIT_ADMIN_PASSWORD", "adm1n-pw"),
                ("ADIT_SMTP_PASSWORD", "smtp-pw"),
            ]),
        )
        .unwrap();
        let text = c.to_masked_toml();
        for secret in ["hunter2", "s3cr3t-key", "adm1n-pw", "smtp-pw"] {
            assert!(!text.contains(secret), "{secret} leaked:\n{text}");
        }
        assert!(
            text.contains("postgres://adit:********@127.0.0.1/adit"),
            "{text}"
        );
        assert!(!format!("{c:?}").contains("s3cr3t-key"));
        assert_eq!(c.secret_key.unwrap().expose(), "s3cr3t-key");
    }
}
