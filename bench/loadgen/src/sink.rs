//! The delivery benchmark's destination: an in-process HTTP sink that
//! counts every message it gets, checks order per key, measures the lag
//! from the generator's 202 to the delivery, and can be switched off
//! (503) to simulate an outage.

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use serde::Deserialize;

/// The fields of a delivered event the sink checks; the rest is skipped
/// unparsed, so the sink costs the machine as little as it can.
#[derive(Deserialize)]
struct Delivered<'a> {
    #[serde(borrow)]
    id: Cow<'a, str>,
    #[serde(borrow)]
    partitionkey: Cow<'a, str>,
    #[serde(borrow)]
    data: Consumption<'a>,
}

#[derive(Deserialize)]
struct Consumption<'a> {
    #[serde(borrow, rename = "consumptionId")]
    consumption_id: Cow<'a, str>,
}

/// What the sink saw.
#[derive(Default)]
pub struct Books {
    /// Deliveries per event id.
    pub seen: HashMap<String, u32>,
    /// Last sequence number per ordering key, and how often one went backwards.
    pub last_per_key: HashMap<String, u64>,
    pub out_of_order: u64,
    /// Lag of each first delivery, µs: sink receipt − the generator's 202.
    pub lag_us: Vec<u64>,
    /// When the first and the last new message arrived.
    pub first_at: Option<Instant>,
    pub last_at: Option<Instant>,
}

/// The sink and what the generator tells it.
pub struct Sink {
    pub books: Mutex<Books>,
    /// When each event id was acknowledged by the hub (set by the generator).
    pub acked: Mutex<HashMap<String, Instant>>,
    /// While true, every request gets 503.
    pub down: AtomicBool,
}

impl Sink {
    pub fn new() -> Arc<Self> {
        Arc::new(Self {
            books: Mutex::new(Books::default()),
            acked: Mutex::new(HashMap::new()),
            down: AtomicBool::new(false),
        })
    }

    /// Distinct messages delivered so far.
    pub fn delivered(&self) -> usize {
        self.books.lock().map(|b| b.seen.len()).unwrap_or(0)
    }

    fn record(&self, body: &[u8]) -> Result<(), String> {
        let event: Delivered<'_> = serde_json::from_slice(body).map_err(|e| e.to_string())?;
        // consumptionId is "W<worker>-<n>": n grows per worker, and keys are per worker.
        let n: u64 = event
            .data
            .consumption_id
            .rsplit('-')
            .next()
            .and_then(|n| n.parse().ok())
            .ok_or("no sequence number")?;
        let (id, key) = (event.id.into_owned(), event.partitionkey.into_owned());
        let now = Instant::now();
        let acked = self.acked.lock().ok().and_then(|a| a.get(&id).copied());
        let mut books = self.books.lock().map_err(|e| e.to_string())?;
        let count = books.seen.entry(id).or_insert(0);
        *count += 1;
        if *count > 1 {
            return Ok(());
        }
        books.first_at.get_or_insert(now);
        books.last_at = Some(now);
        // Delivered before the 202 reached the generator: no lag to speak of.
        let lag = acked.map_or(0, |at| now.saturating_duration_since(at).as_micros() as u64);
        books.lag_us.push(lag);
        let last = books.last_per_key.insert(key, n).unwrap_or(0);
        if n < last {
            books.out_of_order += 1;
        }
        Ok(())
    }
}

async fn receive(State(sink): State<Arc<Sink>>, body: Bytes) -> StatusCode {
    if sink.down.load(Ordering::Relaxed) {
        return StatusCode::SERVICE_UNAVAILABLE;
    }
    match sink.record(&body) {
        Ok(()) => StatusCode::OK,
        Err(e) => {
            eprintln!("sink: bad message: {e}");
            StatusCode::UNPROCESSABLE_ENTITY
        }
    }
}

/// Serves the sink on an ephemeral loopback port; returns its base URL.
pub async fn serve(sink: Arc<Sink>) -> anyhow::Result<String> {
    let app = Router::new().route("/sink", post(receive)).with_state(sink);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Ok(base)
}
