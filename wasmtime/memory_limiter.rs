//! pyhost's extension to Wasmtime's C API: a store limiter that caps all
//! linear memories of a store together and counts them, for the C host
//! (header: pyhost_memory_limiter.h).
//!
//! Wasmtime's C API has only `wasmtime_store_limiter`, whose memory cap is
//! per linear memory and which reports nothing. This limiter is Wasmtime's
//! own `ResourceLimiter` hook, so it works with copy-on-write memory
//! images and any allocator (no host-made memories).
//!
//! What the figures count: the bytes of linear memory the plugin's code can
//! address (its Wasm pages x 64 KiB, all memories of the store together),
//! as granted by `memory_growing`. That is not private RAM: with
//! copy-on-write images, pages of the initial image that the plugin never
//! wrote stay shared with the file cache and with other instances.
//! Wasm memories never shrink while their store lives, so within one store
//! `bytes` only grows; `high_water` is kept separately all the same.
//! A growth that the limiter allowed but the OS then failed stays counted
//! (Wasmtime's `memory_grow_failed` does not say by how much): the count
//! errs high, so the cap errs strict, never loose.
//!
//! Pinned to Wasmtime 48.0.8 (Cargo.toml says `=48.0.8`): it relies on
//! `wasmtime_store_t` being `#[repr(C)]` with the `Store` as its only field
//! (checked below at compile time; tests/unit/test_memory_limiter.c checks
//! the behaviour).
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use wasmtime_c_api::wasmtime::{ResourceLimiter, Result};
use wasmtime_c_api::{wasmtime_store_t, WasmtimeStore};

// Fails the build when `wasmtime_store_t` stops being a bare `Store`.
const _: () = assert!(
    std::mem::size_of::<wasmtime_store_t>() == std::mem::size_of::<WasmtimeStore>(),
    "wasmtime_store_t is no longer one Store: re-check memory_limiter.rs"
);
const _: () = assert!(
    std::mem::align_of::<wasmtime_store_t>() == std::mem::align_of::<WasmtimeStore>(),
    "wasmtime_store_t is no longer one Store: re-check memory_limiter.rs"
);

/// Shared between the C host (reads) and the store's hook (updates).
#[allow(non_camel_case_types)] // named as the C header names it
pub struct pyhost_memory_limiter_t {
    memory_cap: usize, // all memories together; 0: none
    table_elements: usize,
    instances: usize,
    tables: usize,
    memories: usize,
    bytes: AtomicUsize,
    high_water: AtomicUsize,
    is_limit_hit: AtomicBool,
}

struct Hook(Arc<pyhost_memory_limiter_t>);

impl ResourceLimiter for Hook {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> Result<bool> {
        // Refuse here what Wasmtime would refuse after us, so that a
        // granted growth is one that happens.
        if matches!(maximum, Some(max) if desired > max) {
            return Ok(false);
        }
        let limiter = &self.0;
        let delta = desired.saturating_sub(current);
        // A store is entered by one thread at a time: no lost updates.
        let now = limiter.bytes.load(Ordering::Relaxed).saturating_add(delta);
        if limiter.memory_cap != 0 && now > limiter.memory_cap {
            limiter.is_limit_hit.store(true, Ordering::Relaxed);
            return Ok(false);
        }
        limiter.bytes.store(now, Ordering::Relaxed);
        limiter.high_water.fetch_max(now, Ordering::Relaxed);
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> Result<bool> {
        Ok(desired <= self.0.table_elements && !matches!(maximum, Some(max) if desired > max))
    }

    fn instances(&self) -> usize {
        self.0.instances
    }

    fn tables(&self) -> usize {
        self.0.tables
    }

    fn memories(&self) -> usize {
        self.0.memories
    }
}

/// The store owns its hook through this; Wasmtime asks the closure for
/// `&mut dyn ResourceLimiter` tied to the store data's borrow, which a
/// closure cannot lend from its own captures, hence the raw pointer.
struct HookBox(*mut Hook);
// Safety: Hook holds only an Arc of atomics and constants.
unsafe impl Send for HookBox {}
unsafe impl Sync for HookBox {}
impl HookBox {
    fn get(&self) -> *mut Hook {
        self.0
    }
}
impl Drop for HookBox {
    fn drop(&mut self) {
        // Safety: made by Box::into_raw in pyhost_store_set_memory_limiter.
        drop(unsafe { Box::from_raw(self.0) });
    }
}

#[unsafe(no_mangle)]
pub extern "C" fn pyhost_memory_limiter_new(
    memory_cap: usize,
    table_elements: usize,
    instances: usize,
    tables: usize,
    memories: usize,
) -> *const pyhost_memory_limiter_t {
    Arc::into_raw(Arc::new(pyhost_memory_limiter_t {
        memory_cap,
        table_elements,
        instances,
        tables,
        memories,
        bytes: AtomicUsize::new(0),
        high_water: AtomicUsize::new(0),
        is_limit_hit: AtomicBool::new(false),
    }))
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn pyhost_memory_limiter_delete(limiter: *const pyhost_memory_limiter_t) {
    if !limiter.is_null() {
        drop(unsafe { Arc::from_raw(limiter) });
    }
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn pyhost_store_set_memory_limiter(
    store: *mut wasmtime_store_t,
    limiter: *const pyhost_memory_limiter_t,
) {
    // Safety: the store takes a reference of its own.
    let limiter = unsafe {
        Arc::increment_strong_count(limiter);
        Arc::from_raw(limiter)
    };
    let hook = HookBox(Box::into_raw(Box::new(Hook(limiter))));
    // Safety: wasmtime_store_t is #[repr(C)] { store: WasmtimeStore }
    // (asserted above); the caller holds the store exclusively.
    let store = unsafe { &mut *(store as *mut WasmtimeStore) };
    // Safety: the hook lives as long as the closure, which the store owns.
    store.limiter(move |_| unsafe { &mut *hook.get() });
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn pyhost_memory_limiter_bytes(
    limiter: *const pyhost_memory_limiter_t,
) -> usize {
    unsafe { &*limiter }.bytes.load(Ordering::Relaxed)
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn pyhost_memory_limiter_high_water(
    limiter: *const pyhost_memory_limiter_t,
) -> usize {
    unsafe { &*limiter }.high_water.load(Ordering::Relaxed)
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn pyhost_memory_limiter_take_limit_hit(
    limiter: *const pyhost_memory_limiter_t,
) -> bool {
    unsafe { &*limiter }.is_limit_hit.swap(false, Ordering::Relaxed)
}
