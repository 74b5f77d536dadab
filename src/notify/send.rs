//! Sending: hyper over rustls (ring, the system's roots), every connection through the outbound
//! address policy's connector, each exchange within a deadline, at most 64 KiB of answer read.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};

use crate::egress::{self, Policy};

/// Longest exchange with a sink.
const DEADLINE: Duration = Duration::from_secs(10);
/// Most answer bytes read (only the status matters; the rest is drained).
const MAX_ANSWER: usize = 64 * 1024;

type Hyper = hyper_util::client::legacy::Client<
    hyper_rustls::HttpsConnector<
        egress::Guarded<hyper_util::client::legacy::connect::HttpConnector<egress::Resolver>>,
    >,
    Full<Bytes>,
>;

/// The sinks' HTTP client. Cheap to clone.
#[derive(Clone)]
pub struct Http(Hyper);

/// Why nothing was answered. The text never holds the URL (it may carry a token).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct SendError(pub String);

impl Http {
    /// A client whose connections obey `policy`.
    pub fn new(policy: Arc<Policy>) -> Result<Http, SendError> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let connector = hyper_rustls::HttpsConnectorBuilder::new()
            .with_provider_and_native_roots(provider)
            .map_err(|e| SendError(format!("no TLS roots: {e}")))?
            .https_or_http()
            .enable_http1()
            .wrap_connector(egress::http_connector(policy));
        let executor = hyper_util::rt::TokioExecutor::new();
        Ok(Http(
            hyper_util::client::legacy::Client::builder(executor).build(connector),
        ))
    }

    /// POST `body` as JSON with `headers`; the answer's status.
    pub async fn post(
        &self,
        url: &str,
        headers: &[(&str, String)],
        body: Vec<u8>,
    ) -> Result<u16, SendError> {
        let mut request = http::Request::post(url).header("content-type", "application/json");
        for (name, value) in headers {
            request = request.header(*name, value);
        }
        let request = request
            .body(Full::new(Bytes::from(body)))
            .map_err(|_| SendError("the URL cannot be used".into()))?;
        let exchange = async {
            let answer =
                self.0
                    .request(request)
                    .await
                    .map_err(|e| match egress::refusal_in(&e) {
                        Some(refused) => SendError(refused.to_string()),
                        None => SendError("the sink did not answer (connection failed)".into()),
                    })?;
            let status = answer.status().as_u16();
            // Read (some of) the answer so the connection can be reused; its content is unused.
            let _ = Limited::new(answer.into_body(), MAX_ANSWER).collect().await;
            Ok(status)
        };
        tokio::time::timeout(DEADLINE, exchange)
            .await
            .map_err(|_| SendError(format!("no answer within {} s", DEADLINE.as_secs())))?
    }
}
