//! The log of each in-process server, kept apart although every server of the test binary
//! shares one global tracing subscriber: each server runs on a tokio runtime of its own whose
//! threads carry the server's [`LogBuffer`] in a thread-local, and the subscriber writes every
//! event to the buffer of the thread that emitted it (events of other threads — the tests, the
//! simulators — are dropped). A panic on a server's thread is written there too, as a server
//! process would print it to its stderr.

use std::cell::RefCell;
use std::io::Write;
use std::sync::{Arc, Mutex, Once};
use std::time::Duration;

use tracing_subscriber::Layer;
use tracing_subscriber::filter::filter_fn;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

/// What the server processes of the old harness logged at: debug for our crate.
const FILTER: &str = "info,flux_orchestrator=debug";

/// Everything one server logged, one line per event.
#[derive(Clone, Default)]
pub struct LogBuffer(Arc<Mutex<String>>);

impl LogBuffer {
    /// The text so far.
    pub fn text(&self) -> String {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Append `text` (whole lines).
    pub fn push(&self, text: &str) {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push_str(text);
    }

    /// Wait until a line contains `needle` and return it; `stopped` says why the server can no
    /// longer log (it exited), which fails the wait at once.
    pub async fn wait_for(
        &self,
        needle: &str,
        timeout: Duration,
        stopped: impl Fn() -> Option<String>,
    ) -> String {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let text = self.text();
            if let Some(line) = text.lines().find(|l| l.contains(needle)) {
                return line.to_string();
            }
            if let Some(why) = stopped() {
                panic!("server stopped ({why}) before logging {needle:?}:\n{text}");
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "server did not log {needle:?} within {timeout:?}:\n{text}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

thread_local! {
    /// The buffer of the server this thread belongs to (set when the thread starts).
    static CURRENT: RefCell<Option<LogBuffer>> = const { RefCell::new(None) };
}

/// Make this thread log into `buffer` (called on every thread of a server's runtime).
pub fn attach(buffer: &LogBuffer) {
    CURRENT.with(|c| *c.borrow_mut() = Some(buffer.clone()));
}

/// Install the subscriber and the panic hook once per test binary.
pub fn install() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let filter = tracing_subscriber::EnvFilter::new(flux_orchestrator::app::log_filter(FILTER));
        let layer = tracing_subscriber::fmt::layer()
            .with_ansi(false)
            .with_writer(ThreadWriter)
            // Events of threads no server owns (the tests', the simulators') are not formatted.
            .with_filter(filter_fn(|_| attached()));
        // A test binary that installed another subscriber first keeps it; its servers' logs
        // are then empty, which the tests reading them would report.
        let _ = tracing_subscriber::registry()
            .with(filter)
            .with(layer)
            .try_init();
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            with_current(|buffer| buffer.push(&format!("{info}\n")));
            default(info);
        }));
    });
}

/// Whether this thread belongs to a server.
fn attached() -> bool {
    CURRENT.with(|c| c.borrow().is_some())
}

fn with_current(f: impl FnOnce(&LogBuffer)) {
    CURRENT.with(|c| {
        if let Some(buffer) = c.borrow().as_ref() {
            f(buffer);
        }
    });
}

/// The subscriber's writer: the current thread's server buffer, or nowhere.
struct ThreadWriter;

impl<'a> MakeWriter<'a> for ThreadWriter {
    type Writer = LineWriter;

    fn make_writer(&'a self) -> LineWriter {
        LineWriter(Vec::new())
    }
}

/// One formatted event, handed to the thread's buffer whole when the formatter is done.
struct LineWriter(Vec<u8>);

impl Write for LineWriter {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Drop for LineWriter {
    fn drop(&mut self) {
        let text = String::from_utf8_lossy(&self.0);
        with_current(|buffer| buffer.push(&text));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Run `f` on a thread of its own attached to `buffer`, as a server's threads are.
    fn on_server_thread(buffer: &LogBuffer, f: impl FnOnce() + Send + 'static) {
        let buffer = buffer.clone();
        let _ = std::thread::spawn(move || {
            attach(&buffer);
            f();
        })
        .join();
    }

    #[test]
    fn each_server_thread_logs_into_its_own_buffer_and_other_threads_nowhere() {
        install();
        let (a, b) = (LogBuffer::default(), LogBuffer::default());
        on_server_thread(&a, || tracing::info!("written by a"));
        on_server_thread(&b, || tracing::info!("written by b"));
        tracing::info!("written by the test");
        assert!(a.text().contains("written by a") && !a.text().contains("by b"));
        assert!(b.text().contains("written by b") && !b.text().contains("by a"));
        assert!(!a.text().contains("by the test") && !b.text().contains("by the test"));
    }

    #[test]
    fn a_panic_on_a_server_thread_is_written_to_its_log() {
        install();
        let buffer = LogBuffer::default();
        on_server_thread(&buffer, || panic!("the server broke"));
        let text = buffer.text();
        assert!(
            text.contains("panicked") && text.contains("the server broke"),
            "{text}"
        );
    }
}
