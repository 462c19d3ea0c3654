//! Heap in use, from glibc's `mallinfo2` (every `malloc` of the process, C libraries — libaom,
//! dav1d, openh264 — and Rust alike; thread stacks and file mappings are not heap and are not
//! counted), and the process's CPU time from `getrusage`. The C calls of the benchmarks' library.
#![allow(unsafe_code)]

/// Bytes currently allocated through `malloc` (arena chunks in use plus `mmap`ed blocks), or
/// `None` where the C library is not glibc.
pub fn in_use() -> Option<u64> {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        // SAFETY: mallinfo2 takes no arguments, only reads allocator statistics (under the
        // arenas' locks) and returns a plain struct by value; glibc >= 2.33 (Debian 12: 2.36).
        let m = unsafe { libc::mallinfo2() };
        Some((m.uordblks + m.hblkhd) as u64)
    }
    #[cfg(not(all(target_os = "linux", target_env = "gnu")))]
    {
        None
    }
}

/// Peak heap growth over a baseline, sampled by the caller after each step.
#[derive(Debug, Clone, Copy)]
pub struct Peak {
    base: Option<u64>,
    peak: u64,
}

impl Peak {
    /// Starts at the heap in use now.
    pub fn start() -> Self {
        Self {
            base: in_use(),
            peak: 0,
        }
    }

    /// Samples the heap.
    pub fn sample(&mut self) {
        if let (Some(b), Some(now)) = (self.base, in_use()) {
            self.peak = self.peak.max(now.saturating_sub(b));
        }
    }

    /// The largest growth seen, bytes (`None` without glibc).
    pub fn bytes(&self) -> Option<u64> {
        self.base.map(|_| self.peak)
    }
}

/// CPU time of the whole process (all threads, user + system), ms, from `getrusage`: the
/// scheduler's precise runtime, reported in microseconds (`/proc/self/stat` would give 10 ms
/// ticks, too coarse for a 0.1 ms decode).
pub fn process_cpu_ms() -> Option<f64> {
    let mut ru = std::mem::MaybeUninit::<libc::rusage>::zeroed();
    // SAFETY: RUSAGE_SELF with a pointer to writable storage of the right type; getrusage
    // fills it and has no other effect.
    let r = unsafe { libc::getrusage(libc::RUSAGE_SELF, ru.as_mut_ptr()) };
    if r != 0 {
        return None;
    }
    // SAFETY: getrusage succeeded, so it initialised the struct (and zero is valid anyway).
    let ru = unsafe { ru.assume_init() };
    let ms = |t: libc::timeval| t.tv_sec as f64 * 1e3 + t.tv_usec as f64 / 1e3;
    Some(ms(ru.ru_utime) + ms(ru.ru_stime))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_allocation_shows_up_in_the_peak() {
        let mut p = Peak::start();
        if in_use().is_none() {
            eprintln!("SKIPPED: not glibc");
            return;
        }
        let v = std::hint::black_box(vec![1u8; 8 << 20]);
        p.sample();
        drop(v);
        let b = p.bytes().expect("glibc");
        assert!((8 << 20..16 << 20).contains(&b), "{b}");
    }

    #[test]
    fn cpu_time_grows_with_work() {
        let t0 = process_cpu_ms().expect("getrusage");
        let start = std::time::Instant::now();
        let mut x = 0u64;
        while start.elapsed() < std::time::Duration::from_millis(300) {
            x = std::hint::black_box(x.wrapping_mul(6364136223846793005).wrapping_add(1));
        }
        let t1 = process_cpu_ms().expect("getrusage");
        // 300 ms of busy loop on one thread: at least 100 ms of CPU even on a loaded machine.
        assert!(t1 - t0 >= 100.0, "{t0} -> {t1}");
    }
}
