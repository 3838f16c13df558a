/* The emulator's part of the Lambda Telemetry API (2022-07-01): what the runtime writes on its
 * stdout and stderr goes through a pipe to a reader thread, which passes every byte on to the
 * log descriptor (the user still sees the output) and, for the extensions that subscribed to
 * the "function" type, keeps each line as a telemetry record {"time","type":"function",
 * "record"}. Records are POSTed as a JSON array to each subscriber's destination, batched as
 * its buffering asks (timeoutMs, maxItems, maxBytes), and at once when the runtime posts its
 * response or error (emu_tele_flush), so that an extension has the invocation's lines before
 * the invocation completes. Delivery uses libcurl; sandbox.localdomain, the host Lambda names
 * the destination by, is this machine's loopback. One pipe per sandbox; subscriptions end with
 * the sandbox, as extensions subscribe again after each cold start. Lines written during the
 * Init phase are kept until a subscriber comes or the phase ends: an extension subscribes after
 * register, while the runtime already starts. */
#include "replay/emulator_int.h"

#include "formats/escape.h"
#include "formats/render.h"
#include "formats/toolbox.h"

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define LINE_MAX_BYTES (256u * 1024) /* Lambda cuts a log line at 256 KiB */
#define QUEUE_MAX_BYTES (4u * 1024 * 1024)
#define TICK_MS 25 /* Lambda's shortest buffering timeout */

static void queue_line(struct emu_telemetry *t, const char *text, size_t len)
{
    while (len && (text[len - 1] == '\n' || text[len - 1] == '\r'))
        len--;
    if (!t->n_subs && !t->in_init)
        return;
    if (t->bytes + len > QUEUE_MAX_BYTES || t->n >= EMU_TELE_QUEUE) {
        t->dropped++;
        return;
    }
    char *copy = malloc(len + 1);
    if (!copy) {
        t->dropped++;
        return;
    }
    memcpy(copy, text, len);
    copy[len] = '\0';
    t->lines[t->n].wall_ns = rt_clock_wall_ns();
    t->lines[t->n].text = copy;
    t->lines[t->n].len = len;
    t->n++;
    t->bytes += len;
}

/* Reads what the pipe holds now: passes it to the log descriptor and queues complete lines.
 * Returns false at end of file or on an error. Caller holds t->mu. */
static bool read_pipe(struct rt_emu *emu)
{
    struct emu_telemetry *t = &emu->tele;
    int log_fd = emu->cfg->log_fd >= 0 ? emu->cfg->log_fd : 2;
    for (;;) {
        char buf[16384];
        ssize_t n = read(t->pipe_fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return errno == EAGAIN;
        if (n == 0)
            return false;
        (void)!write(log_fd, buf, (size_t)n);
        for (ssize_t i = 0; i < n; i++) {
            if (t->partial_len < LINE_MAX_BYTES)
                t->partial[t->partial_len++] = buf[i];
            if (buf[i] == '\n' || t->partial_len == LINE_MAX_BYTES) {
                queue_line(t, t->partial, t->partial_len);
                t->partial_len = 0;
            }
        }
    }
}

static size_t discard_body(char *ptr, size_t size, size_t n, void *arg)
{
    (void)ptr, (void)arg;
    return size * n;
}

/* POSTs the queued lines to every subscriber of "function" records, then empties the queue.
 * A subscriber that does not answer loses the batch (counted). Caller holds t->mu. */
static void deliver(struct emu_telemetry *t)
{
    if (!t->n)
        return;
    json_t *batch = json_array();
    for (size_t i = 0; batch && i < t->n; i++) {
        char when[48]; /* Lambda's ISO 8601 UTC, here to the nanosecond */
        rt_render_wall(when, sizeof when, t->lines[i].wall_ns);
        json_t *rec = json_object();
        json_object_set_new(rec, "time", json_string(when));
        json_object_set_new(rec, "type", json_string("function"));
        /* JSON strings are UTF-8: other output is sent in its escaped form (\xNN). */
        json_t *text = json_stringn(t->lines[i].text, t->lines[i].len);
        if (!text) {
            size_t cap = t->lines[i].len * 4 + 1;
            char *esc = malloc(cap);
            if (esc)
                rt_escape_buf(esc, cap, t->lines[i].text, t->lines[i].len, 0);
            text = json_string(esc ? esc : "");
            free(esc);
        }
        json_object_set_new(rec, "record", text);
        json_array_append_new(batch, rec);
    }
    char *doc = batch ? json_dumps(batch, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    json_decref(batch);
    for (int k = 0; doc && k < t->n_subs; k++) {
        CURL *h = curl_easy_init();
        if (!h)
            break;
        struct curl_slist *hd = curl_slist_append(NULL, "Content-Type: application/json");
        /* sandbox.localdomain (Lambda's name for the extension's own address) is loopback. */
        struct curl_slist *to = curl_slist_append(NULL, "sandbox.localdomain::127.0.0.1:");
        curl_easy_setopt(h, CURLOPT_URL, t->subs[k].url);
        curl_easy_setopt(h, CURLOPT_CONNECT_TO, to);
        curl_easy_setopt(h, CURLOPT_HTTPHEADER, hd);
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, doc);
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(doc));
        curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, discard_body);
        curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 1000L);
        curl_easy_setopt(h, CURLOPT_PROXY, "");
        long status = 0;
        if (curl_easy_perform(h) != CURLE_OK ||
            curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status) != CURLE_OK || status >= 300)
            t->failed_batches++;
        curl_slist_free_all(hd);
        curl_slist_free_all(to);
        curl_easy_cleanup(h);
    }
    free(doc);
    for (size_t i = 0; i < t->n; i++)
        free(t->lines[i].text);
    t->n = 0;
    t->bytes = 0;
    t->last_delivery_ms = emu_wall_ms();
}

static bool delivery_due(const struct emu_telemetry *t)
{
    if (!t->n || !t->n_subs)
        return false;
    unsigned timeout_ms = 1000, max_items = 10000;
    size_t max_bytes = 262144;
    for (int k = 0; k < t->n_subs; k++) { /* the most eager subscriber sets the pace */
        timeout_ms = t->subs[k].timeout_ms < timeout_ms ? t->subs[k].timeout_ms : timeout_ms;
        max_items = t->subs[k].max_items < max_items ? t->subs[k].max_items : max_items;
        max_bytes = t->subs[k].max_bytes < max_bytes ? t->subs[k].max_bytes : max_bytes;
    }
    return t->n >= max_items || t->bytes >= max_bytes ||
           emu_wall_ms() - t->last_delivery_ms >= (int64_t)timeout_ms;
}

static void *reader(void *arg)
{
    struct rt_emu *emu = arg;
    struct emu_telemetry *t = &emu->tele;
    pthread_mutex_lock(&t->mu);
    while (!t->stop) {
        int fd = t->pipe_fd;
        pthread_mutex_unlock(&t->mu);
        /* Lines are stamped when read: the wait ends as soon as a runtime's pipe is attached
         * (else its first lines, its init's, would wait for the tick and carry a later time). */
        struct pollfd p[2] = {{.fd = t->wake[0], .events = POLLIN}, {.fd = fd, .events = POLLIN}};
        if (poll(p, fd >= 0 ? 2 : 1, TICK_MS) > 0 && (p[0].revents & POLLIN)) {
            char drain[16];
            while (read(t->wake[0], drain, sizeof drain) > 0)
                ;
        }
        pthread_mutex_lock(&t->mu);
        if (t->pipe_fd >= 0 && t->pipe_fd == fd && !read_pipe(emu)) {
            close(t->pipe_fd); /* the runtime and its children are gone */
            t->pipe_fd = -1;
        }
        if (delivery_due(t))
            deliver(t);
    }
    pthread_mutex_unlock(&t->mu);
    return NULL;
}

int emu_tele_start(struct rt_emu *emu)
{
    struct emu_telemetry *t = &emu->tele;
    t->pipe_fd = -1;
    /* Before any thread, as libcurl asks; and in the runtrail program, which loads libcurl at
     * its first call, this loads it now rather than at the first delivery, inside a measured
     * invocation (a failure shows at the first delivery: curl_easy_init returns NULL). */
    (void)curl_global_init(CURL_GLOBAL_DEFAULT);
    t->partial = malloc(LINE_MAX_BYTES);
    if (!t->partial)
        return RT_ERR_EMU_NO_MEMORY;
    if (pipe2(t->wake, O_CLOEXEC | O_NONBLOCK) != 0) {
        free(t->partial);
        t->partial = NULL;
        return RT_ERR_EMU_NO_MEMORY;
    }
    pthread_mutex_init(&t->mu, NULL);
    if (pthread_create(&t->thread, NULL, reader, emu) != 0) {
        pthread_mutex_destroy(&t->mu);
        close(t->wake[0]);
        close(t->wake[1]);
        free(t->partial);
        t->partial = NULL;
        return RT_ERR_EMU_NO_MEMORY;
    }
    t->running = true;
    return RT_OK;
}

int emu_tele_pipe(struct rt_emu *emu, int fds[2])
{
    if (!emu->tele.running || pipe2(fds, O_CLOEXEC) != 0)
        return -1;
    fcntl(fds[0], F_SETFL, O_NONBLOCK);
    return 0;
}

void emu_tele_attach(struct rt_emu *emu, int read_fd)
{
    struct emu_telemetry *t = &emu->tele;
    pthread_mutex_lock(&t->mu);
    if (t->pipe_fd >= 0)
        close(t->pipe_fd);
    t->pipe_fd = read_fd;
    t->partial_len = 0;
    t->in_init = true;
    pthread_mutex_unlock(&t->mu);
    if (t->running)
        (void)!write(t->wake[1], "", 1); /* full: the reader is awake already */
}

void emu_tele_init_done(struct rt_emu *emu)
{
    struct emu_telemetry *t = &emu->tele;
    if (!t->running)
        return;
    pthread_mutex_lock(&t->mu);
    t->in_init = false; /* what was kept stays for a late subscriber, until the sandbox ends */
    pthread_mutex_unlock(&t->mu);
}

void emu_tele_flush(struct rt_emu *emu)
{
    struct emu_telemetry *t = &emu->tele;
    if (!t->running)
        return;
    pthread_mutex_lock(&t->mu);
    if (t->pipe_fd >= 0 && !read_pipe(emu)) {
        close(t->pipe_fd);
        t->pipe_fd = -1;
    }
    if (t->n_subs)
        deliver(t);
    pthread_mutex_unlock(&t->mu);
}

void emu_tele_end_sandbox(struct rt_emu *emu)
{
    struct emu_telemetry *t = &emu->tele;
    if (!t->running)
        return;
    pthread_mutex_lock(&t->mu);
    /* The runtime's group is dead: read to the end (bounded), pass on, deliver, forget. */
    for (int i = 0; t->pipe_fd >= 0 && i < 20; i++) {
        if (!read_pipe(emu)) {
            close(t->pipe_fd);
            t->pipe_fd = -1;
            break;
        }
        struct pollfd p = {.fd = t->pipe_fd, .events = POLLIN};
        pthread_mutex_unlock(&t->mu);
        poll(&p, 1, 5);
        pthread_mutex_lock(&t->mu);
    }
    if (t->partial_len)
        queue_line(t, t->partial, t->partial_len);
    t->partial_len = 0;
    deliver(t);
    if (t->pipe_fd >= 0)
        close(t->pipe_fd);
    t->pipe_fd = -1;
    t->n_subs = 0;
    pthread_mutex_unlock(&t->mu);
}

void emu_tele_stop(struct rt_emu *emu)
{
    struct emu_telemetry *t = &emu->tele;
    if (!t->running)
        return;
    pthread_mutex_lock(&t->mu);
    t->stop = true;
    pthread_mutex_unlock(&t->mu);
    pthread_join(t->thread, NULL);
    for (size_t i = 0; i < t->n; i++)
        free(t->lines[i].text);
    t->n = 0;
    if (t->pipe_fd >= 0)
        close(t->pipe_fd);
    t->pipe_fd = -1;
    free(t->partial);
    t->partial = NULL;
    close(t->wake[0]);
    close(t->wake[1]);
    pthread_mutex_destroy(&t->mu);
    t->running = false;
}

int emu_tele_subscribe(struct rt_emu *emu, const char *ext_id, const char *body, size_t len,
                       char *err, size_t err_cap)
{
    struct rt_emu_tele_sub sub;
    if (rt_emu_parse_telemetry(body, len, &sub, err, err_cap) != RT_OK)
        return -1;
    if (!sub.function)
        return 0; /* platform or extension records only: none are sent here */
    struct emu_telemetry *t = &emu->tele;
    pthread_mutex_lock(&t->mu);
    int k = 0;
    while (k < t->n_subs && strcmp(t->subs[k].ext_id, ext_id))
        k++;
    int rc = -1;
    if (k < EMU_MAX_EXTENSIONS) {
        struct emu_sub *s = &t->subs[k];
        snprintf(s->ext_id, sizeof s->ext_id, "%s", ext_id);
        snprintf(s->url, sizeof s->url, "%s", sub.uri);
        s->timeout_ms = sub.timeout_ms;
        s->max_items = sub.max_items;
        s->max_bytes = sub.max_bytes;
        if (k == t->n_subs)
            t->n_subs++;
        rc = 0;
    } else {
        snprintf(err, err_cap, "too many subscribers");
    }
    pthread_mutex_unlock(&t->mu);
    return rc;
}
