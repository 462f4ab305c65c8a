//! One connection of a batch: it takes messages from the pool until there are none left,
//! sending each in a window when the session and the message allow it, else by itself with
//! the next one's commands behind its end mark; it opens its session again when it was lost.

use std::collections::VecDeque;

use super::link::Link;
use super::{Carried, Jobs, Message, Pool, Route};
use crate::base::exit::{code_for, fail, one_line};
use crate::smtp::window::InFlight;

/// One connection's loop and its state.
pub(super) struct Lane<'p, 'j, 'r, J: Jobs> {
    pool: &'p Pool<'j, J>,
    route: &'p Route<'r>,
    link: Link,
    /// Messages written ahead of their replies, oldest first.
    window: VecDeque<(J::Job, InFlight)>,
}

/// Why a lane stops taking jobs.
enum Stop {
    /// It gave its jobs back to the others (its session could not be opened).
    GaveBack,
}

impl<'p, 'j, 'r, J: Jobs> Lane<'p, 'j, 'r, J> {
    pub(super) fn new(pool: &'p Pool<'j, J>, route: &'p Route<'r>) -> Self {
        Lane {
            pool,
            route,
            link: Link::new(
                route.target.clone(),
                route.options.clone(),
                route.debug,
                route.spread.parallel > 1,
            ),
            window: VecDeque::new(),
        }
    }

    /// Takes jobs until the pool is empty (or the lane gave its jobs back), then ends its
    /// session.
    pub(super) fn run(mut self) {
        loop {
            let mut ahead = self.pool.take();
            while let Some(job) = ahead.take() {
                ahead = self.pool.take();
                if let Err(Stop::GaveBack) = self.one(job, &mut ahead) {
                    self.close();
                    return;
                }
            }
            self.close();
            if self.pool.stop_if_idle() {
                return;
            }
        }
    }

    /// Sends `job`; `ahead` is the job after it on this lane (`None`: it is the last).
    fn one(&mut self, job: J::Job, ahead: &mut Option<J::Job>) -> Result<(), Stop> {
        if !self.link.is_usable() {
            self.close();
            if let Err(err) = self.open() {
                return self.cannot_open(job, ahead.take(), err);
            }
        }
        let (windowed, next_windowed) = self.windows(&job, ahead.as_ref());
        if windowed {
            return match self.write_ahead(job, ahead.is_none()) {
                Ok(()) => Ok(()),
                // The session was lost while the window made room: a new one takes it.
                Err(job) => self.one(job, ahead),
            };
        }
        self.drain();
        let Some(session) = self.link.usable() else {
            return self.one(job, ahead);
        };
        let jobs = self.pool.jobs;
        let message = jobs.message(&job);
        if let Some(next) = ahead.as_ref().filter(|_| !next_windowed) {
            let next = jobs.message(next);
            session.pipeline_next(next.envelope, next.content, next.policy);
        }
        let last = ahead.is_none();
        let sent = session.send(message.envelope, message.content, message.policy, last);
        self.link.say_notices();
        match sent {
            Err(err) if crate::smtp::auth::login_refused(&err) => {
                self.close();
                self.cannot_open(job, ahead.take(), err)
            }
            sent => {
                if sent.is_err() {
                    self.close();
                }
                jobs.done(job, sent, self.carried());
                Ok(())
            }
        }
    }

    /// Whether `job` goes in the window (it may, and another message is in flight or
    /// follows), and whether the next one may.
    fn windows(&self, job: &J::Job, ahead: Option<&J::Job>) -> (bool, bool) {
        let Some(session) = self.link.session() else {
            return (false, false);
        };
        let window = self.route.spread.window;
        let may = |message: Message| {
            window > 1 && session.can_window(message.envelope, message.content, message.policy)
        };
        let jobs = self.pool.jobs;
        let next = ahead.is_some_and(|next| may(jobs.message(next)));
        let now = may(jobs.message(job)) && (session.in_flight() > 0 || next);
        (now, next)
    }

    /// Writes `job` into the window, reading back the oldest first when it is full; with
    /// `last`, QUIT goes behind it and the window is read to its end. `Err` gives the job
    /// back when the session was lost while the window made room.
    fn write_ahead(&mut self, job: J::Job, last: bool) -> Result<(), J::Job> {
        while self.window.len() >= self.route.spread.window {
            self.collect();
        }
        let Some(session) = self.link.usable() else {
            return Err(job);
        };
        let message = self.pool.jobs.message(&job);
        let written = session.write_ahead(message.envelope, message.content, message.policy, last);
        self.link.say_notices();
        match written {
            Ok(in_flight) => self.window.push_back((job, in_flight)),
            Err(err) => self.pool.jobs.done(job, Err(err), self.carried()),
        }
        if last {
            self.drain();
        }
        Ok(())
    }

    /// Reads back the oldest message of the window, then every later one whose replies have
    /// already arrived, so that the next messages leave together.
    fn collect(&mut self) {
        while let Some((job, in_flight)) = self.window.pop_front() {
            let carried = self.carried();
            let Some(session) = self.link.session_mut() else {
                return;
            };
            let sent = session.read_back(in_flight);
            let more = session.replies_arrived();
            self.pool.jobs.done(job, sent, carried);
            if !more {
                break;
            }
        }
        if self.window.is_empty() && !self.link.is_usable() {
            self.close();
        }
    }

    /// Reads back every message of the window.
    fn drain(&mut self) {
        while !self.window.is_empty() {
            self.collect();
        }
    }

    /// Opens a new session as the next connection.
    fn open(&mut self) -> anyhow::Result<()> {
        let number = self.pool.next_number();
        self.link.open(number).map(|_| ())
    }

    /// The session could not be opened, or its login was refused: the jobs go back to the
    /// other connections when one still runs; else this job and every one left fail with
    /// this error, without trying.
    fn cannot_open(
        &mut self,
        job: J::Job,
        ahead: Option<J::Job>,
        err: anyhow::Error,
    ) -> Result<(), Stop> {
        let jobs = std::iter::once(job).chain(ahead).collect();
        let Err(jobs) = self.pool.give_back(jobs) else {
            return Err(Stop::GaveBack);
        };
        let (code, text) = (code_for(&err), one_line(&err));
        let mut jobs = jobs.into_iter();
        if let Some(first) = jobs.next() {
            self.pool.jobs.done(first, Err(err), Carried::default());
        }
        let again = || fail(crate::base::exit::Kind::from_code(code), text.clone());
        for job in jobs {
            self.pool.jobs.done(job, Err(again()), Carried::default());
        }
        while let Some(job) = self.pool.take() {
            self.pool.jobs.done(job, Err(again()), Carried::default());
        }
        Ok(())
    }

    /// This connection, as the carrier of a message.
    fn carried(&self) -> Carried {
        self.link.carried()
    }

    /// Reads back what is left in the window and ends the session: politely when every
    /// command got its reply, by closing otherwise.
    fn close(&mut self) {
        self.drain();
        self.link.close();
    }
}
