//! Upload progress on stderr for large messages, only when a person is watching.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::smtp::Progress;

/// Messages smaller than this are sent without a progress bar.
pub const THRESHOLD: u64 = 1024 * 1024;

/// A progress bar for a message of `total` bytes (nothing for a small one): what the
/// session engine calls while it writes the data (see `smtp::Options::progress`).
pub fn bar(total: u64) -> Box<dyn Progress> {
    if total <= THRESHOLD {
        return Box::new(Silent);
    }
    let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
    if let Ok(style) = ProgressStyle::with_template(
        "sending {bar:30} {binary_bytes}/{binary_total_bytes} {binary_bytes_per_sec} {eta}",
    ) {
        bar.set_style(style);
    }
    Box::new(Bar(bar))
}

struct Bar(ProgressBar);

impl Progress for Bar {
    fn advance(&mut self, bytes: u64) {
        self.0.inc(bytes);
    }

    fn finish(&mut self) {
        self.0.finish_and_clear();
    }
}

struct Silent;

impl Progress for Silent {
    fn advance(&mut self, _: u64) {}
    fn finish(&mut self) {}
}
