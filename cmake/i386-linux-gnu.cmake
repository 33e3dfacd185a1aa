# The 32-bit build of the Wasmtime-free modules and their unit tests
# (`make test-32bit`): the native gcc with -m32 (gcc-multilib), so size_t,
# long and pointers are 32 bits as on armv7, and the tests run natively.
# The i386 libraries come from the sysroot that scripts/setup-m32.sh
# unpacks; pass it as -DPYHOST_I386_SYSROOT=DIR. Wasmtime is not built for
# i386, so configure without WASMTIME_DIR.
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR i686)
set(CMAKE_C_COMPILER gcc)
set(CMAKE_LIBRARY_ARCHITECTURE i386-linux-gnu)

# try_compile re-reads this file in a fresh project: hand the sysroot on.
set(CMAKE_TRY_COMPILE_PLATFORM_VARIABLES PYHOST_I386_SYSROOT)
if(NOT PYHOST_I386_SYSROOT OR NOT IS_DIRECTORY "${PYHOST_I386_SYSROOT}/usr/lib/i386-linux-gnu")
  message(FATAL_ERROR "PYHOST_I386_SYSROOT is not an i386 sysroot: run scripts/setup-m32.sh")
endif()
set(libdir "${PYHOST_I386_SYSROOT}/usr/lib/i386-linux-gnu")

# The sysroot's headers before the machine's (OpenSSL's configuration.h is
# per architecture); its libraries found at link time and, through the
# rpath (DT_RPATH: it also serves libmosquitto's libssl), when the tests run.
set(CMAKE_C_FLAGS_INIT "-m32 -isystem ${PYHOST_I386_SYSROOT}/usr/include/i386-linux-gnu -isystem ${PYHOST_I386_SYSROOT}/usr/include")
set(CMAKE_EXE_LINKER_FLAGS_INIT "-m32 -L${libdir} -Wl,-rpath-link,${libdir} -Wl,--disable-new-dtags,-rpath,${libdir}")

# Only the sysroot's .pc files, never the build machine's; their paths are
# made absolute under the sysroot.
set(ENV{PKG_CONFIG_LIBDIR} "${libdir}/pkgconfig:${PYHOST_I386_SYSROOT}/usr/share/pkgconfig")
set(ENV{PKG_CONFIG_PATH} "")
set(ENV{PKG_CONFIG_SYSROOT_DIR} "${PYHOST_I386_SYSROOT}")
