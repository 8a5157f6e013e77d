//! Where the loop's time comes from: the wall clock, or simulated time — in lockstep with
//! the embedded simulator (whose physics advance only as the loop's clock does), or
//! free-running at `speed` × real time against devices elsewhere.

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, FixedOffset, Utc};
use connectors::Simulator;

/// The loop's clock.
#[derive(Debug)]
pub enum Clock {
    /// The wall clock, shown in the scenario's UTC offset.
    Real {
        /// Offset of the times the loop reports.
        offset: FixedOffset,
    },
    /// Simulated time that advances only when the loop advances it, stepping the embedded
    /// simulator's physics with it; `speed` simulated seconds take one real second (0: no
    /// waiting at all).
    Lockstep {
        /// Simulated now.
        now: DateTime<FixedOffset>,
        /// Simulated seconds per real second (0: as fast as possible).
        speed: f64,
        /// The embedded simulator.
        sim: Arc<Simulator>,
    },
    /// Simulated time = `start` + `speed` × real time since `anchor` (devices elsewhere,
    /// e.g. `aems devices simulate --speed N` started at the same moment).
    FreeRunning {
        /// Simulated time at `anchor`.
        start: DateTime<FixedOffset>,
        /// Real time of `start`.
        anchor: Instant,
        /// Simulated seconds per real second.
        speed: f64,
    },
}

impl Clock {
    /// Now.
    pub fn now(&self) -> DateTime<FixedOffset> {
        match self {
            Clock::Real { offset } => Utc::now().with_timezone(offset),
            Clock::Lockstep { now, .. } => *now,
            Clock::FreeRunning {
                start,
                anchor,
                speed,
            } => {
                *start
                    + chrono::Duration::milliseconds(
                        (anchor.elapsed().as_secs_f64() * speed * 1000.0) as i64,
                    )
            }
        }
    }

    /// Whether time is simulated.
    pub fn is_simulated(&self) -> bool {
        !matches!(self, Clock::Real { .. })
    }

    /// Advances towards `until` by at most `max_step` of its own time (waiting in real
    /// time as the clock says; in lockstep, stepping the simulator) and returns the new now.
    pub async fn advance(
        &mut self,
        until: DateTime<FixedOffset>,
        max_step: chrono::Duration,
    ) -> DateTime<FixedOffset> {
        let now = self.now();
        if until <= now {
            return now;
        }
        let step = (until - now).min(max_step);
        let step_s = step.num_milliseconds() as f64 / 1000.0;
        match self {
            Clock::Real { .. } => {
                tokio::time::sleep(Duration::from_secs_f64(step_s.max(0.0))).await;
            }
            Clock::Lockstep { now, speed, sim } => {
                sim.step(Duration::from_secs_f64(step_s.max(0.0)));
                *now += step;
                if *speed > 0.0 {
                    tokio::time::sleep(Duration::from_secs_f64(step_s / *speed)).await;
                } else {
                    // Let the runtime serve the HTTP interface and the MQTT link.
                    tokio::task::yield_now().await;
                }
            }
            Clock::FreeRunning { speed, .. } => {
                tokio::time::sleep(Duration::from_secs_f64(step_s / speed.max(1e-9))).await;
            }
        }
        self.now()
    }
}

/// `t` rounded down to a multiple of `minutes` since midnight (in `t`'s own offset).
pub fn floor_to(t: DateTime<FixedOffset>, minutes: u32) -> DateTime<FixedOffset> {
    let secs = i64::from(minutes.max(1)) * 60;
    let local = t.naive_local().and_utc().timestamp();
    let floored = local - local.rem_euclid(secs);
    t - chrono::Duration::seconds(local - floored)
        - chrono::Duration::nanoseconds(i64::from(t.timestamp_subsec_nanos()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floors_in_local_time() {
        let t = DateTime::parse_from_rfc3339("2025-08-04T10:17:42.5+09:00").unwrap();
        assert_eq!(floor_to(t, 5).to_rfc3339(), "2025-08-04T10:15:00+09:00");
        assert_eq!(floor_to(t, 30).to_rfc3339(), "2025-08-04T10:00:00+09:00");
        assert_eq!(floor_to(t, 60).to_rfc3339(), "2025-08-04T10:00:00+09:00");
    }
}
