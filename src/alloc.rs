//! The process's allocator: jemalloc, for Rust and for HiGHS's C++ alike (unprefixed
//! `malloc`). Side by side with glibc's (`docs/optimize.md`, *The allocator*): the CityLearn
//! year ≈13 % faster, the 100 × 288 district's peak 401 → 325 MB with
//! [`return_freed_pages_at_once`]. Built with `--no-default-features`, or on other systems,
//! the system allocator stays.

#[cfg(all(feature = "jemalloc", target_os = "linux", not(target_env = "musl")))]
#[global_allocator]
static GLOBAL: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// Asset-steps (steps × nodes and assets) from which `aems optimize` gives freed pages back
/// at once: the 100 × 288 district has 115,000, `d_gate_square_48h` 1,900.
pub const LARGE_MODEL_ASSET_STEPS: usize = 20_000;

/// Gives freed pages back to the system at once (jemalloc's default decay: 10 s): the
/// district's peak 362–375 → 324 MB at the same time. It costs where a solve allocates and
/// frees often (`d`'s MIP 30 % slower, the CityLearn year 25 %), so only `aems optimize` of a
/// large model asks for it. Best effort: a setting the allocator refuses is ignored.
pub fn return_freed_pages_at_once() {
    #[cfg(all(feature = "jemalloc", target_os = "linux", not(target_env = "musl")))]
    {
        let mut narenas: u32 = 0;
        let mut len = std::mem::size_of::<u32>();
        // SAFETY: `arenas.narenas` is a NUL-terminated control of type unsigned, read into a
        // live u32 whose size is passed; nothing is written.
        let read = unsafe {
            tikv_jemalloc_sys::mallctl(
                c"arenas.narenas".as_ptr(),
                (&mut narenas as *mut u32).cast(),
                &mut len,
                std::ptr::null_mut(),
                0,
            )
        };
        // Arenas made from now on (HiGHS's worker threads), then those already in use.
        let arenas = (0..if read == 0 { narenas } else { 0 }).map(|i| format!("arena.{i}"));
        for prefix in std::iter::once("arenas".to_string()).chain(arenas) {
            for kind in ["dirty", "muzzy"] {
                let Ok(name) = std::ffi::CString::new(format!("{prefix}.{kind}_decay_ms")) else {
                    continue;
                };
                let mut decay_ms: isize = 0;
                // SAFETY: `name` is a NUL-terminated control of type ssize_t, written from a
                // live isize of that size; nothing is read back (null old pointers).
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
    }
}
