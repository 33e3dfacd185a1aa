/* mqtt.h - publishes readings to an MQTT broker with libmosquitto, with a
 * retained availability topic (and a last will) and Home Assistant
 * discovery, so the sensors appear in Home Assistant by themselves.
 *
 * Topics, with P = topic_prefix and D = device:
 *   P/D/status                       "online" / "offline", retained; the will
 *                                    sets "offline" when the host vanishes
 *   P/D/PLUGIN/SENSOR                one message per sensor per poll:
 *     {"time_ms":..., "plugin":..., "sensor":...,
 *      "temperature":{"value":23.5,"unit":"°C","status":"ok"},
 *      "humidity":{"value":61.2,"unit":"%","status":"ok"}}
 *     (one member per quantity the poll reported; a non-finite value is
 *     null with "valid": false)
 *   DISCOVERY/sensor/D/PLUGIN_SENSOR_QUANTITY/config
 *                                    Home Assistant discovery, retained
 * Characters of a sensor name other than letters, digits, '-' and '_' are
 * written as '_' in topics.
 *
 * Owns the libmosquitto client, a bounded queue of messages and one network
 * thread. Plugin threads call mqtt_publish_readings, which only copies the
 * readings into the queue (dropping the oldest when it is full) and never
 * blocks on the network. The network thread alone calls libmosquitto: it
 * connects, reconnects with exponential backoff, announces, and hands
 * queued messages to the broker (QoS 1 by default: a message is taken from
 * the queue when libmosquitto has it, and libmosquitto resends what the
 * broker has not acknowledged after a reconnect; at most `MQTT_IN_FLIGHT`
 * at a time). Readings made while the broker is away wait in the queue.
 * Locks: `lock` guards the queue and the statistics; everything else
 * belongs to the network thread. */
#ifndef PH_MQTT_H
#define PH_MQTT_H

#include <stdbool.h>
#include <stdint.h>

#include "core/config.h"
#include "core/error.h"
#include "core/reading.h"

#define MQTT_IN_FLIGHT 32 /* messages handed to libmosquitto, not yet acknowledged */

struct mqtt_stats {
        uint64_t queued;    /* sensor messages accepted */
        uint64_t published; /* messages (readings, availability, discovery) acknowledged */
        uint64_t dropped;   /* sensor messages dropped because the queue was full */
        uint64_t connects;  /* successful connections */
        bool is_connected;
};

struct mqtt_publisher;

/* Copies `config` (which must be enabled), sets up the client (TLS,
 * username and password, the will) and starts the network thread, which
 * connects in the background: an unreachable broker is not an error here.
 * Returns NULL with `error` set when the client cannot be set up. The
 * caller frees the result with mqtt_stop. */
PH_MUST_USE struct mqtt_publisher *mqtt_start(const struct mqtt_config *config,
                                              struct ph_error *error);

/* Queues the readings of one poll of `plugin` made at `time_ms` (Unix time,
 * ms), one message per sensor; borrows both for the call only. Never
 * blocks on the network. Returns 0, or -ENOBUFS when older messages had to
 * be dropped to make room (counted, logged once per episode). */
PH_MUST_USE int mqtt_publish_readings(struct mqtt_publisher *publisher, const char *plugin,
                                      int64_t time_ms, const struct reading_list *readings);

void mqtt_get_stats(struct mqtt_publisher *publisher, struct mqtt_stats *ret_stats);

/* Sends what is queued if the broker is there (for at most 2 s), marks the
 * device offline, disconnects and frees everything. Accepts NULL. */
void mqtt_stop(struct mqtt_publisher *publisher);

/* Writes `name` into `out` as a topic segment: letters, digits, '-' and '_'
 * kept, anything else '_'. */
void mqtt_topic_segment(const char *name, char *out, size_t size);

#endif
