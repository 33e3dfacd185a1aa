//! Re-exports Wasmtime's C API so that cargo links it into one static
//! library (`libpyhost_wasmtime.a`) that the C host links against, plus
//! what pyhost needs that the C API lacks.
pub use wasmtime_c_api::*;

// pyhost's own additions to the C API, one file each (headers beside them).
mod memory_limiter;

/// `pyhost compile`: Wasmtime's `Engine::precompile_component`, which the C
/// API lacks. Compiles and serializes a component for the engine's target
/// without loading it (`wasmtime_component_new` also loads the code, which
/// fails for another CPU). Relies on `wasm_engine_t` being `#[repr(C)]` with
/// the `Engine` as its only field, as in wasmtime-c-api-impl 48.0.8 (pinned
/// exactly in Cargo.toml; tests/e2e/test_precompiled.py runs it). The caller
/// frees `ret` with `wasm_byte_vec_delete`, an error with
/// `wasmtime_error_delete`.
#[cfg(feature = "compiler")]
#[no_mangle]
pub unsafe extern "C" fn pyhost_engine_precompile_component(
    engine: &wasm_engine_t,
    buf: *const u8,
    len: usize,
    ret: &mut wasm_byte_vec_t,
) -> Option<Box<wasmtime_error_t>> {
    let engine = unsafe { &*(engine as *const wasm_engine_t as *const wasmtime::Engine) };
    let bytes = unsafe { std::slice::from_raw_parts(buf, len) };
    match engine.precompile_component(bytes) {
        Ok(serialized) => {
            ret.set_buffer(serialized);
            None
        }
        Err(error) => Some(Box::new(wasmtime_error_t::from(error))),
    }
}
