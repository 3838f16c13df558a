/* The sealer: one thread that owns the ring consumer, the bundle writer and the store. The
 * proxy hands it finished invocations; it drains the event ring (every few ms, so the ring
 * does not fill while a function runs), attributes each behaviour event to the invocation
 * whose window [start, end] holds its timestamp, flags everything else RT_EF_OUTSIDE in the
 * next bundle, seals the bundle (META with the sandbox chain, ENV, CODE, headers, payloads,
 * events) and stores it, spooling on failure. Nothing here runs on the runtime's request
 * path, and no failure here reaches the function: it is counted in the next bundle. */
#include "recorder/extension/extension.h"

#include "formats/digest.h"
#include "formats/escape.h"
#include "formats/toolbox.h"
#include "recorder/ring.h"
#include "store/store.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <malloc.h>
#include <sched.h>
#include <signal.h>
#include <sys/resource.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define DRAIN_PERIOD_MS 20 /* when RUNTRAIL_DRAIN_MS is 0 */
#define HELD_MAX_FACTOR 2  /* events held between bundles: up to 2 x RUNTRAIL_MAX_EVENTS */
#define QUEUE_MAX_BYTES (32u * 1024 * 1024) /* what invocations waiting to be sealed hold */
#define TRIM_FREE_MIN (1024u * 1024)        /* free heap bytes worth returning to the system */
/* spool delivered per turn while the store is back and no invocation waits */
#define FLUSH_SLICE_MS 200

extern char **environ;

/* A behaviour event copied out of the ring, strings included. */
struct held {
    struct rt_event ev;
    char data[]; /* the strings, back to back */
};

struct queued {
    struct rt_ext_invocation *inv;
    size_t bytes; /* what it holds (held_bytes), counted in queued_bytes */
    struct queued *next;
};

struct rt_ext_sealer {
    struct rt_ext_config cfg;
    struct rt_ring *ring;
    struct rt_ext_logs *logs;
    char sandbox_id[64];
    char proxy_addr[64];
    char *redact_scratch; /* rt_ext_redact_event's rewritten strings (sealer thread) */
    size_t redact_scratch_cap;
    int64_t cpu_at_meta_ns; /* the process's CPU time at the last bundle's META (sealer thread) */

    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cond;
    struct queued *head, *tail;
    size_t queued_bytes; /* bytes the waiting invocations hold (under mu) */
    bool stopping;
    bool started; /* its thread runs (rt_ext_sealer_registered; main thread) */
    bool dead;    /* its thread could not start: every invocation is dropped (under mu) */
    uint64_t counters[RT_CTR__COUNT]; /* for the next bundle (under mu) */
    uint32_t dropped_flags;           /* flags of events dropped before the writer (under mu) */
    uint64_t sealed;                  /* under mu */
    int stored;
    /* The latest invocation handed over and the latest one dealt with (under mu), for
     * rt_ext_sealer_wait_done; done_cond is broadcast when either changes. */
    char submitted_id[128], done_id[128];
    int64_t submitted_ns;
    pthread_cond_t done_cond;

    /* sealer thread only */
    struct held **events;
    size_t n_events, cap_events;
    /* Bytes the sealer has held and let go of since it last looked at the heap (held events,
     * the invocations as queued, stored bundles): below TRIM_FREE_MIN there is nothing of its
     * own to return; and whether invocations have waited behind one another since (a
     * backlog). */
    size_t released;
    bool backlog;
    struct rt_store *store;
    bool store_tried, spool_pending;
    bool flush_due;  /* a put succeeded with bundles in the spool (sealer thread) */
    bool store_said; /* a store failure was said on stderr, and no bundle has gone out since */
    /* SHUTDOWN's order (rt_ext_sealer_stop): first every sealed bundle into the spool, without
     * waiting on the network, then the time left to deliver them. The store as published for
     * the stopping thread, and whether it asked for that (both seq_cst: each side writes its
     * own, then reads the other's). */
    struct rt_store *store_pub;
    int spool_first;
    uint64_t seq;
    bool has_prev;
    uint8_t prev_digest[RT_DIGEST_LEN];
    struct rt_env_var *env;
    size_t n_env;
    char runtime[128];
    bool ring_seen; /* the interposer has written at least one record */
    /* The runtime (the pid the wrapper wrote before exec'ing it, 0 = not known yet) and
     * whether the interposer is in it: its proc_start says yes, a successful exec into an
     * image the interposer cannot enter (static, Go) says no. */
    pid_t runtime_pid;
    bool runtime_covered;
    uint64_t rng; /* RUNTRAIL_SAMPLE draws */

    /* The code digest runs in its own low-priority thread (a layer can hold 250 MB), started
     * with the first seal. */
    pthread_t code_thread;
    bool code_tried;   /* sealer thread only */
    bool code_started; /* written by the sealer thread; read after joining it */
    bool code_done;    /* under mu */
    struct rt_code code;
};

/* ---- holding ring events ---- */

static bool is_proxy_traffic(const struct rt_ext_sealer *s, const struct rt_event *ev)
{
    if (ev->op != RT_OP_CONNECT && ev->op != RT_OP_OUTBOUND && ev->op != RT_OP_SENDTO)
        return false;
    size_t n = strlen(s->proxy_addr);
    const struct rt_str *a = &ev->str[0];
    return n && a->len >= n && !memcmp(a->ptr, s->proxy_addr, n) &&
           (a->len == n || a->ptr[n] == ' ' || a->ptr[n] == '\0');
}

static void note_runtime_coverage(struct rt_ext_sealer *s, const struct rt_event *ev)
{
    bool start = ev->op == RT_OP_PROC_START;
    bool exec = ev->op == RT_OP_EXEC && ev->result == 0;
    if ((!start && !exec) || (ev->flags & RT_EF_SAMPLED)) /* /proc sampling: not the interposer */
        return;
    if (!s->runtime_pid) /* the wrapper writes it before the runtime can start */
        s->runtime_pid = rt_ext_runtime_pid(s->cfg.run_dir);
    if (ev->pid != s->runtime_pid)
        return;
    if (start)
        s->runtime_covered = true;
    else if (ev->flags & RT_EF_NOT_COVERED)
        s->runtime_covered = false;
}

static void hold_event(const struct rt_event *ev, void *arg)
{
    struct rt_ext_sealer *s = arg;
    s->ring_seen = true;
    if (is_proxy_traffic(s, ev))
        return;
    note_runtime_coverage(s, ev);
    if (ev->op == RT_OP_PROC_START && !s->runtime[0] && ev->str[0].len) {
        const char *exe = ev->str[0].ptr;
        const char *base = memrchr(exe, '/', ev->str[0].len);
        base = base ? base + 1 : exe;
        size_t len = ev->str[0].len - (size_t)(base - exe);
        if (len >= sizeof s->runtime)
            len = sizeof s->runtime - 1;
        memcpy(s->runtime, base, len);
        s->runtime[len] = '\0';
    }
    size_t limit = (s->cfg.max_events ? s->cfg.max_events : 100000) * HELD_MAX_FACTOR;
    /* over the limit only the events that matter are still held (up to twice the limit): the
     * writer then keeps them, and a flood of cheap events cannot push out a proc_exit */
    if (s->n_events >= limit && (s->n_events >= 2 * limit || !rt_event_matters(ev))) {
        pthread_mutex_lock(&s->mu);
        s->dropped_flags |= ev->flags;
        pthread_mutex_unlock(&s->mu);
        rt_ext_sealer_count(s, RT_CTR_EVENTS_DROPPED, 1);
        return;
    }
    size_t strs = 0;
    for (int i = 0; i < RT_EVENT_STRS; i++)
        strs += ev->str[i].len;
    if (s->n_events == s->cap_events) {
        size_t ncap = s->cap_events ? s->cap_events * 2 : 256;
        struct held **ne = realloc(s->events, ncap * sizeof *ne);
        if (!ne) {
            rt_ext_sealer_count(s, RT_CTR_EVENTS_DROPPED, 1);
            return;
        }
        s->events = ne;
        s->cap_events = ncap;
    }
    struct held *h = malloc(sizeof *h + strs + 1);
    if (!h) {
        rt_ext_sealer_count(s, RT_CTR_EVENTS_DROPPED, 1);
        return;
    }
    s->released += sizeof *h + strs + 1; /* freed once sealed or released */
    h->ev = *ev;
    char *d = h->data;
    for (int i = 0; i < RT_EVENT_STRS; i++) {
        if (ev->str[i].len)
            memcpy(d, ev->str[i].ptr, ev->str[i].len);
        h->ev.str[i].ptr = ev->str[i].len ? d : NULL;
        d += ev->str[i].len;
    }
    s->events[s->n_events++] = h;
}

static void drain(struct rt_ext_sealer *s)
{
    if (!s->ring)
        return;
    rt_ring_drain(s->ring, hold_event, s);
    uint64_t dropped = rt_ring_take_dropped(s->ring);
    if (dropped)
        rt_ext_sealer_count(s, RT_CTR_RING_DROPPED, dropped);
    uint64_t untracked = rt_ring_take_untracked(s->ring);
    if (untracked)
        rt_ext_sealer_count(s, RT_CTR_CONNS_UNTRACKED, untracked);
}

static int cmp_held(const void *a, const void *b)
{
    const struct held *x = *(struct held *const *)a, *y = *(struct held *const *)b;
    return rt_event_order(&x->ev, &y->ev);
}

/* ---- once per sandbox ---- */

static const char *env_or(const char *name, const char *fallback)
{
    const char *v = getenv(name);
    return v && *v ? v : fallback;
}

/* The calling thread runs only on CPU time nothing else wants: SCHED_IDLE, else (a kernel
 * without it) the given nice value. SCHED_IDLE rather than a nice value because the scheduler
 * then counts a core running only this thread as idle and puts the function's next woken
 * thread there at once (A/B in docs/deploy.md: lower p50 and p99 than nice 10). The price: a
 * function that keeps every core busy also holds back sealing; the backlog waits in the
 * bounded queue (QUEUE_MAX_BYTES of what the invocations hold, beyond it counted as
 * store_failures) and SHUTDOWN seals the rest. Linux: the policy and nice value are the thread's
 * own. */
static void background_priority(int nice_fallback)
{
    struct sched_param sp = {0};
    if (pthread_setschedparam(pthread_self(), SCHED_IDLE, &sp) != 0)
        setpriority(PRIO_PROCESS, (id_t)gettid(), nice_fallback);
}

static void *code_digest_thread(void *arg)
{
    struct rt_ext_sealer *s = arg;
    pthread_setname_np(pthread_self(), "rt-code");
    background_priority(19);
    struct rt_code code;
    rt_ext_code_digest(getenv("LAMBDA_TASK_ROOT"), s->cfg.layers_dir, &code);
    pthread_mutex_lock(&s->mu);
    s->code = code;
    s->code_done = true;
    pthread_cond_broadcast(&s->cond);
    pthread_mutex_unlock(&s->mu);
    return NULL;
}

/* The once-per-sandbox work (the CODE digest, the ENV hashes) starts with the first seal,
 * once the first invocation has answered, not when the extension starts: during a cold start
 * the cores belong to the runtime's init and the first invocation. Sealer thread only;
 * rt_ext_sealer_stop reads code_started after joining it. */
static void start_code_digest(struct rt_ext_sealer *s)
{
    if (s->code_tried)
        return;
    s->code_tried = true;
    s->code_started = pthread_create(&s->code_thread, NULL, code_digest_thread, s) == 0;
}

static void sandbox_once(struct rt_ext_sealer *s)
{
    if (!s->env && rt_ext_env_collect(environ, &s->cfg.key, &s->env, &s->n_env) != RT_OK)
        s->env = NULL;
}

/* Whether the CODE digest is ready; the first bundles wait for it a little (small task roots
 * finish in milliseconds), later ones never. */
static bool code_ready(struct rt_ext_sealer *s, int wait_ms)
{
    pthread_mutex_lock(&s->mu);
    if (!s->code_done && wait_ms > 0) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        int64_t until = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec + wait_ms * 1000000LL;
        while (!s->code_done) {
            struct timespec u = {.tv_sec = until / 1000000000, .tv_nsec = until % 1000000000};
            if (pthread_cond_timedwait(&s->cond, &s->mu, &u) != 0)
                break;
        }
    }
    bool done = s->code_done;
    pthread_mutex_unlock(&s->mu);
    return done;
}

/* The caller, where the event says who it is (API Gateway, S3, SQS): from the event as stored,
 * doc when redaction parsed it already, else parsed from its bytes. */
static char *event_caller(const struct rt_ext_invocation *inv, json_t *doc, const uint8_t *event,
                          size_t event_len)
{
    static const char *const paths[][4] = {
        {"requestContext", "identity", "userArn", NULL},
        {"requestContext", "identity", "sourceIp", NULL},
        {"requestContext", "http", "sourceIp", NULL},
        {"userIdentity", "principalId", NULL, NULL},
        {"attributes", "SenderId", NULL, NULL},
    };
    for (size_t i = 0; i < inv->n_headers; i++)
        if (!strcasecmp(inv->headers[i].name, "Lambda-Runtime-Cognito-Identity") &&
            *inv->headers[i].value)
            return strdup(inv->headers[i].value);
    json_t *root = doc ? json_incref(doc) : NULL;
    if (!root && event && event_len && event_len <= 1024 * 1024)
        root = json_loadb((const char *)event, event_len, 0, NULL);
    if (!root)
        return NULL;
    json_t *base = root;
    json_t *records = json_object_get(root, "Records");
    char *out = NULL;
    for (size_t i = 0; i < sizeof paths / sizeof *paths && !out; i++) {
        json_t *node = i >= 3 && json_is_array(records) ? json_array_get(records, 0) : base;
        for (size_t k = 0; k < 4 && paths[i][k] && node; k++)
            node = json_object_get(node, paths[i][k]);
        if (json_is_string(node) && json_string_length(node) > 0)
            out = strdup(json_string_value(node));
    }
    json_decref(root);
    return out;
}

static char *error_type_of(const uint8_t *body, size_t len)
{
    json_t *root = json_loadb((const char *)body, len, 0, NULL);
    char *out = NULL;
    if (root) {
        json_t *t = json_object_get(root, "errorType");
        if (json_is_string(t))
            out = strdup(json_string_value(t));
        json_decref(root);
    }
    return out;
}

/* ---- sealing ---- */

static void add_marker(struct rt_writer *w, int64_t ts, const char *request_id, int what,
                       const char *detail)
{
    struct rt_event ev = {.ts_ns = ts, .op = RT_OP_MARK};
    ev.str[0].ptr = request_id;
    ev.str[0].len = request_id ? strlen(request_id) : 0;
    ev.str[1].ptr = detail;
    ev.str[1].len = detail ? strlen(detail) : 0;
    ev.num[0] = what;
    rt_writer_add_event(w, &ev);
}

/* Captures and writes one payload; *kept (if not NULL) receives the stored bytes (after
 * redaction; caller frees), else they are freed. */
static void set_payload(struct rt_ext_sealer *s, struct rt_writer *w, char which,
                        const uint8_t *data, size_t len, const char *ctype, const char *etype,
                        struct rt_payload *kept, json_t **doc)
{
    struct rt_redact r = {.mode = s->cfg.payload, .paths = s->cfg.redact, .key = &s->cfg.key};
    struct rt_payload p;
    rt_ext_capture_payload_doc(&r, data ? data : (const uint8_t *)"", data ? len : 0, &p, NULL,
                               doc);
    p.content_type = (char *)ctype;
    p.error_type = (char *)etype;
    rt_writer_set_payload(w, which, &p);
    if (kept)
        *kept = p;
    else
        free(p.data);
}

static void take_counters(struct rt_ext_sealer *s, uint64_t out[RT_CTR__COUNT])
{
    pthread_mutex_lock(&s->mu);
    for (int i = 0; i < RT_CTR__COUNT; i++) {
        out[i] += s->counters[i];
        s->counters[i] = 0;
    }
    pthread_mutex_unlock(&s->mu);
}

static uint32_t take_dropped_flags(struct rt_ext_sealer *s)
{
    pthread_mutex_lock(&s->mu);
    uint32_t f = s->dropped_flags;
    s->dropped_flags = 0;
    pthread_mutex_unlock(&s->mu);
    return f;
}

static void open_store(struct rt_ext_sealer *s)
{
    if (s->store_tried)
        return;
    s->store_tried = true;
    /* 2 s per request: a bundle still reaches the spool within SHUTDOWN's budget. No fsync:
     * a sandbox's /tmp (spool, local store) does not outlive the sandbox, and two fsyncs per
     * bundle were a third of the seal's time and its worst tail. */
    struct rt_store_options so = {.spool_dir = s->cfg.spool_dir,
                                  .spool_max = s->cfg.spool_max,
                                  .timeout_ms = 2000,
                                  .sse = *s->cfg.sse ? s->cfg.sse : NULL,
                                  .no_sync = true};
    if (rt_store_open(s->cfg.store, &so, &s->store, NULL) != RT_OK) {
        s->store = NULL;
        rt_ext_sealer_count(s, RT_CTR_CONFIG_ERRORS, 1);
        return;
    }
    __atomic_store_n(&s->store_pub, s->store, __ATOMIC_SEQ_CST);
    if (__atomic_load_n(&s->spool_first, __ATOMIC_SEQ_CST))
        rt_store_interrupt(s->store, true);
}

/* Flags that make an invocation worth keeping whatever RUNTRAIL_SAMPLE says. */
#define SUSPICIOUS_FLAGS                                                                           \
    (RT_EF_ENVIRON_READ | RT_EF_MEM_READ | RT_EF_EXEC_TMP | RT_EF_EXEC_MEMFD | RT_EF_LISTENING |   \
     RT_EF_NOT_COVERED | RT_EF_PRIVILEGE | RT_EF_PARTLY_COVERED)

/* RUNTRAIL_SAMPLE: keeps a cold start (it carries the sandbox's first ENV/CODE), every
 * invocation that did not end ok or showed a suspicious flag, and a `sample` fraction of the
 * rest. The draw needs no secrecy: a per-sandbox xorshift seeded at start. */
static bool keep_invocation(struct rt_ext_sealer *s, const struct rt_ext_invocation *inv,
                            uint32_t flags)
{
    if (s->cfg.sample >= 1.0 || inv->cold_start || inv->status != RT_STATUS_OK ||
        (flags & SUSPICIOUS_FLAGS))
        return true;
    s->rng ^= s->rng << 13;
    s->rng ^= s->rng >> 7;
    s->rng ^= s->rng << 17;
    return (double)(s->rng >> 11) / 9007199254740992.0 < s->cfg.sample;
}

/* Frees the first n held events (sorted, already sealed or left out) and keeps the rest. */
static void release_held(struct rt_ext_sealer *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(s->events[i]);
    if (n > 0 && n < s->n_events)
        memmove(s->events, s->events + n, (s->n_events - n) * sizeof *s->events);
    s->n_events -= n;
}

/* Whether the runtime runs without the interposer: the wrapper started it (its pid file) and
 * no record says the interposer is in its current image. */
static bool runtime_uncovered(struct rt_ext_sealer *s)
{
    if (!s->runtime_pid)
        s->runtime_pid = rt_ext_runtime_pid(s->cfg.run_dir);
    return s->runtime_pid > 0 && !s->runtime_covered;
}

/* Everything a seal needs before it cuts: the ring drained, the connections the function
 * still holds summarised as they were when the invocation ended (its cut, taken by the proxy
 * when the runtime's result arrives, else by rt_ext_sealer_submit: a keep-alive connection's bytes
 * and request line up to then, timed by the start of their period, so they land in the bundle of
 * the invocation that used them even when this seal runs late, during the next one; without a cut,
 * as they are now; the shutdown bundle's final drain covers the rest), the execs of the invocation
 * still waiting for news of their outcome released (a static helper never sends any: its exec
 * belongs to the invocation whose window holds it, not to whichever bundle is sealed when the wait
 * ends), the once-per-sandbox work started, the store opened. */
static void prepare_seal(struct rt_ext_sealer *s, const struct rt_ext_invocation *inv)
{
    start_code_digest(s);
    if (s->ring && inv->conn_cut)
        rt_ring_set_cut(s->ring, inv->conn_cut);
    drain(s);
    if (s->ring && !inv->shutdown) {
        if (inv->conn_cut)
            rt_ring_settle_cut(s->ring, hold_event, s);
        else
            rt_ring_snapshot_conns(s->ring, hold_event, s);
        rt_ring_release_execs(s->ring, inv->end_mono_ns, hold_event, s);
    }
    sandbox_once(s);
    open_store(s);
}

/* Sorts the held events by time (ties keep ring order) and returns how many belong to a bundle
 * ending at end (inside its window, or before it and flagged outside); *flags receives the
 * union of their flags. */
static size_t held_until(struct rt_ext_sealer *s, int64_t end, uint32_t *flags)
{
    rt_sort_stable(s->events, s->n_events, sizeof *s->events, cmp_held);
    size_t upto = 0;
    *flags = 0;
    while (upto < s->n_events && s->events[upto]->ev.ts_ns <= end)
        *flags |= s->events[upto++]->ev.flags;
    return upto;
}

/* Writes the first upto held events, rebased to the invocation's start, with the invocation's
 * markers; events before the start are flagged outside. Returns how many were. */
static uint64_t write_events(struct rt_ext_sealer *s, struct rt_writer *w,
                             const struct rt_ext_invocation *inv, size_t upto)
{
    int64_t start = inv->start_mono_ns;
    int first_mark = inv->init_error ? RT_MARK_INIT : RT_MARK_INVOKE_START;
    uint64_t outside = 0;
    bool started = false;
    for (size_t i = 0; i < upto; i++) {
        struct rt_event ev = s->events[i]->ev;
        if (ev.ts_ns < start) {
            ev.flags |= RT_EF_OUTSIDE;
            outside++;
        } else if (!started) {
            add_marker(w, 0, inv->request_id, first_mark, NULL);
            started = true;
        }
        ev.ts_ns -= start;
        rt_ext_redact_event(&s->cfg.key, s->cfg.redact, &ev, &s->redact_scratch,
                            &s->redact_scratch_cap);
        rt_writer_add_event(w, &ev);
    }
    if (inv->shutdown)
        add_marker(w, 0, inv->request_id, RT_MARK_SHUTDOWN, "shutdown");
    else if (!started)
        add_marker(w, 0, inv->request_id, first_mark, NULL);
    if (!inv->shutdown)
        add_marker(w, inv->end_mono_ns - start, inv->request_id,
                   inv->status == RT_STATUS_OK ? RT_MARK_RESPONSE : RT_MARK_ERROR,
                   rt_status_name(inv->status));
    return outside;
}

/* The value of the invocation/next header name ("Lambda-Runtime-..."), or NULL. */
static const char *inv_header(const struct rt_ext_invocation *inv, const char *name)
{
    for (size_t i = 0; i < inv->n_headers; i++)
        if (!strcasecmp(inv->headers[i].name, name))
            return inv->headers[i].value;
    return NULL;
}

/* Strings META borrows that the seal owns: freed by free_meta_strings. */
struct meta_strings {
    char *caller;      /* from the event as stored */
    char *parsed_type; /* the error type read from the error body */
};

static void free_meta_strings(struct meta_strings *ms)
{
    free(ms->caller);
    free(ms->parsed_type);
}

/* Fills *m for the invocation; counters and coverage included. Writes the EVENT payload
 * (the caller is read from it as stored, so redaction applies to it too). */
static void fill_meta(struct rt_ext_sealer *s, struct rt_writer *w,
                      const struct rt_ext_invocation *inv, uint64_t outside, struct rt_meta *m,
                      struct meta_strings *ms)
{
    memset(m, 0, sizeof *m);
    struct rt_payload ev_kept = {0};
    json_t *ev_doc = NULL; /* the event as stored, when redaction parsed it */
    if (!inv->init_error && !inv->shutdown)
        set_payload(s, w, 'E', inv->event, inv->event_len, inv->event_type, NULL, &ev_kept,
                    &ev_doc);
    ms->caller = event_caller(inv, ev_doc, ev_kept.data, ev_kept.len);
    json_decref(ev_doc);
    free(ev_kept.data);
    ms->parsed_type = NULL;
    if (!inv->error_type && inv->is_error && inv->stream_error)
        ms->parsed_type = error_type_of(inv->stream_error, inv->stream_error_len);
    else if (!inv->error_type && inv->is_error && inv->result)
        ms->parsed_type = error_type_of(inv->result, inv->result_len);
    int64_t start = inv->start_mono_ns, end = inv->end_mono_ns;
    m->function = (char *)env_or("AWS_LAMBDA_FUNCTION_NAME", "unknown");
    m->function_version = (char *)env_or("AWS_LAMBDA_FUNCTION_VERSION", NULL);
    m->function_arn = (char *)inv_header(inv, "Lambda-Runtime-Invoked-Function-Arn");
    m->region = (char *)env_or("AWS_REGION", env_or("AWS_DEFAULT_REGION", NULL));
    m->runtime = (char *)env_or("AWS_EXECUTION_ENV", s->runtime[0] ? s->runtime : "unknown");
    m->handler = (char *)env_or("_HANDLER", NULL);
    m->request_id = inv->request_id;
    m->trace_id = (char *)inv_header(inv, "Lambda-Runtime-Trace-Id");
    m->caller = ms->caller;
    m->sandbox_id = s->sandbox_id;
    m->hash_key_id = (char *)rt_ext_hash_key_id(&s->cfg.key);
    m->replay_of = (char *)env_or("RUNTRAIL_REPLAY_OF", NULL); /* set by `runtrail replay` */
    m->access_key_id = (char *)rt_ext_own_key_id(NULL);
    m->recorder_version = RT_VERSION;
    m->arch = RT_HOST_ARCH;
    m->error_type = inv->status == RT_STATUS_OK ? NULL
                    : inv->error_type           ? inv->error_type
                                                : ms->parsed_type;
    m->memory_mb = (uint32_t)strtoul(env_or("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "0"), NULL, 10);
    m->start_wall_ns = inv->start_wall_ns;
    m->end_wall_ns = inv->end_wall_ns;
    m->duration_ns = end > start ? (uint64_t)(end - start) : 0;
    m->deadline_wall_ns = inv->deadline_wall_ns;
    m->cold_start = inv->cold_start;
    m->status = inv->status;
    m->seq = s->seq;
    m->has_prev = s->has_prev;
    memcpy(m->prev_digest, s->prev_digest, RT_DIGEST_LEN);
    m->chain_end = inv->shutdown ? RT_CHAIN_END_LAST : RT_CHAIN_END_MORE;
    /* The interposer counts as present once it has written to the ring (a static or
     * unwrapped runtime never does). */
    m->coverage = RT_COV_PROXY | (s->ring && s->ring_seen ? RT_COV_PRELOAD : 0);
    if (runtime_uncovered(s)) {
        m->coverage |= RT_COV_PARTIAL;
        m->counters[RT_CTR_RUNTIME_UNCOVERED] = 1;
    }
    if (s->store)
        rt_store_take_counters(s->store, m->counters);
    take_counters(s, m->counters);
    m->dropped_flags = take_dropped_flags(s);
    /* What the extension's threads used since the last bundle (since exec, for the first):
     * this invocation's proxying and draining, the previous bundle's seal and store. */
    int64_t cpu = rt_clock_process_cpu_ns();
    if (cpu > s->cpu_at_meta_ns) {
        m->recorder_cpu_ns = (uint64_t)(cpu - s->cpu_at_meta_ns);
        s->cpu_at_meta_ns = cpu;
    }
    m->counters[RT_CTR_OUTSIDE_EVENTS] += outside;
}

/* ENV and CODE (once per sandbox, in every bundle), the invocation's headers, and the
 * response or error payloads. */
static void write_context(struct rt_ext_sealer *s, struct rt_writer *w,
                          const struct rt_ext_invocation *inv, const struct rt_meta *m)
{
    for (size_t i = 0; s->env && i < s->n_env; i++)
        rt_writer_add_env(w, &s->env[i]);
    if (code_ready(s, s->seq == 0 ? 200 : 0))
        rt_writer_set_code(w, &s->code);
    for (size_t i = 0; i < inv->n_headers; i++)
        rt_writer_add_header(w, inv->headers[i].name, inv->headers[i].value);
    if (inv->result && inv->stream_error) {
        /* A streamed response that failed midway: what was streamed, then the error. */
        set_payload(s, w, 'R', inv->result, inv->result_len, inv->result_type, NULL, NULL, NULL);
        set_payload(s, w, 'X', inv->stream_error, inv->stream_error_len, "application/json",
                    m->error_type, NULL, NULL);
    } else if (inv->result) {
        set_payload(s, w, inv->is_error ? 'X' : 'R', inv->result, inv->result_len, inv->result_type,
                    inv->is_error ? m->error_type : NULL, NULL, NULL);
    }
}

/* A bundle the store did not take: said on stderr (Lambda's logs) with the store's own words
 * (libcurl's, S3's error code), once until a put succeeds again, so that an outage is one line
 * and not one per invocation; the bundles wait in the spool meanwhile (store_failures in the
 * next bundle's META counts them). */
static void store_failed(struct rt_ext_sealer *s, int rc, const struct rt_errinfo *ei)
{
    if (s->store_said)
        return;
    s->store_said = true;
    char msg[512];
    rt_errinfo_format(rc, ei, msg, sizeof msg);
    flockfile(stderr); /* one line, whatever another thread writes */
    fputs("runtrail-extension: store: ", stderr);
    rt_escape_fputs(stderr, msg, strlen(msg), 0);
    fputs(" (said once until the store takes a bundle again)\n", stderr);
    funlockfile(stderr);
}

/* A put or a spooled bundle's delivery succeeded: where an outage was said, its end is too. */
static void store_back(struct rt_ext_sealer *s)
{
    if (s->store_said)
        fputs("runtrail-extension: store: the store takes bundles again\n", stderr);
    s->store_said = false;
}

/* What a spool flush returned (delivered, or a negative RT_ERR_*), said as a put's would be;
 * a failure only when say_failure (not a flush that SHUTDOWN cut short on purpose). */
static void spool_flushed(struct rt_ext_sealer *s, int n, const struct rt_errinfo *ei,
                          bool say_failure)
{
    if (n > 0)
        store_back(s);
    else if (n < 0 && say_failure)
        store_failed(s, -n, ei);
}

/* Finishes the bundle, advances the chain (even when the store fails: a lost bundle shows as
 * a gap) and stores it, spooling on failure. */
static void finish_and_store(struct rt_ext_sealer *s, struct rt_writer *w, const struct rt_meta *m)
{
    uint8_t *data = NULL;
    size_t len = 0;
    uint8_t digest[RT_DIGEST_LEN];
    int rc = rt_writer_finish(w, 0, &data, &len, digest);
    if (rc != RT_OK) {
        rt_ext_sealer_count(s, RT_CTR_STORE_FAILURES, 1);
        return;
    }
    s->seq++;
    s->has_prev = true;
    memcpy(s->prev_digest, digest, RT_DIGEST_LEN);
    if (!s->store) {
        rt_ext_sealer_count(s, RT_CTR_STORE_FAILURES, 1);
    } else {
        struct rt_errinfo ei;
        rc = rt_store_put_bundle(s->store, m, data, len, NULL, 0, &ei);
        if (rc == RT_OK) {
            s->stored++;
            s->flush_due = s->spool_pending; /* the store is back: run() flushes the spool */
            store_back(s);
        } else {
            s->spool_pending = true;
            /* (not a put that SHUTDOWN cut short on purpose: the flush after says) */
            if (!__atomic_load_n(&s->spool_first, __ATOMIC_SEQ_CST))
                store_failed(s, rc, &ei);
        }
    }
    s->released += len;
    free(data);
    pthread_mutex_lock(&s->mu);
    s->sealed++;
    pthread_mutex_unlock(&s->mu);
}

/* Turns one finished invocation into a bundle: the events up to its end, META, the sandbox's
 * ENV/CODE, its headers and payloads; or counts it as sampled out. */
__attribute__((weak)) bool rt_ext_seal_libs_ready(void)
{
    return true;
}

static void seal(struct rt_ext_sealer *s, struct rt_ext_invocation *inv)
{
    prepare_seal(s, inv);
    uint32_t seen_flags;
    size_t upto = held_until(s, inv->end_mono_ns, &seen_flags);
    if (!keep_invocation(s, inv, seen_flags)) {
        /* Not kept: nothing is encoded or sealed and the chain does not advance, so verify
         * sees no gap; the next kept bundle says how many were left out. */
        release_held(s, upto);
        rt_ext_sealer_count(s, RT_CTR_LOG_BYTES_DROPPED,
                            rt_ext_logs_write(s->logs, NULL, inv->start_mono_ns));
        rt_ext_sealer_count(s, RT_CTR_SAMPLED_OUT, 1);
        return;
    }
    if (!rt_ext_seal_libs_ready()) { /* said once on stderr: no digest, no bundle */
        release_held(s, upto);
        rt_ext_sealer_count(s, RT_CTR_STORE_FAILURES, 1);
        return;
    }
    struct rt_limits lim = {.max_events = s->cfg.max_events, .max_payload = s->cfg.max_payload};
    struct rt_writer *w = rt_writer_new(&lim);
    if (!w) { /* the events stay held: the next bundle carries them */
        rt_ext_sealer_count(s, RT_CTR_STORE_FAILURES, 1);
        return;
    }
    uint64_t outside = write_events(s, w, inv, upto);
    release_held(s, upto);
    /* LOGS: the function's lines until the next invocation's start (telemetry.c); what the
     * bound dropped is counted in META */
    rt_ext_sealer_count(s, RT_CTR_LOG_BYTES_DROPPED,
                        rt_ext_logs_write(s->logs, w, inv->start_mono_ns));
    struct rt_meta m;
    struct meta_strings ms;
    fill_meta(s, w, inv, outside, &m, &ms);
    if (seen_flags & RT_EF_SAMPLED) /* a process only /proc sampling saw: a coarse view */
        m.coverage |= RT_COV_PARTIAL;
    rt_writer_set_meta(w, &m);
    write_context(s, w, inv, &m);
    finish_and_store(s, w, &m);
    rt_writer_free(w);
    free_meta_strings(&ms);
}

/* The invocation request_id has been dealt with: wake rt_ext_sealer_wait_done. Caller holds
 * mu. */
static void mark_done_locked(struct rt_ext_sealer *s, const char *request_id)
{
    snprintf(s->done_id, sizeof s->done_id, "%s", request_id ? request_id : "");
    pthread_cond_broadcast(&s->done_cond);
}

/* ---- the thread ---- */

/* The next waiting invocation, and in *bytes (when not NULL) what it holds (held_bytes). */
static struct rt_ext_invocation *pop(struct rt_ext_sealer *s, size_t *bytes)
{
    struct queued *q = s->head;
    if (!q)
        return NULL;
    s->head = q->next;
    if (!s->head)
        s->tail = NULL;
    struct rt_ext_invocation *inv = q->inv;
    s->queued_bytes -= q->bytes;
    if (bytes)
        *bytes = q->bytes;
    free(q);
    return inv;
}

/* Whether held events show activity of their own: anything but the runtime's bookkeeping
 * between invocations (a socket() and the lookup of the numeric Runtime API address before its
 * next /invocation/next; the connection itself is proxy traffic, never held) and processes
 * exiting at shutdown. */
static bool held_activity(const struct rt_ext_sealer *s)
{
    for (size_t i = 0; i < s->n_events; i++) {
        const struct rt_event *ev = &s->events[i]->ev;
        if (ev->op == RT_OP_SOCKET || ev->op == RT_OP_PROC_EXIT)
            continue;
        if (ev->op == RT_OP_DNS && ev->str[0].len &&
            strspn(ev->str[0].ptr, "0123456789.:") >= ev->str[0].len)
            continue;
        return true;
    }
    return false;
}

/* At SHUTDOWN: one last bundle is always sealed, request id "shutdown", status unknown, META
 * chain_end = last, so that verify can tell a closed chain from one whose last bundle was
 * removed. It holds what happened after the last invocation (a background thread or child
 * still at work after the response), every event flagged outside_invocation, times relative
 * to the shutdown; when nothing but bookkeeping is held it is a META and a shutdown marker. */
static void seal_after_last(struct rt_ext_sealer *s)
{
    if (s->ring)
        rt_ring_drain_final(s->ring, 50, hold_event, s);
    if (!held_activity(s))
        release_held(s, s->n_events);
    struct rt_ext_invocation *inv = calloc(1, sizeof *inv);
    if (!inv || !(inv->request_id = strdup("shutdown"))) {
        free(inv);
        return;
    }
    inv->shutdown = true;
    inv->status = RT_STATUS_UNKNOWN;
    /* One past now: every held event is before the start (flagged) and before the end (kept). */
    inv->start_mono_ns = inv->end_mono_ns = rt_ext_now_mono_ns() + 1;
    inv->start_wall_ns = inv->end_wall_ns = rt_ext_now_wall_ns();
    seal(s, inv);
    rt_ext_invocation_free(inv);
}

/* Nothing left to seal: the payloads, events and buffers of the bundles just stored are free,
 * but glibc keeps freed pages resident (a chunk still in use above them stops it trimming),
 * and Lambda counts them against the function's memory. Once more than TRIM_FREE_MIN is free,
 * give it back: after the response, before the invocation is marked done, so inside the
 * event/next hold, where Lambda sends no next invocation whose allocations would wait for
 * the arena locks the trim takes. Below that bound, trimming after every invocation would
 * only make the next one fault the same pages in again. Asking the heap costs too: mallinfo2
 * walks every free chunk of every arena under its lock, 30-60 us per seal once libcurl has
 * fragmented them (an S3 store), 3 us without; so it is asked only when the queue empties
 * after a backlog (invocations waiting behind one another, as they never do while Lambda
 * waits for the hold) or once the sealer has let go of TRIM_FREE_MIN bytes since it last
 * asked, which a large invocation does at once and small ones every few hundred. Caller
 * holds mu. */
static void return_free_memory(struct rt_ext_sealer *s)
{
    if (s->released < TRIM_FREE_MIN && !s->backlog)
        return;
    s->released = 0;
    s->backlog = false;
    pthread_mutex_unlock(&s->mu);
    if (mallinfo2().fordblks > TRIM_FREE_MIN)
        malloc_trim(0);
    pthread_mutex_lock(&s->mu);
}

static void *run(void *arg)
{
    struct rt_ext_sealer *s = arg;
    pthread_setname_np(pthread_self(), "rt-seal");
    /* Below the proxy's threads and the function: sealing can wait, responses cannot. */
    background_priority(10);
    /* The ring's page cache, before the runtime starts writing to it. This thread starts
     * after register, so the filling runs beside the runtime's start (its loader runs for a
     * millisecond or more before the interposer writes a record): not in the ring's creation,
     * on the cold start's path, and not during the register round trip either, where filling
     * 2.6 MB of page cache, even at idle priority, doubled it (docs/deploy.md). */
    rt_ring_populate(s->ring);
    pthread_mutex_lock(&s->mu);
    for (;;) {
        struct rt_ext_invocation *inv;
        size_t held = 0;
        while ((inv = pop(s, &held)) != NULL) {
            if (s->head)
                s->backlog = true;
            pthread_mutex_unlock(&s->mu);
            seal(s, inv);
            s->released += held;
            char done_id[sizeof s->done_id];
            snprintf(done_id, sizeof done_id, "%s", inv->request_id ? inv->request_id : "");
            rt_ext_invocation_free(inv);
            pthread_mutex_lock(&s->mu);
            if (!s->head && !s->stopping)
                return_free_memory(s);
            mark_done_locked(s, done_id);
        }
        if (s->stopping)
            break;
        if (s->flush_due) {
            /* After the invocations are done (each hold ends with its own bundle), in slices
             * with the queue looked at in between: a long outage's spool does not hold the next
             * seals. */
            pthread_mutex_unlock(&s->mu);
            bool more = false;
            struct rt_errinfo ei;
            int n = rt_store_flush_spool_for(s->store, FLUSH_SLICE_MS, &more, &ei);
            spool_flushed(s, n, &ei, !__atomic_load_n(&s->spool_first, __ATOMIC_SEQ_CST));
            s->spool_pending = n < 0 || more;
            s->flush_due = n >= 0 && more;
            drain(s); /* the ring waited for that slice */
            pthread_mutex_lock(&s->mu);
            continue;
        }
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        uint64_t period_ms = s->cfg.drain_ms ? s->cfg.drain_ms : DRAIN_PERIOD_MS;
        if (period_ms > 3600000)
            period_ms = 3600000;
        uint64_t nsec = (uint64_t)ts.tv_nsec + period_ms * 1000000ull;
        ts.tv_sec += (time_t)(nsec / 1000000000ull);
        ts.tv_nsec = (long)(nsec % 1000000000ull);
        pthread_cond_timedwait(&s->cond, &s->mu, &ts);
        if (!s->head && !s->stopping) {
            pthread_mutex_unlock(&s->mu);
            drain(s);
            pthread_mutex_lock(&s->mu);
        }
    }
    pthread_mutex_unlock(&s->mu);
    seal_after_last(s);
    /* Every bundle is in the store or the spool: now the network may take the time left. */
    if (s->store && s->spool_pending) {
        rt_store_interrupt(s->store, false);
        struct rt_errinfo ei;
        spool_flushed(s, rt_store_flush_spool(s->store, &ei), &ei, true);
    }
    return NULL;
}

int rt_ext_sealer_new(const struct rt_ext_sealer_options *o, struct rt_ext_sealer **out)
{
    struct rt_ext_sealer *s = calloc(1, sizeof *s);
    if (!s)
        return RT_ERR_NOMEM;
    s->cfg = *o->cfg;
    s->ring = o->ring;
    s->logs = o->logs;
    snprintf(s->sandbox_id, sizeof s->sandbox_id, "%s", o->sandbox_id);
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    s->rng = ((uint64_t)now.tv_nsec << 20) ^ (uint64_t)now.tv_sec ^ ((uint64_t)getpid() << 40) ^
             0x9e3779b97f4a7c15ull; /* never 0 */
    snprintf(s->proxy_addr, sizeof s->proxy_addr, "%s", o->proxy_addr ? o->proxy_addr : "");
    memcpy(s->counters, o->initial_counters, sizeof s->counters);
    pthread_mutex_init(&s->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&s->cond, &ca);
    pthread_cond_init(&s->done_cond, &ca);
    pthread_condattr_destroy(&ca);
    *out = s;
    return RT_OK;
}

void rt_ext_sealer_registered(struct rt_ext_sealer *s)
{
    if (!s || s->started || s->dead)
        return;
    s->started = pthread_create(&s->thread, NULL, run, s) == 0;
    if (!s->started) {
        /* Nothing will seal: what was handed over and what will be is dropped, and the
         * holds waiting for it are let go. */
        pthread_mutex_lock(&s->mu);
        s->dead = true;
        while (s->head) {
            struct rt_ext_invocation *inv = pop(s, NULL);
            mark_done_locked(s, inv->request_id);
            rt_ext_invocation_free(inv);
        }
        pthread_mutex_unlock(&s->mu);
    }
}

struct rt_ring_cut *rt_ext_sealer_cut(struct rt_ext_sealer *s)
{
    return s && s->ring ? rt_ring_cut_conns(s->ring) : NULL;
}

void rt_ext_sealer_began(struct rt_ext_sealer *s, int64_t start_mono_ns)
{
    if (s)
        rt_ext_logs_mark(s->logs, start_mono_ns);
}

static size_t str_bytes(const char *str)
{
    return str ? strlen(str) + 1 : 0;
}

/* What an invocation waiting in the queue holds: its payloads, and its headers, strings and
 * copy of the connection table (a function with many connections open: 1.1 KB each, per
 * invocation), so that the queue's bound is one on memory (malloc's own overhead aside). */
static size_t held_bytes(const struct rt_ext_invocation *inv)
{
    size_t n = sizeof(struct queued) + sizeof *inv + inv->event_len + inv->result_len +
               inv->stream_error_len + str_bytes(inv->request_id) + str_bytes(inv->event_type) +
               str_bytes(inv->result_type) + str_bytes(inv->error_type) +
               rt_ring_cut_bytes(inv->conn_cut);
    for (size_t i = 0; i < inv->n_headers; i++)
        n += sizeof inv->headers[i] + str_bytes(inv->headers[i].name) +
             str_bytes(inv->headers[i].value);
    return n;
}

void rt_ext_sealer_submit(struct rt_ext_sealer *s, struct rt_ext_invocation *inv)
{
    /* An invocation ended without a result (timeout, crash, SHUTDOWN): it ends here. What the
     * connections the function keeps open did so far is its own, whenever the idle-only
     * sealer gets to it. */
    if (s->ring && !inv->shutdown && !inv->conn_cut)
        inv->conn_cut = rt_ring_cut_conns(s->ring);
    struct queued *q = malloc(sizeof *q);
    if (!q) {
        rt_ext_invocation_free(inv);
        rt_ext_sealer_count(s, RT_CTR_EVENTS_DROPPED, 1);
        return;
    }
    q->inv = inv;
    q->bytes = held_bytes(inv);
    q->next = NULL;
    pthread_mutex_lock(&s->mu);
    snprintf(s->submitted_id, sizeof s->submitted_id, "%s", inv->request_id ? inv->request_id : "");
    s->submitted_ns = rt_ext_now_mono_ns();
    pthread_cond_broadcast(&s->done_cond); /* a hold waiting for it starts its seal's bound */
    size_t bytes = q->bytes;
    if (s->dead || (s->head && s->queued_bytes + bytes > QUEUE_MAX_BYTES)) {
        /* The sealer is far behind (a burst of invocations on a slow sandbox or behind a slow
         * store), or its thread never started: bound the memory the recorder takes from the
         * function; the loss is counted. */
        s->counters[RT_CTR_STORE_FAILURES]++;
        mark_done_locked(s, inv->request_id);
        pthread_mutex_unlock(&s->mu);
        free(q);
        rt_ext_invocation_free(inv);
        return;
    }
    s->queued_bytes += bytes;
    if (s->tail)
        s->tail->next = q;
    else
        s->head = q;
    s->tail = q;
    pthread_cond_signal(&s->cond);
    pthread_mutex_unlock(&s->mu);
}

void rt_ext_sealer_count(struct rt_ext_sealer *s, enum rt_counter c, uint64_t n)
{
    if ((unsigned)c >= RT_CTR__COUNT)
        return;
    pthread_mutex_lock(&s->mu);
    s->counters[c] += n;
    pthread_mutex_unlock(&s->mu);
}

uint64_t rt_ext_sealer_sealed(struct rt_ext_sealer *s)
{
    pthread_mutex_lock(&s->mu);
    uint64_t n = s->sealed;
    pthread_mutex_unlock(&s->mu);
    return n;
}

int rt_ext_sealer_wait_done(struct rt_ext_sealer *s, const char *request_id,
                            int64_t deadline_mono_ns, int64_t *submitted_ns)
{
    struct timespec until = {.tv_sec = deadline_mono_ns / 1000000000,
                             .tv_nsec = deadline_mono_ns % 1000000000};
    pthread_mutex_lock(&s->mu);
    bool was_submitted = !strcmp(s->submitted_id, request_id);
    int done;
    while (!(done = !strcmp(s->done_id, request_id)) &&
           (was_submitted || strcmp(s->submitted_id, request_id)) &&
           pthread_cond_timedwait(&s->done_cond, &s->mu, &until) == 0) {
    }
    if (!done)
        done = !strcmp(s->done_id, request_id);
    *submitted_ns = !strcmp(s->submitted_id, request_id) ? s->submitted_ns : 0;
    pthread_mutex_unlock(&s->mu);
    return done;
}

int rt_ext_sealer_stop(struct rt_ext_sealer *s, int64_t deadline_mono_ns)
{
    /* SHUTDOWN: the function has answered, the rest is sealed at normal priority where the
     * kernel lets this process raise it again (root; RLIMIT_NICE otherwise), else on idle CPU. */
    struct sched_param sp = {0};
    if (s->started)
        pthread_setschedparam(s->thread, SCHED_OTHER, &sp);
    /* A put still retrying a dead or slow store would hold the last invocations' seals past
     * the deadline, and the process would exit with them in memory: it ends now, its bundle
     * is spooled, and so are the later ones until the flush. Before `stopping`: the sealer
     * turns this off for its final flush once it has seen `stopping`, never before. */
    __atomic_store_n(&s->spool_first, 1, __ATOMIC_SEQ_CST);
    struct rt_store *st = __atomic_load_n(&s->store_pub, __ATOMIC_SEQ_CST);
    if (st)
        rt_store_interrupt(st, true);
    pthread_mutex_lock(&s->mu);
    s->stopping = true;
    pthread_cond_signal(&s->cond);
    pthread_mutex_unlock(&s->mu);
    struct timespec rt;
    clock_gettime(CLOCK_REALTIME, &rt);
    int64_t left = deadline_mono_ns - rt_ext_now_mono_ns();
    if (left < 0)
        left = 0;
    int64_t abs_ns = (int64_t)rt.tv_sec * 1000000000 + rt.tv_nsec + left;
    struct timespec until = {.tv_sec = abs_ns / 1000000000, .tv_nsec = abs_ns % 1000000000};
    if (s->started && pthread_timedjoin_np(s->thread, NULL, &until) != 0)
        return -1; /* still sealing: the process exits anyway, the spool keeps the rest */
    int stored = s->stored;
    if (s->code_started && !code_ready(s, 0))
        return stored; /* the digest thread still reads s: leave it all to process exit */
    if (s->code_started)
        pthread_join(s->code_thread, NULL);
    while (s->head)
        rt_ext_invocation_free(pop(s, NULL));
    for (size_t i = 0; i < s->n_events; i++)
        free(s->events[i]);
    free(s->events);
    if (s->store)
        rt_store_close(s->store);
    rt_ext_env_free(s->env, s->n_env);
    free(s->code.task_root_path);
    free(s->redact_scratch);
    pthread_cond_destroy(&s->done_cond);
    pthread_cond_destroy(&s->cond);
    pthread_mutex_destroy(&s->mu);
    free(s);
    return stored;
}

pid_t rt_ext_runtime_pid(const char *run_dir)
{
    /* The last pid read, per folder: a function that clears /tmp removes the file, and the
     * runtime it named runs on (the /proc sampler and the hold still need it). While that
     * runtime lives, a different pid in the file is not believed: the function can write
     * there, and a pid of its choosing would point the /proc sampler away from the processes
     * it starts. A runtime that is gone (restarted by the emulator) lets the file speak again. */
    static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
    static char last_dir[4096];
    static pid_t last_pid;
    char path[4200], text[32];
    snprintf(path, sizeof path, "%s/runtime.pid", run_dir);
    pid_t pid = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    bool gone = fd < 0 && errno == ENOENT;
    if (fd >= 0) {
        ssize_t n = read(fd, text, sizeof text - 1);
        close(fd);
        if (n > 0) {
            text[n] = '\0';
            long v = strtol(text, NULL, 10);
            pid = v > 1 && v < INT_MAX ? (pid_t)v : 0;
        }
    }
    pthread_mutex_lock(&mu);
    bool same = strcmp(last_dir, run_dir) == 0;
    if (pid > 0 && same && last_pid > 0 && pid != last_pid &&
        (kill(last_pid, 0) == 0 || errno == EPERM)) {
        pid = last_pid;
    } else if (pid > 0) {
        snprintf(last_dir, sizeof last_dir, "%s", run_dir);
        last_pid = pid;
    } else if (gone && same) {
        pid = last_pid;
    }
    pthread_mutex_unlock(&mu);
    return pid;
}
