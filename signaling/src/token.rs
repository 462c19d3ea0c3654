//! Room invitations: `<expiry, unix seconds>.<HMAC-SHA256 of room and expiry, hex>`.
//!
//! The server keeps a secret (`rtvc serve --secret FILE`); `rtvc token --room R --ttl 1h`
//! signs with the same secret. A token is good for one room until it expires; the signature is
//! compared in constant time (`hmac`'s `verify_slice`).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// Shortest secret accepted, bytes.
pub const MIN_SECRET_BYTES: usize = 16;

/// Why a token was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// Not of the form `<expiry>.<hex>`.
    #[error("the token is malformed")]
    Malformed,
    /// Signed with another secret or for another room.
    #[error("the token is not valid for this room")]
    BadSignature,
    /// Its time is up.
    #[error("the token has expired")]
    Expired,
}

/// A secret that is too short to sign with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the secret has {0} bytes; at least {MIN_SECRET_BYTES} are needed")]
pub struct WeakSecret(pub usize);

/// The signing key.
#[derive(Clone)]
pub struct Secret(Vec<u8>);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(..)")
    }
}

impl Secret {
    /// A secret from bytes (a file's contents; surrounding whitespace is ignored).
    pub fn new(bytes: &[u8]) -> Result<Self, WeakSecret> {
        let trimmed = bytes.trim_ascii();
        if trimmed.len() < MIN_SECRET_BYTES {
            return Err(WeakSecret(trimmed.len()));
        }
        Ok(Self(trimmed.to_vec()))
    }

    fn mac(&self, room: &str, expiry: u64) -> Hmac<Sha256> {
        let mut mac =
            Hmac::<Sha256>::new_from_slice(&self.0).expect("HMAC takes keys of any length");
        mac.update(b"rtvc-room-v1\0");
        mac.update(room.as_bytes());
        mac.update(b"\0");
        mac.update(&expiry.to_be_bytes());
        mac
    }

    /// A token for `room` valid for `ttl` from `now`.
    pub fn issue(&self, room: &str, ttl: Duration, now: SystemTime) -> String {
        let expiry = unix(now).saturating_add(ttl.as_secs().max(1));
        let sig = self.mac(room, expiry).finalize().into_bytes();
        format!("{expiry}.{}", hex::encode(sig))
    }

    /// Checks a token for `room` at `now`.
    pub fn verify(&self, room: &str, token: &str, now: SystemTime) -> Result<(), TokenError> {
        let (expiry, sig) = token.split_once('.').ok_or(TokenError::Malformed)?;
        if expiry.is_empty() || expiry.len() > 20 || !expiry.bytes().all(|b| b.is_ascii_digit()) {
            return Err(TokenError::Malformed);
        }
        let expiry: u64 = expiry.parse().map_err(|_| TokenError::Malformed)?;
        if sig.len() != 64 {
            return Err(TokenError::Malformed);
        }
        let sig = hex::decode(sig).map_err(|_| TokenError::Malformed)?;
        self.mac(room, expiry)
            .verify_slice(&sig)
            .map_err(|_| TokenError::BadSignature)?;
        if unix(now) >= expiry {
            return Err(TokenError::Expired);
        }
        Ok(())
    }
}

fn unix(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// Parses a duration like `90s`, `15m`, `1h`, `2d` (or plain seconds).
pub fn parse_ttl(s: &str) -> Option<Duration> {
    let s = s.trim();
    let (num, unit) = match s.find(|c: char| !c.is_ascii_digit()) {
        Some(i) => s.split_at(i),
        None => (s, "s"),
    };
    let n: u64 = num.parse().ok()?;
    let secs = match unit {
        "s" => n,
        "m" => n.checked_mul(60)?,
        "h" => n.checked_mul(3600)?,
        "d" => n.checked_mul(86_400)?,
        _ => return None,
    };
    (secs > 0).then(|| Duration::from_secs(secs))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secret() -> Secret {
        Secret::new(b"0123456789abcdef-correct-horse\n").expect("long enough")
    }

    #[test]
    fn a_token_opens_its_room_until_it_expires() {
        let s = secret();
        let now = UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        let t = s.issue("standup", Duration::from_secs(3600), now);
        assert_eq!(s.verify("standup", &t, now), Ok(()));
        assert_eq!(
            s.verify("standup", &t, now + Duration::from_secs(3599)),
            Ok(())
        );
        assert_eq!(
            s.verify("standup", &t, now + Duration::from_secs(3600)),
            Err(TokenError::Expired)
        );
        assert_eq!(s.verify("other", &t, now), Err(TokenError::BadSignature));
        let other = Secret::new(b"another secret of enough bytes").expect("long enough");
        assert_eq!(
            other.verify("standup", &t, now),
            Err(TokenError::BadSignature)
        );
        // A later expiry with the old signature is refused.
        let (_, sig) = t.split_once('.').expect("two parts");
        let forged = format!("{}.{sig}", 1_900_000_000u64);
        assert_eq!(
            s.verify("standup", &forged, now),
            Err(TokenError::BadSignature)
        );
    }

    #[test]
    fn malformed_tokens_and_weak_secrets_are_refused() {
        let s = secret();
        let now = SystemTime::now();
        for bad in [
            "",
            ".",
            "abc",
            "12.",
            ".ab",
            "-1.00",
            "1.zz",
            "99999999999999999999999.00",
        ] {
            assert_eq!(
                s.verify("r", bad, now),
                Err(TokenError::Malformed),
                "{bad:?}"
            );
        }
        assert_eq!(Secret::new(b"  short \n").map(|_| ()), Err(WeakSecret(5)));
    }

    #[test]
    fn ttls_parse() {
        assert_eq!(parse_ttl("1h"), Some(Duration::from_secs(3600)));
        assert_eq!(parse_ttl("90"), Some(Duration::from_secs(90)));
        assert_eq!(parse_ttl("15m"), Some(Duration::from_secs(900)));
        assert_eq!(parse_ttl("2d"), Some(Duration::from_secs(172_800)));
        for bad in ["", "0", "h", "1y", "-1h", "1.5h"] {
            assert_eq!(parse_ttl(bad), None, "{bad:?}");
        }
    }
}
