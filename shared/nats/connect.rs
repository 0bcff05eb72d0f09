//! Reaching the server the way NATS users configure it: a URL (`nats://user:pass@host:4222`,
//! `tls://...`), a `.creds` file, TLS roots and client certificates; and the stream that
//! holds a subject.

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Duration;

use async_nats::jetstream::{self, stream};
use async_nats::{Client, ConnectErrorKind, ConnectOptions};

use super::{fail, stream_name, META_KIND};
use crate::error::Result;
use crate::event::EventKind;

/// The connection options every NATS stage shares.
#[derive(Debug, Clone, clap::Args)]
pub struct NatsArgs {
    /// The NATS server: `nats://[USER:PASSWORD@]HOST:PORT`, or `tls://...` to require TLS.
    #[arg(
        long = "nats",
        value_name = "URL",
        env = "COPIPE_NATS",
        default_value = "nats://127.0.0.1:4222"
    )]
    pub url: String,
    /// A NATS credentials file (JWT and `NKey` seed), as `nsc` or `nats context` write them.
    #[arg(long, value_name = "FILE", env = "COPIPE_NATS_CREDS")]
    pub creds: Option<PathBuf>,
    /// PEM file of the certificate authorities that signed the server's certificate.
    #[arg(long, value_name = "FILE")]
    pub tls_ca: Option<PathBuf>,
    /// PEM client certificate, for servers that verify clients (with --tls-key).
    #[arg(long, value_name = "FILE", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// PEM private key of --tls-cert.
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
}

impl NatsArgs {
    /// The URL without its password, for messages.
    pub fn shown_url(&self) -> String {
        match (self.url.find("://"), self.url.rfind('@')) {
            (Some(scheme), Some(at)) if at > scheme => {
                format!("{}://***@{}", &self.url[..scheme], &self.url[at + 1..])
            }
            _ => self.url.clone(),
        }
    }

    /// Connects, failing at once (one line) when no server answers or it refuses us.
    pub async fn connect(&self, stage: &str) -> Result<Client> {
        let url = self.shown_url();
        let mut options = ConnectOptions::new()
            .name(stage)
            .connection_timeout(Duration::from_secs(5))
            .max_reconnects(None);
        if let Some(creds) = &self.creds {
            options = options.credentials_file(creds).await.map_err(|e| {
                fail(format!(
                    "cannot read credentials file {}: {e}",
                    creds.display()
                ))
            })?;
        }
        let tls =
            self.url.starts_with("tls://") || self.tls_ca.is_some() || self.tls_cert.is_some();
        if let Some(ca) = &self.tls_ca {
            options = options.add_root_certificates(ca.clone());
        }
        if let (Some(cert), Some(key)) = (&self.tls_cert, &self.tls_key) {
            options = options.add_client_certificate(cert.clone(), key.clone());
        }
        options = options.require_tls(tls);
        let (address, user) = split_user(&self.url);
        if let Some((name, password)) = user {
            options = options.user_and_password(name, password);
        }
        options.connect(address.as_str()).await.map_err(|e| {
            fail(match e.kind() {
                ConnectErrorKind::AuthorizationViolation | ConnectErrorKind::Authentication => {
                    format!("the NATS server at {url} refused the credentials ({e})")
                }
                ConnectErrorKind::Tls => format!("TLS with the NATS server at {url} failed: {e}"),
                ConnectErrorKind::ServerParse => format!("invalid NATS URL {url}: {e}"),
                _ => format!("cannot connect to a NATS server at {url}: {e}"),
            })
        })
    }
}

/// Takes `user:password@` out of a URL (percent-decoded), as NATS clients read it.
fn split_user(url: &str) -> (String, Option<(String, String)>) {
    let (Some(scheme), Some(at)) = (url.find("://"), url.rfind('@')) else {
        return (url.to_owned(), None);
    };
    if at < scheme {
        return (url.to_owned(), None);
    }
    let info = &url[scheme + 3..at];
    let (user, pass) = info.split_once(':').unwrap_or((info, ""));
    let decode = |s: &str| {
        percent_encoding::percent_decode_str(s)
            .decode_utf8_lossy()
            .into_owned()
    };
    let address = format!("{}{}", &url[..scheme + 3], &url[at + 1..]);
    (address, Some((decode(user), decode(pass))))
}

/// Gets (or creates) the stream holding `subject`, checking that it carries `kind` when one
/// is given and recording it when the stream does not know its kind yet.
///
/// `max_bytes` bounds what the stream keeps: once full, publishing waits (back-pressure)
/// rather than dropping anything.
pub async fn ensure_stream(
    js: &jetstream::Context,
    url: &str,
    subject: &str,
    kind: Option<EventKind>,
    max_bytes: i64,
) -> Result<stream::Stream> {
    let name = stream_name(subject);
    let mut metadata = HashMap::new();
    if let Some(k) = kind {
        metadata.insert(META_KIND.to_owned(), k.name().to_owned());
    }
    let config = stream::Config {
        name: name.clone(),
        subjects: vec![format!("{subject}.*")],
        storage: stream::StorageType::File,
        discard: stream::DiscardPolicy::New,
        max_bytes,
        duplicate_window: Duration::from_mins(2),
        metadata,
        description: Some(format!("copipe link {subject}")),
        ..Default::default()
    };
    let mut stream = match js.get_stream(&name).await {
        Ok(s) => s,
        Err(e)
            if matches!(
                e.kind(),
                jetstream::context::GetStreamErrorKind::JetStream(_)
            ) =>
        {
            match js.create_stream(config).await {
                Ok(s) => s,
                // The other end of the link created it in the meantime (with its own idea of
                // the kind, checked below): take it.
                Err(e) => js
                    .get_stream(&name)
                    .await
                    .map_err(|_| no_jetstream(url, subject, &e.to_string()))?,
            }
        }
        Err(e) => return Err(no_jetstream(url, subject, &e.to_string())),
    };
    let info = stream
        .info()
        .await
        .map_err(|e| no_jetstream(url, subject, &e.to_string()))?;
    let held = info.config.metadata.get(META_KIND).cloned();
    match (held.as_deref().and_then(super::parse_kind), kind) {
        (Some(h), Some(k)) if h != k => Err(fail(format!(
            "subject {subject} holds {h}, not {k} (stream {name} on {url}); use another subject"
        ))),
        (None, Some(k)) => {
            let mut updated = info.config.clone();
            updated
                .metadata
                .insert(META_KIND.to_owned(), k.name().to_owned());
            js.update_stream(updated)
                .await
                .map_err(|e| fail(format!("cannot record the kind of stream {name}: {e}")))?;
            Ok(stream)
        }
        _ => Ok(stream),
    }
}

fn no_jetstream(url: &str, subject: &str, why: &str) -> crate::error::Error {
    fail(format!(
        "cannot open the JetStream stream for subject {subject} on {url} (is JetStream enabled, nats-server -js?): {why}"
    ))
}
