//! Login rate limits: so many attempts per minute per email and per client IP, whether they
//! succeed or not, to slow down password guessing against one account and from one machine.
//!
//! The limiters are in memory, per process (GCRA, `governor`): with several API replicas an
//! attacker gets each replica's allowance. The client IP is the socket peer address;
//! `X-Forwarded-For` is not trusted (anyone can send it), so behind a reverse proxy every client
//! shares the proxy's per-IP allowance. IPv6 clients are counted per /64, the block one
//! subscriber typically holds, so that rotating addresses within it gains nothing.

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

/// Every this many checks, forget keys whose allowance is full again (bounds memory).
const SWEEP_EVERY: u64 = 1024;

pub(super) struct LoginLimiter {
    per_email: DefaultKeyedRateLimiter<String>,
    per_ip: DefaultKeyedRateLimiter<IpAddr>,
    clock: DefaultClock,
    checks: AtomicU64,
}

impl LoginLimiter {
    /// At most `per_email` attempts a minute for one email and `per_ip` for one client.
    pub(super) fn new(per_email: NonZeroU32, per_ip: NonZeroU32) -> Self {
        Self {
            per_email: RateLimiter::keyed(Quota::per_minute(per_email)),
            per_ip: RateLimiter::keyed(Quota::per_minute(per_ip)),
            clock: DefaultClock::default(),
            checks: AtomicU64::new(0),
        }
    }

    /// Counts one attempt; `Err(wait)` when it is one too many, with how long until the next one
    /// would be allowed. `email` is the normalised login email; `ip` the socket peer, if known.
    pub(super) fn check(&self, email: &str, ip: Option<IpAddr>) -> Result<(), Duration> {
        if self.checks.fetch_add(1, Ordering::Relaxed) % SWEEP_EVERY == SWEEP_EVERY - 1 {
            self.per_email.retain_recent();
            self.per_ip.retain_recent();
        }
        let now = || self.clock.now();
        if let Some(ip) = ip {
            self.per_ip
                .check_key(&ip_key(ip))
                .map_err(|not_until| not_until.wait_time_from(now()))?;
        }
        self.per_email
            .check_key(&email.to_owned())
            .map_err(|not_until| not_until.wait_time_from(now()))
    }
}

/// IPv4 addresses as they are; IPv6 ones reduced to their /64 (IPv4-mapped ones to the IPv4).
fn ip_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let mut segments = v6.segments();
                segments[4..].fill(0);
                IpAddr::V6(segments.into())
            }
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nz(n: u32) -> NonZeroU32 {
        NonZeroU32::new(n).expect("non-zero")
    }

    #[test]
    fn the_attempt_after_the_allowance_is_refused_with_a_wait() {
        let limiter = LoginLimiter::new(nz(2), nz(100));
        let ip = Some("192.0.2.1".parse().expect("an ip"));
        assert!(limiter.check("a@example.com", ip).is_ok());
        assert!(limiter.check("a@example.com", ip).is_ok());
        let wait = limiter
            .check("a@example.com", ip)
            .expect_err("the third is refused");
        assert!(wait > Duration::ZERO && wait <= Duration::from_secs(30));
        assert!(
            limiter.check("b@example.com", ip).is_ok(),
            "other emails are not affected"
        );
    }

    #[test]
    fn one_ip_is_limited_across_emails_and_ipv6_counts_per_64() {
        let limiter = LoginLimiter::new(nz(100), nz(2));
        let a = Some("2001:db8:1:2::1".parse().expect("an ip"));
        let b = Some("2001:db8:1:2:ffff::9".parse().expect("an ip"));
        let other = Some("2001:db8:1:3::1".parse().expect("an ip"));
        assert!(limiter.check("a@example.com", a).is_ok());
        assert!(limiter.check("b@example.com", b).is_ok());
        assert!(limiter.check("c@example.com", a).is_err());
        assert!(limiter.check("c@example.com", other).is_ok());
    }
}
