//! Live handles: every handle rtvc gives out is recorded with its kind until it is freed, so
//! that a NULL, freed or foreign pointer (or one of the wrong kind) is refused with
//! `RTVC_INVALID_HANDLE` instead of being dereferenced.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard, PoisonError};

use crate::rtvc_result;

/// What a handle is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Encoder,
    Decoder,
    EncoderFactory,
}

static LIVE: Mutex<Option<HashMap<usize, Kind>>> = Mutex::new(None);

fn live() -> MutexGuard<'static, Option<HashMap<usize, Kind>>> {
    // A panic while the lock was held cannot leave the map half-updated (single inserts and
    // removes): go on with it.
    LIVE.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Gives `value` to C as a handle of `kind`.
pub(crate) fn register<T>(kind: Kind, value: T) -> *mut T {
    let p = Box::into_raw(Box::new(value));
    live()
        .get_or_insert_with(HashMap::new)
        .insert(p as usize, kind);
    p
}

/// The object behind a live handle of `kind`.
///
/// # Safety
/// If `p` is live and of `kind`, it came from [`register`] with a `T` of that kind, and no other
/// reference to it exists during the returned borrow (one thread per handle at a time).
pub(crate) unsafe fn get<'a, T>(kind: Kind, p: *mut T) -> Result<&'a mut T, rtvc_result> {
    if p.is_null() {
        return Err(rtvc_result::RTVC_NULL_PARAMETER);
    }
    let ok = live()
        .as_ref()
        .is_some_and(|m| m.get(&(p as usize)) == Some(&kind));
    if !ok {
        return Err(rtvc_result::RTVC_INVALID_HANDLE);
    }
    // SAFETY: live and of this kind, so it is the `Box<T>` from `register`, not yet freed; the
    // caller guarantees exclusive use.
    Ok(unsafe { &mut *p })
}

/// Frees a live handle of `kind`; refuses anything else (including a second free).
///
/// # Safety
/// As [`get`]; after this the handle is gone.
pub(crate) unsafe fn free<T>(kind: Kind, p: *mut T) -> Result<(), rtvc_result> {
    if p.is_null() {
        return Ok(()); // like free(NULL)
    }
    let removed = live().as_mut().is_some_and(|m| match m.get(&(p as usize)) {
        Some(k) if *k == kind => m.remove(&(p as usize)).is_some(),
        _ => false,
    });
    if !removed {
        return Err(rtvc_result::RTVC_INVALID_HANDLE);
    }
    // SAFETY: it was live and of this kind: the box from `register`, freed exactly once here
    // (it is no longer in the map, so no other call can reach it).
    drop(unsafe { Box::from_raw(p) });
    Ok(())
}
