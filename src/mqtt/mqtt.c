#include "mqtt/mqtt.h"

#include <errno.h>
#include <jansson.h>
#include <mosquitto.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "core/log.h"

#define TAG "mqtt"
#define TOPIC_MAX 512
#define QUANTITIES 2      /* enum reading_quantity */
#define KNOWN_SENSORS 128 /* announced to Home Assistant */
#define STOP_DRAIN_MS 2000

/* One message: the readings of one sensor in one poll. */
struct mqtt_item {
        uint64_t sequence;
        int64_t time_ms;
        char plugin[CONFIG_NAME_MAX];
        char sensor[READING_SENSOR_MAX];
        bool has[QUANTITIES];
        struct reading readings[QUANTITIES];
};

/* A (plugin, sensor, quantity) announced with a discovery message. */
struct known_sensor {
        char plugin[CONFIG_NAME_MAX];
        char sensor[READING_SENSOR_MAX];
        enum reading_quantity quantity;
        char unit[READING_UNIT_MAX];
        bool is_announced; /* since the last connection */
};

struct mqtt_publisher {
        struct mqtt_config config;
        char status_topic[TOPIC_MAX];
        struct mosquitto *client;
        int wake_fd; /* eventfd: readings queued, or stop */
        pthread_t thread;
        bool has_thread;

        /* Network thread only (libmosquitto calls back on it too). */
        bool is_connected;
        bool needs_announce; /* connected, availability and discovery not yet sent */
        unsigned in_flight;
        struct known_sensor known[KNOWN_SENSORS];
        size_t known_count;
        bool is_known_full_logged;
        bool is_refusal_logged; /* since the last successful connection */

        pthread_mutex_t lock;
        /* Guarded by `lock`: */
        struct mqtt_item *queue; /* ring of config.queue_messages */
        size_t head;
        size_t count;
        uint64_t next_sequence;
        bool is_stopping;
        bool is_queue_full; /* in a queue-full episode (logged once) */
        struct mqtt_stats stats;
};

void mqtt_topic_segment(const char *name, char *out, size_t size) {
        size_t length = 0;
        for (; name[length] != '\0' && length + 1 < size; length++) {
                char c = name[length];
                out[length] = config_is_name_char(c) ? c : '_';
        }
        if (size > 0)
                out[length] = '\0';
}

static int64_t monotonic_ms(void) {
        struct timespec now;
        clock_gettime(CLOCK_MONOTONIC, &now);
        return (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000;
}

static void wake(struct mqtt_publisher *publisher) {
        uint64_t one = 1;
        /* Only fails when the counter would overflow: it is awake then. */
        ssize_t written = write(publisher->wake_fd, &one, sizeof(one));
        (void)written;
}

static bool is_stopping(struct mqtt_publisher *publisher) {
        pthread_mutex_lock(&publisher->lock);
        bool result = publisher->is_stopping;
        pthread_mutex_unlock(&publisher->lock);
        return result;
}

static const char *error_text(int code) {
        return code == MOSQ_ERR_ERRNO ? strerror(errno) : mosquitto_strerror(code);
}

/* --- messages ------------------------------------------------------------ */

static void sensor_topic(const struct mqtt_publisher *publisher, const char *plugin,
                         const char *sensor, char *out, size_t size) {
        char segment[READING_SENSOR_MAX];
        mqtt_topic_segment(sensor, segment, sizeof(segment));
        snprintf(out, size, "%s/%s/%s/%s", publisher->config.topic_prefix, publisher->config.device,
                 plugin, segment);
}

static json_t *item_to_json(const struct mqtt_item *item) {
        json_t *message = json_pack("{s:I, s:s, s:s}", "time_ms", (json_int_t)item->time_ms,
                                    "plugin", item->plugin, "sensor", item->sensor);
        if (message == NULL)
                return NULL;
        for (size_t i = 0; i < QUANTITIES; i++) {
                if (!item->has[i])
                        continue;
                const struct reading *reading = &item->readings[i];
                json_t *value = reading->is_finite ? json_real(reading->value) : json_null();
                json_t *member = json_pack("{s:o, s:s, s:s}", "value", value, "unit", reading->unit,
                                           "status", reading_status_name(reading->status));
                if (member != NULL && !reading->is_finite)
                        json_object_set_new(member, "valid", json_false());
                if (member == NULL ||
                    json_object_set_new(message, reading_quantity_name(reading->quantity), member) <
                            0) {
                        json_decref(message);
                        return NULL;
                }
        }
        return message;
}

/* Hands one message to libmosquitto. Returns a MOSQ_ERR_ code. */
static int publish(struct mqtt_publisher *publisher, const char *topic, json_t *payload_json,
                   const char *payload_text, int qos, bool is_retained) {
        char *dumped = NULL;
        if (payload_json != NULL) {
                dumped = json_dumps(payload_json, JSON_COMPACT | JSON_REAL_PRECISION(10));
                if (dumped == NULL)
                        return MOSQ_ERR_NOMEM;
                payload_text = dumped;
        }
        int result = mosquitto_publish(publisher->client, NULL, topic, (int)strlen(payload_text),
                                       payload_text, qos, is_retained);
        free(dumped);
        if (result == MOSQ_ERR_SUCCESS)
                publisher->in_flight++;
        return result;
}

static const char *device_class(enum reading_quantity quantity) {
        return quantity == READING_HUMIDITY ? "humidity" : "temperature";
}

/* The Home Assistant discovery message of one (plugin, sensor, quantity). */
static int announce(struct mqtt_publisher *publisher, const struct known_sensor *known) {
        const struct mqtt_config *config = &publisher->config;
        const char *quantity = reading_quantity_name(known->quantity);
        char segment[READING_SENSOR_MAX];
        mqtt_topic_segment(known->sensor, segment, sizeof(segment));
        char object_id[256];
        snprintf(object_id, sizeof(object_id), "pyhost_%s_%s_%s_%s", config->device, known->plugin,
                 segment, quantity);
        char topic[TOPIC_MAX];
        snprintf(topic, sizeof(topic), "%s/sensor/%s/%s_%s_%s/config", config->discovery_prefix,
                 config->device, known->plugin, segment, quantity);
        char state_topic[TOPIC_MAX];
        sensor_topic(publisher, known->plugin, known->sensor, state_topic, sizeof(state_topic));
        char name[256];
        snprintf(name, sizeof(name), "%s %s", known->sensor, quantity);
        /* A message carries only the quantities of that poll: keep the
         * state when this one is missing. */
        char template[256];
        snprintf(template, sizeof(template),
                 "{{ value_json.%s.value if value_json.%s is defined else this.state }}", quantity,
                 quantity);
        char device_id[128];
        snprintf(device_id, sizeof(device_id), "pyhost_%s", config->device);
        json_t *payload = json_pack(
                "{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s,"
                " s:{s:[s], s:s, s:s, s:s}}",
                "name", name, "unique_id", object_id, "object_id", object_id, "state_topic",
                state_topic, "value_template", template, "device_class",
                device_class(known->quantity), "state_class", "measurement", "unit_of_measurement",
                known->unit, "availability_topic", publisher->status_topic, "payload_available",
                "online", "payload_not_available", "offline", "device", "identifiers", device_id,
                "name", config->device, "manufacturer", "pyhost", "model", "pyhost");
        if (payload == NULL)
                return MOSQ_ERR_NOMEM;
        int result = publish(publisher, topic, payload, NULL, 1, true);
        json_decref(payload);
        return result;
}

/* Records the sensors of `item` and announces the ones not yet announced
 * on this connection. Network thread. */
static int announce_item(struct mqtt_publisher *publisher, const struct mqtt_item *item) {
        if (publisher->config.discovery_prefix[0] == '\0')
                return MOSQ_ERR_SUCCESS;
        for (size_t q = 0; q < QUANTITIES; q++) {
                if (!item->has[q])
                        continue;
                struct known_sensor *known = NULL;
                for (size_t i = 0; i < publisher->known_count && known == NULL; i++) {
                        struct known_sensor *candidate = &publisher->known[i];
                        if (candidate->quantity == (enum reading_quantity)q &&
                            strcmp(candidate->plugin, item->plugin) == 0 &&
                            strcmp(candidate->sensor, item->sensor) == 0)
                                known = candidate;
                }
                if (known == NULL) {
                        if (publisher->known_count == KNOWN_SENSORS) {
                                if (!publisher->is_known_full_logged)
                                        log_write(LOG_LEVEL_WARNING, TAG,
                                                  "more than %d sensors: the others get no "
                                                  "Home Assistant discovery message",
                                                  KNOWN_SENSORS);
                                publisher->is_known_full_logged = true;
                                continue;
                        }
                        known = &publisher->known[publisher->known_count++];
                        memset(known, 0, sizeof(*known));
                        snprintf(known->plugin, sizeof(known->plugin), "%s", item->plugin);
                        snprintf(known->sensor, sizeof(known->sensor), "%s", item->sensor);
                        known->quantity = (enum reading_quantity)q;
                        snprintf(known->unit, sizeof(known->unit), "%s", item->readings[q].unit);
                }
                if (known->is_announced)
                        continue;
                int result = announce(publisher, known);
                if (result != MOSQ_ERR_SUCCESS)
                        return result;
                known->is_announced = true;
        }
        return MOSQ_ERR_SUCCESS;
}

/* After a connection: "online", then the discovery messages again (a
 * restarted broker without persistence has lost the retained ones). */
static int announce_connection(struct mqtt_publisher *publisher) {
        int result = publish(publisher, publisher->status_topic, NULL, "online", 1, true);
        for (size_t i = 0; result == MOSQ_ERR_SUCCESS && i < publisher->known_count; i++) {
                if (publisher->config.discovery_prefix[0] == '\0')
                        break;
                result = announce(publisher, &publisher->known[i]);
                if (result == MOSQ_ERR_SUCCESS)
                        publisher->known[i].is_announced = true;
        }
        if (result == MOSQ_ERR_SUCCESS)
                publisher->needs_announce = false;
        return result;
}

/* Hands queued messages to libmosquitto while connected, at most
 * MQTT_IN_FLIGHT unacknowledged at a time. Network thread. */
static int send_queued(struct mqtt_publisher *publisher) {
        if (publisher->needs_announce) {
                int result = announce_connection(publisher);
                if (result != MOSQ_ERR_SUCCESS)
                        return result;
        }
        struct mqtt_item item;
        while (publisher->in_flight < MQTT_IN_FLIGHT) {
                pthread_mutex_lock(&publisher->lock);
                bool has_item = publisher->count > 0;
                if (has_item)
                        item = publisher->queue[publisher->head];
                pthread_mutex_unlock(&publisher->lock);
                if (!has_item)
                        return MOSQ_ERR_SUCCESS;

                int result = announce_item(publisher, &item);
                if (result != MOSQ_ERR_SUCCESS)
                        return result;
                char topic[TOPIC_MAX];
                sensor_topic(publisher, item.plugin, item.sensor, topic, sizeof(topic));
                json_t *payload = item_to_json(&item);
                if (payload == NULL)
                        return MOSQ_ERR_NOMEM;
                result =
                        publish(publisher, topic, payload, NULL, (int)publisher->config.qos, false);
                json_decref(payload);
                if (result != MOSQ_ERR_SUCCESS)
                        return result;
                /* libmosquitto has it now. Unless the queue overflowed
                 * meanwhile and dropped it, it is still at the head. */
                pthread_mutex_lock(&publisher->lock);
                if (publisher->count > 0 &&
                    publisher->queue[publisher->head].sequence == item.sequence) {
                        publisher->head = (publisher->head + 1) % publisher->config.queue_messages;
                        publisher->count--;
                }
                pthread_mutex_unlock(&publisher->lock);
        }
        return MOSQ_ERR_SUCCESS;
}

/* --- libmosquitto callbacks (on the network thread) ---------------------- */

static void on_connect(struct mosquitto *client, void *data, int code) {
        (void)client;
        struct mqtt_publisher *publisher = data;
        if (code != 0) {
                if (!publisher->is_refusal_logged)
                        log_write(LOG_LEVEL_ERROR, TAG,
                                  "%s:%u refused the connection: %s; retrying with backoff",
                                  publisher->config.host, publisher->config.port,
                                  mosquitto_connack_string(code));
                publisher->is_refusal_logged = true;
                return;
        }
        publisher->is_connected = true;
        publisher->is_refusal_logged = false;
        publisher->needs_announce = true;
        for (size_t i = 0; i < publisher->known_count; i++)
                publisher->known[i].is_announced = false;
        pthread_mutex_lock(&publisher->lock);
        publisher->stats.connects++;
        publisher->stats.is_connected = true;
        size_t waiting = publisher->count;
        pthread_mutex_unlock(&publisher->lock);
        log_write(LOG_LEVEL_INFO, TAG, "connected to %s:%u as %s/%s (%zu messages waiting)",
                  publisher->config.host, publisher->config.port, publisher->config.topic_prefix,
                  publisher->config.device, waiting);
}

static void on_disconnect(struct mosquitto *client, void *data, int code) {
        (void)client;
        (void)code;
        struct mqtt_publisher *publisher = data;
        publisher->is_connected = false;
        pthread_mutex_lock(&publisher->lock);
        publisher->stats.is_connected = false;
        pthread_mutex_unlock(&publisher->lock);
}

static void on_publish(struct mosquitto *client, void *data, int message_id) {
        (void)client;
        (void)message_id;
        struct mqtt_publisher *publisher = data;
        if (publisher->in_flight > 0)
                publisher->in_flight--;
        pthread_mutex_lock(&publisher->lock);
        publisher->stats.published++;
        pthread_mutex_unlock(&publisher->lock);
}

/* --- the network thread -------------------------------------------------- */

/* Serves the connection once: waits up to `timeout_ms` for the socket or a
 * wake-up, then reads, writes, keeps alive and sends queued messages.
 * Returns a MOSQ_ERR_ code; anything but success means the connection is
 * gone. */
static int serve_once(struct mqtt_publisher *publisher, int timeout_ms) {
        int fd = mosquitto_socket(publisher->client);
        if (fd < 0)
                return MOSQ_ERR_NO_CONN;
        struct pollfd fds[2] = {
                {.fd = fd,
                 .events =
                         (short)(POLLIN | (mosquitto_want_write(publisher->client) ? POLLOUT : 0))},
                {.fd = publisher->wake_fd, .events = POLLIN},
        };
        if (poll(fds, 2, timeout_ms) < 0 && errno != EINTR)
                return MOSQ_ERR_ERRNO;
        if (fds[1].revents & POLLIN) {
                uint64_t count;
                ssize_t got = read(publisher->wake_fd, &count, sizeof(count));
                (void)got;
        }
        int result = MOSQ_ERR_SUCCESS;
        if (fds[0].revents & (POLLIN | POLLHUP | POLLERR))
                result = mosquitto_loop_read(publisher->client, 1);
        if (result == MOSQ_ERR_SUCCESS && (fds[0].revents & POLLOUT))
                result = mosquitto_loop_write(publisher->client, 1);
        if (result == MOSQ_ERR_SUCCESS)
                result = mosquitto_loop_misc(publisher->client);
        if (result == MOSQ_ERR_SUCCESS && publisher->is_connected)
                result = send_queued(publisher);
        return result;
}

/* Waits `ms` or until stop; readings arriving meanwhile do not cut it short. */
static void wait_backoff(struct mqtt_publisher *publisher, unsigned ms) {
        int64_t deadline = monotonic_ms() + ms;
        for (;;) {
                int64_t left = deadline - monotonic_ms();
                if (left <= 0 || is_stopping(publisher))
                        return;
                struct pollfd fd = {.fd = publisher->wake_fd, .events = POLLIN};
                if (poll(&fd, 1, (int)left) > 0) {
                        uint64_t count;
                        ssize_t got = read(publisher->wake_fd, &count, sizeof(count));
                        (void)got;
                }
        }
}

/* On stop: sends what is queued and waits for the acknowledgements, then
 * says "offline" and disconnects, for at most STOP_DRAIN_MS. */
static void drain_and_disconnect(struct mqtt_publisher *publisher) {
        int64_t deadline = monotonic_ms() + STOP_DRAIN_MS;
        int result = MOSQ_ERR_SUCCESS;
        for (;;) {
                pthread_mutex_lock(&publisher->lock);
                size_t waiting = publisher->count;
                pthread_mutex_unlock(&publisher->lock);
                int64_t left = deadline - monotonic_ms();
                if ((waiting == 0 && publisher->in_flight == 0) || left <= 0)
                        break;
                result = serve_once(publisher, (int)(left < 100 ? left : 100));
                if (result != MOSQ_ERR_SUCCESS || !publisher->is_connected)
                        return;
        }
        /* A clean disconnect suppresses the will: say it ourselves. */
        if (publish(publisher, publisher->status_topic, NULL, "offline", 1, true) !=
            MOSQ_ERR_SUCCESS)
                return;
        while (publisher->in_flight > 0 && monotonic_ms() < deadline &&
               serve_once(publisher, 100) == MOSQ_ERR_SUCCESS) {
        }
        mosquitto_disconnect(publisher->client);
        while (mosquitto_want_write(publisher->client) && monotonic_ms() < deadline &&
               serve_once(publisher, 100) == MOSQ_ERR_SUCCESS) {
        }
}

static void *network_main(void *data) {
        struct mqtt_publisher *publisher = data;
        const struct mqtt_config *config = &publisher->config;
        unsigned backoff_ms = config->reconnect_min_ms;
        bool is_address_set = false;
        bool is_outage_logged = false;
        while (!is_stopping(publisher)) {
                int result = is_address_set ? mosquitto_reconnect_async(publisher->client)
                                            : mosquitto_connect_async(publisher->client,
                                                                      config->host, config->port,
                                                                      (int)config->keepalive_s);
                is_address_set = true;
                uint64_t connects_before = publisher->stats.connects;
                while (result == MOSQ_ERR_SUCCESS && !is_stopping(publisher))
                        result = serve_once(publisher, 1000);
                if (is_stopping(publisher))
                        break;
                bool was_connected = publisher->is_connected;
                int saved_errno = errno;
                if (publisher->is_connected)
                        on_disconnect(publisher->client, publisher, result);
                pthread_mutex_lock(&publisher->lock);
                bool did_connect = publisher->stats.connects != connects_before;
                size_t waiting = publisher->count;
                pthread_mutex_unlock(&publisher->lock);
                if (did_connect) {
                        backoff_ms = config->reconnect_min_ms;
                        is_outage_logged = false;
                }
                if (!is_outage_logged) {
                        errno = saved_errno;
                        log_write(LOG_LEVEL_WARNING, TAG,
                                  "%s %s:%u: %s; retrying with backoff (%u ms up to %u ms), "
                                  "%zu messages waiting",
                                  was_connected || did_connect ? "lost the connection to"
                                                               : "cannot connect to",
                                  config->host, config->port, error_text(result), backoff_ms,
                                  config->reconnect_max_ms, waiting);
                        is_outage_logged = true;
                }
                wait_backoff(publisher, backoff_ms);
                backoff_ms = backoff_ms > config->reconnect_max_ms / 2 ? config->reconnect_max_ms
                                                                       : backoff_ms * 2;
        }
        if (publisher->is_connected)
                drain_and_disconnect(publisher);
        return NULL;
}

/* --- the public functions ------------------------------------------------ */

static void default_device(char *out, size_t size) {
        char host[256] = {0};
        if (gethostname(host, sizeof(host) - 1) != 0 || host[0] == '\0')
                snprintf(host, sizeof(host), "pyhost");
        mqtt_topic_segment(host, out, size);
}

static int set_up_client(struct mqtt_publisher *publisher, struct ph_error *error) {
        const struct mqtt_config *config = &publisher->config;
        publisher->client = mosquitto_new(config->client_id, true, publisher);
        if (publisher->client == NULL)
                return ph_error_set(error, -errno, "mqtt: cannot create the client: %s",
                                    strerror(errno));
        struct mosquitto *client = publisher->client;
        mosquitto_connect_callback_set(client, on_connect);
        mosquitto_disconnect_callback_set(client, on_disconnect);
        mosquitto_publish_callback_set(client, on_publish);
        int result = mosquitto_will_set(client, publisher->status_topic, 7, "offline", 1, true);
        if (result != MOSQ_ERR_SUCCESS)
                return ph_error_set(error, -EINVAL, "mqtt: will on %s: %s", publisher->status_topic,
                                    mosquitto_strerror(result));
        if (config->username[0] != '\0') {
                result = mosquitto_username_pw_set(client, config->username,
                                                   config->password[0] != '\0' ? config->password
                                                                               : NULL);
                if (result != MOSQ_ERR_SUCCESS)
                        return ph_error_set(error, -EINVAL, "mqtt: username: %s",
                                            mosquitto_strerror(result));
        }
        if (config->has_tls) {
                const char *ca_file = config->tls_ca_file[0] != '\0' ? config->tls_ca_file : NULL;
                result = mosquitto_tls_set(
                        client, ca_file, ca_file == NULL ? "/etc/ssl/certs" : NULL,
                        config->tls_cert_file[0] != '\0' ? config->tls_cert_file : NULL,
                        config->tls_key_file[0] != '\0' ? config->tls_key_file : NULL, NULL);
                if (result != MOSQ_ERR_SUCCESS)
                        return ph_error_set(error, -EINVAL,
                                            "mqtt: tls_ca_file '%s', tls_cert_file '%s', "
                                            "tls_key_file '%s': %s",
                                            config->tls_ca_file, config->tls_cert_file,
                                            config->tls_key_file, error_text(result));
                if (config->is_tls_insecure)
                        mosquitto_tls_insecure_set(client, true);
        }
        return 0;
}

struct mqtt_publisher *mqtt_start(const struct mqtt_config *config, struct ph_error *error) {
        if (!config->is_enabled || config->queue_messages == 0 || config->qos > 1) {
                ph_error_set(error, -EINVAL, "mqtt: not enabled or invalid settings");
                return NULL;
        }
        struct mqtt_publisher *publisher = calloc(1, sizeof(*publisher));
        if (publisher == NULL) {
                ph_error_set(error, -ENOMEM, "mqtt: out of memory");
                return NULL;
        }
        publisher->wake_fd = -1;
        publisher->config = *config;
        struct mqtt_config *own = &publisher->config;
        if (own->device[0] == '\0')
                default_device(own->device, sizeof(own->device));
        if (own->client_id[0] == '\0')
                snprintf(own->client_id, sizeof(own->client_id), "pyhost-%.50s", own->device);
        snprintf(publisher->status_topic, sizeof(publisher->status_topic), "%s/%s/status",
                 own->topic_prefix, own->device);
        pthread_mutex_init(&publisher->lock, NULL);
        mosquitto_lib_init();
        publisher->queue = calloc(own->queue_messages, sizeof(*publisher->queue));
        if (publisher->queue == NULL) {
                ph_error_set(error, -ENOMEM, "mqtt: out of memory for the queue");
                goto fail;
        }
        publisher->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        if (publisher->wake_fd < 0) {
                ph_error_set(error, -errno, "mqtt: eventfd: %s", strerror(errno));
                goto fail;
        }
        if (set_up_client(publisher, error) < 0)
                goto fail;
        int result = pthread_create(&publisher->thread, NULL, network_main, publisher);
        if (result != 0) {
                ph_error_set(error, -result, "mqtt: cannot start the network thread: %s",
                             strerror(result));
                goto fail;
        }
        publisher->has_thread = true;
        return publisher;
fail:
        mqtt_stop(publisher);
        return NULL;
}

int mqtt_publish_readings(struct mqtt_publisher *publisher, const char *plugin, int64_t time_ms,
                          const struct reading_list *readings) {
        size_t capacity = publisher->config.queue_messages;
        size_t dropped = 0;
        size_t first_new = 0; /* messages of this call: the last `added` of the ring */
        size_t added = 0;
        pthread_mutex_lock(&publisher->lock);
        for (size_t r = 0; r < readings->count; r++) {
                const struct reading *reading = &readings->items[r];
                size_t q = (size_t)reading->quantity < QUANTITIES ? (size_t)reading->quantity : 0;
                struct mqtt_item *item = NULL;
                for (size_t i = 0; i < added && item == NULL; i++) {
                        struct mqtt_item *candidate = &publisher->queue[(first_new + i) % capacity];
                        if (strcmp(candidate->sensor, reading->sensor) == 0)
                                item = candidate;
                }
                if (item == NULL) {
                        if (added == capacity)
                                continue; /* one poll with more sensors than the queue */
                        if (publisher->count == capacity) {
                                /* Full: the oldest message makes room. */
                                publisher->head = (publisher->head + 1) % capacity;
                                publisher->count--;
                                dropped++;
                        }
                        size_t slot = (publisher->head + publisher->count) % capacity;
                        if (added == 0)
                                first_new = slot;
                        item = &publisher->queue[slot];
                        memset(item, 0, sizeof(*item));
                        item->sequence = ++publisher->next_sequence;
                        item->time_ms = time_ms;
                        snprintf(item->plugin, sizeof(item->plugin), "%s", plugin);
                        snprintf(item->sensor, sizeof(item->sensor), "%s", reading->sensor);
                        publisher->count++;
                        added++;
                }
                item->has[q] = true;
                item->readings[q] = *reading;
        }
        publisher->stats.queued += added;
        publisher->stats.dropped += dropped;
        bool is_new_episode = dropped > 0 && !publisher->is_queue_full;
        if (dropped > 0)
                publisher->is_queue_full = true;
        else if (publisher->count < capacity)
                publisher->is_queue_full = false;
        pthread_mutex_unlock(&publisher->lock);
        if (added > 0)
                wake(publisher);
        if (is_new_episode)
                log_write(LOG_LEVEL_WARNING, TAG,
                          "queue of %zu messages is full (broker away): dropping the oldest",
                          capacity);
        return dropped > 0 ? -ENOBUFS : 0;
}

void mqtt_get_stats(struct mqtt_publisher *publisher, struct mqtt_stats *ret_stats) {
        pthread_mutex_lock(&publisher->lock);
        *ret_stats = publisher->stats;
        pthread_mutex_unlock(&publisher->lock);
}

void mqtt_stop(struct mqtt_publisher *publisher) {
        if (publisher == NULL)
                return;
        if (publisher->has_thread) {
                pthread_mutex_lock(&publisher->lock);
                publisher->is_stopping = true;
                pthread_mutex_unlock(&publisher->lock);
                wake(publisher);
                pthread_join(publisher->thread, NULL);
        }
        if (publisher->client != NULL)
                mosquitto_destroy(publisher->client);
        mosquitto_lib_cleanup();
        if (publisher->wake_fd >= 0)
                close(publisher->wake_fd);
        pthread_mutex_destroy(&publisher->lock);
        free(publisher->queue);
        free(publisher);
}
