/* locks.h - every lock of pyhost and the one order in which they nest.
 *
 * This header holds no code: it is the written lock order that every module
 * follows and that the ThreadSanitizer build of the host (make test) checks
 * (TSan reports lock-order inversions as well as data races).
 *
 * Rules
 *  1. A thread that holds lock N may take only locks listed after N here.
 *  2. Leaves (marked "leaf") are never held while taking another lock, and
 *     never across I/O, a callback into another module or a plugin call.
 *  3. Nothing on the web side waits for a plugin's lock: operator polls
 *     and resets run on the plugin's own thread (plugin/scheduler.h) while
 *     the connection is suspended; requests read the web state; the web's
 *     pipeline consumer copies a plugin's status with a trylock, falling
 *     back to the last copy (plugin_get_status).
 *  4. Data between modules flows through the pipeline (core/pipeline.h), a
 *     leaf: publishing never calls a consumer, so publishing with a
 *     plugin's lock held is allowed and nothing else under it is.
 *
 * The order, outer first:
 *
 *  http.set_lock            http/server.c: the set of plugins the web server
 *                           serves (rwlock): read-held while one request is
 *                           served or one record fed to the web state,
 *                           write-held only to swap the set on SIGHUP. Under
 *                           it, a plugin's status is copied with a trylock
 *                           of plugin.lock (rule 3), never a wait.
 *  plugin.state_file_lock   plugin/plugin.c: one state file's write (the
 *                           write itself is the I/O it serialises)
 *  plugin.lock              plugin/plugin.c: the plugin's instance and
 *                           status, held for one guest call. Inside it the
 *                           guest's host calls take the board's locks below.
 *                           Known exception to rule 2, to be removed: a host
 *                           call that reads a sensor or drives a line does
 *                           its I/O under this lock (the guest waits for it
 *                           anyway; nobody but the plugin's own thread, the
 *                           reloader's swap and status copies wait on it).
 *                           The 0.1.1 hardware calls (plugin/abi_hw_gpio.c,
 *                           abi_i2c.c, abi_pwm.c, abi_iio.c, abi_onewire.c)
 *                           are the same: the board's leaf locks inside, and
 *                           a 1-Wire read's wait (up to 750 ms) given back
 *                           to the call's budget.
 *  plugin.status_copy_lock  plugin/plugin.c: the last status copied out
 *                           (leaf; readers that find plugin.lock held take
 *                           it instead of waiting)
 *  settings_store.lock      core/settings.c: a plugin's settings (leaf; taken
 *                           by its wasi:config/store calls under plugin.lock,
 *                           and by the API and SIGHUP without it)
 *  hw_iio.lock              hw/hw_iio.c: one DHT22 read, with its retries
 *  hw_sim.lock              hw/hw_sim.c (leaf)
 *  hw_linux.leds_lock       hw/hw_linux.c (leaf)
 *  hw_sim_gpio.lock         hw/hw_sim_gpio.c: the simulated lines (leaf)
 *  hw_linux.devices_lock    hw/hw_linux.c: the GPIO chip handle, one PWM
 *                           write (leaf; its line request or sysfs I/O)
 *  hw_i2cdev.lock           hw/hw_i2cdev.c: opening a bus (leaf; the
 *                           transfers run without it)
 *  engine.runtime_lock      plugin/internal.h: the Python runtime's path (leaf)
 *  http.scheduler_lock      http/server.c: hands a request to the scheduler
 *  scheduler.lock           plugin/scheduler.c (leaf)
 *  reloader.lock            plugin/reloader.c (leaf)
 *  host.recorders_lock      cli/host.h: the history and MQTT pointers; taken
 *                           by the inline consumers on a plugin's thread
 *                           for poll records, published with no lock held
 *  history.lock             store/history.c: its queue (leaf)
 *  history_file.lock        store/history_file.c: a running check (leaf)
 *  mqtt.lock                mqtt/mqtt.c: its queue (leaf)
 *  host.output_lock         cli/host.h: one stdout line (leaf; its I/O)
 *  app_state.lock           http/app_state.c: the web state (rwlock, leaf)
 *  sse.lock                 http/sse.c: the event streams (leaf)
 *  guard.lock               http/guard.c: connections (leaf)
 *  pipeline.lock            core/pipeline.c: subscribers and queues (leaf)
 *  engine.ticker_lock       plugin/internal.h: the epoch ticker (leaf)
 *  stop_guard.lock          cli/service.c (leaf)
 *
 * The log (core/log.h) takes no lock: one write(2) per line. */
#ifndef PH_LOCKS_H
#define PH_LOCKS_H
#endif
