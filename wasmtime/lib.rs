//! Re-exports Wasmtime's C API so that cargo links it into one static
//! library (`libpyhost_wasmtime.a`) that the C host links against.
pub use wasmtime_c_api::*;

// pyhost's own additions to the C API, one file each (headers beside them).
mod memory_limiter;
