//! Upload progress on stderr for large messages, only when a person is watching.

use std::io::{self, Write};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// Messages smaller than this are sent without a progress bar.
pub const THRESHOLD: u64 = 1024 * 1024;

/// Counts bytes through a writer and draws them as a progress bar.
pub struct ProgressWriter<W: Write> {
    inner: W,
    bar: ProgressBar,
}

impl<W: Write> ProgressWriter<W> {
    pub fn new(inner: W, total: u64) -> Self {
        let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
        if let Ok(style) = ProgressStyle::with_template(
            "sending {bar:30} {binary_bytes}/{binary_total_bytes} {binary_bytes_per_sec} {eta}",
        ) {
            bar.set_style(style);
        }
        ProgressWriter { inner, bar }
    }

    /// Removes the bar and gives the writer back.
    pub fn finish(self) -> W {
        self.bar.finish_and_clear();
        self.inner
    }
}

impl<W: Write> Write for ProgressWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let written = self.inner.write(buf)?;
        self.bar.inc(written as u64);
        Ok(written)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}
