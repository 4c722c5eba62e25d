//! Logs (tracing, `RUST_LOG`), traces (OTLP, when `OTEL_EXPORTER_OTLP_ENDPOINT` is set) and metrics
//! (Prometheus text at `/metrics`).
//!
//! Every Slack request is a `request` span (method, path, then `team_id`/`user_id` once the body is
//! read), every stored request handled is an `inbox` span, every job a `job` span, every model call
//! an `llm_call` span and every step of a durable run a `step` span with `run_id`, `team_id` and
//! `user_id`. With an OTLP endpoint those spans (target `chief`, level INFO and above) are exported
//! over OTLP/HTTP with protobuf bodies to `{endpoint}/v1/traces`, whatever `RUST_LOG` says.
//!
//! Logging starts before the configuration is read (so configuration errors are logged), which is
//! why the few telemetry variables are read here and not in `config.rs`.

use std::sync::OnceLock;
use std::time::Duration;

use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_http::{Bytes, HttpClient, HttpError, Request, Response};
use opentelemetry_otlp::{WithExportConfig, WithHttpConfig};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing::Level;
use tracing_subscriber::filter::Targets;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer, Registry};

static PROMETHEUS: OnceLock<PrometheusHandle> = OnceLock::new();

/// Installs the process-wide metrics recorder once and returns its handle.
fn prometheus() -> &'static PrometheusHandle {
    PROMETHEUS.get_or_init(|| {
        let recorder = PrometheusBuilder::new().build_recorder();
        let handle = recorder.handle();
        // Fails only if another recorder is installed already; metrics then go there instead.
        let _ = metrics::set_global_recorder(recorder);
        handle
    })
}

/// Call once at start-up, before anything records a metric.
pub fn init_metrics() {
    prometheus();
}

pub fn render_metrics() -> String {
    prometheus().render()
}

/// How chief reports what it does: log format, and where traces go.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TelemetrySettings {
    /// `CHIEF_LOG_FORMAT=json`: one JSON object a log line.
    pub json: bool,
    /// Trace export, when an OTLP endpoint is configured.
    pub otlp: Option<OtlpSettings>,
}

/// Where spans are exported to (OTLP over HTTP, protobuf bodies).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OtlpSettings {
    /// The full traces URL: `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`, else
    /// `OTEL_EXPORTER_OTLP_ENDPOINT` + `/v1/traces`.
    pub traces_endpoint: String,
    /// `OTEL_SERVICE_NAME`, default `chief`.
    pub service_name: String,
}

impl TelemetrySettings {
    /// From the process environment.
    pub fn from_env() -> Self {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// From an explicit variable lookup (tests). Extra collector headers
    /// (`OTEL_EXPORTER_OTLP_HEADERS`, e.g. an API key) are read by the exporter itself and never
    /// logged.
    pub fn from_lookup(var: impl Fn(&str) -> Option<String>) -> Self {
        let non_empty = |name: &str| {
            var(name)
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
        };
        let traces_endpoint = non_empty("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT").or_else(|| {
            non_empty("OTEL_EXPORTER_OTLP_ENDPOINT")
                .map(|base| format!("{}/v1/traces", base.trim_end_matches('/')))
        });
        TelemetrySettings {
            json: non_empty("CHIEF_LOG_FORMAT").as_deref() == Some("json"),
            otlp: traces_endpoint.map(|traces_endpoint| OtlpSettings {
                traces_endpoint,
                service_name: non_empty("OTEL_SERVICE_NAME").unwrap_or_else(|| "chief".into()),
            }),
        }
    }
}

#[derive(Debug, thiserror::Error)]
#[error("cannot set up OTLP trace export: {0}")]
pub struct TelemetryError(String);

/// Keeps the trace exporter alive; [`Telemetry::shutdown`] sends what is still buffered.
#[derive(Debug, Default)]
pub struct Telemetry {
    provider: Option<SdkTracerProvider>,
}

impl Telemetry {
    /// Exports the spans still buffered and stops the exporter. Blocking: from async code call it
    /// in `spawn_blocking` (the export itself runs on the Tokio runtime).
    pub fn shutdown(self) {
        if let Some(provider) = self.provider {
            let _ = provider.force_flush();
            let _ = provider.shutdown();
        }
    }
}

/// Logs to stderr; `json` for one JSON object a line. No trace export.
pub fn init_logging(json: bool) {
    let _ = init(&TelemetrySettings { json, otlp: None });
}

/// Logs to stderr and, with OTLP settings, exports spans. Call once, inside the Tokio runtime.
/// A broken OTLP setting is reported and chief runs without trace export.
pub fn init(settings: &TelemetrySettings) -> Telemetry {
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,hyper=warn,slack_morphism=warn"));
    let fmt = tracing_subscriber::fmt::layer().with_writer(std::io::stderr);
    let fmt = if settings.json {
        fmt.json().with_filter(filter).boxed()
    } else {
        fmt.with_filter(filter).boxed()
    };
    let (provider, problem) = match settings.otlp.as_ref().map(otlp_provider) {
        Some(Ok(provider)) => (Some(provider), None),
        Some(Err(e)) => (None, Some(e)),
        None => (None, None),
    };
    let otel = provider.as_ref().map(otlp_layer);
    let _ = Registry::default().with(fmt).with(otel).try_init();
    if let Some(e) = problem {
        tracing::error!(error = %e, "traces are not exported");
    } else if let Some(otlp) = &settings.otlp {
        tracing::info!(endpoint = %otlp.traces_endpoint, "exporting traces over OTLP");
    }
    Telemetry { provider }
}

/// A tracer provider exporting in batches to `settings.traces_endpoint`. Must be called inside a
/// Tokio runtime: exports run on it.
pub fn otlp_provider(settings: &OtlpSettings) -> Result<SdkTracerProvider, TelemetryError> {
    let handle = tokio::runtime::Handle::try_current()
        .map_err(|_| TelemetryError("not inside a Tokio runtime".into()))?;
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .map_err(|e| TelemetryError(e.to_string()))?;
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_protocol(opentelemetry_otlp::Protocol::HttpBinary)
        .with_endpoint(settings.traces_endpoint.clone())
        .with_http_client(OtlpHttp { http, handle })
        .build()
        .map_err(|e| TelemetryError(e.to_string()))?;
    Ok(SdkTracerProvider::builder()
        .with_batch_exporter(exporter)
        .with_resource(
            Resource::builder_empty()
                .with_service_name(settings.service_name.clone())
                .build(),
        )
        .build())
}

/// The tracing layer that turns chief's spans (target `chief`, INFO and above) into OTLP spans.
pub fn otlp_layer<S>(provider: &SdkTracerProvider) -> Box<dyn Layer<S> + Send + Sync>
where
    S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a> + Send + Sync,
{
    tracing_opentelemetry::layer()
        .with_tracer(provider.tracer("chief"))
        .with_filter(Targets::new().with_target("chief", Level::INFO))
        .boxed()
}

/// The exporter's HTTP client: chief's own reqwest (rustls with *ring*, no second TLS stack),
/// driven on the Tokio runtime. The batch exporter runs on a thread of its own without a runtime,
/// so each request is spawned onto the runtime captured at start-up.
#[derive(Debug)]
struct OtlpHttp {
    http: reqwest::Client,
    handle: tokio::runtime::Handle,
}

#[async_trait::async_trait]
impl HttpClient for OtlpHttp {
    async fn send_bytes(&self, request: Request<Bytes>) -> Result<Response<Bytes>, HttpError> {
        let http = self.http.clone();
        let request: reqwest::Request = request.try_into()?;
        self.handle
            .spawn(async move {
                let response = http.execute(request).await?;
                let status = response.status();
                let headers = response.headers().clone();
                let body = response.bytes().await?;
                let mut out = Response::builder().status(status).body(body)?;
                *out.headers_mut() = headers;
                Ok::<_, HttpError>(out)
            })
            .await?
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn settings(vars: &[(&str, &str)]) -> TelemetrySettings {
        let map: HashMap<&str, &str> = vars.iter().copied().collect();
        TelemetrySettings::from_lookup(|k| map.get(k).map(|v| v.to_string()))
    }

    #[test]
    fn no_endpoint_no_export() {
        assert_eq!(settings(&[]), TelemetrySettings::default());
        assert!(settings(&[("CHIEF_LOG_FORMAT", "json")]).json);
    }

    #[test]
    fn the_traces_path_is_added_to_the_base_endpoint() {
        let s = settings(&[("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:4318/")]);
        let otlp = s.otlp.unwrap();
        assert_eq!(otlp.traces_endpoint, "http://127.0.0.1:4318/v1/traces");
        assert_eq!(otlp.service_name, "chief");
        let s = settings(&[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://a:4318"),
            ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "http://b:4318/custom"),
            ("OTEL_SERVICE_NAME", "chief-eu"),
        ]);
        let otlp = s.otlp.unwrap();
        assert_eq!(otlp.traces_endpoint, "http://b:4318/custom");
        assert_eq!(otlp.service_name, "chief-eu");
    }
}
