//! The process's memory allocator: jemalloc, for Rust and for HiGHS's C++ alike.
//!
//! With `unprefixed_malloc_on_supported_platforms` jemalloc's `malloc`/`free` are the ones
//! the whole binary links against, so HiGHS's allocations go through it too. Measured side
//! by side against glibc's allocator on this project's cases (`docs/optimize.md`): a year
//! of hourly MPC for the five CityLearn homes runs ≈13 % faster (glibc's malloc and free
//! were 13 % of its profile), and the 100 × 288 district's peak memory falls from 400 MB
//! to 362–375 MB (324 MB in `aems optimize`, which gives a large model's freed pages back
//! at once: [`return_freed_pages_at_once`]).
//! Elsewhere (musl, other systems), or built with `--no-default-features`, the system
//! allocator stays.

#[cfg(all(feature = "jemalloc", target_os = "linux", not(target_env = "musl")))]
#[global_allocator]
static GLOBAL: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// Asset-steps (steps × nodes and assets) from which `aems optimize` gives freed pages back
/// at once: the 100 × 288 district has 115,000, `d_gate_square_48h` 1,900.
pub const LARGE_MODEL_ASSET_STEPS: usize = 20_000;

/// Gives freed pages back to the operating system at once (jemalloc's default decay is
/// 10 s): a lower peak for one large solve. Measured one after the other on the 100 × 288
/// district: 362–375 → 324 MB at the same time. It costs where a solve allocates and frees
/// often — `d_gate_square_48h`'s MIP 30 % slower, the CityLearn year 25 % — so `aems
/// optimize` asks for it only from [`LARGE_MODEL_ASSET_STEPS`], and loops never. Best
/// effort: a setting the allocator refuses is ignored.
pub fn return_freed_pages_at_once() {
    #[cfg(all(feature = "jemalloc", target_os = "linux", not(target_env = "musl")))]
    {
        // Arenas made from now on (HiGHS's worker threads), then those already in use.
        set_decay_zero("arenas");
        let mut narenas: u32 = 0;
        let mut len = std::mem::size_of::<u32>();
        // SAFETY: `arenas.narenas` is a NUL-terminated jemalloc control of type unsigned,
        // read into a live u32 whose size is passed; nothing is written.
        let read = unsafe {
            tikv_jemalloc_sys::mallctl(
                c"arenas.narenas".as_ptr(),
                (&mut narenas as *mut u32).cast(),
                &mut len,
                std::ptr::null_mut(),
                0,
            )
        };
        if read == 0 {
            for i in 0..narenas {
                set_decay_zero(&format!("arena.{i}"));
            }
        }
    }
}

/// Sets `{prefix}.dirty_decay_ms` and `{prefix}.muzzy_decay_ms` to 0 (errors ignored: an
/// arena not yet made has nothing to set).
#[cfg(all(feature = "jemalloc", target_os = "linux", not(target_env = "musl")))]
fn set_decay_zero(prefix: &str) {
    for kind in ["dirty", "muzzy"] {
        let Ok(name) = std::ffi::CString::new(format!("{prefix}.{kind}_decay_ms")) else {
            continue;
        };
        let mut decay_ms: isize = 0;
        // SAFETY: `name` is a NUL-terminated jemalloc control of type ssize_t, written from
        // a live isize of that size; nothing is read back (null old pointers).
        unsafe {
            tikv_jemalloc_sys::mallctl(
                name.as_ptr(),
                std::ptr::null_mut(),
                std::ptr::null_mut(),
                (&mut decay_ms as *mut isize).cast(),
                std::mem::size_of::<isize>(),
            );
        }
    }
}
