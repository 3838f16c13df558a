/* `runtrail export --format perfetto`: the Chrome trace-event JSON format ("JSON Object
 * Format": {"traceEvents": [...]}) that ui.perfetto.dev and chrome://tracing open. Each
 * invocation gets a process of its own (named "FUNCTION REQUEST_ID") holding the invocation
 * as one complete ("X") slice that encloses all its events, and its markers (invoke_start,
 * response, ...) as instant ("i") events; each recorded process gets a process named by its
 * exe, with its calls as complete slices on their thread, its connections (outbound,
 * inbound summaries) as slices spanning their lifetime on "connections" lanes (a lane per
 * overlap, since slices on one track must nest), log lines and flags as instant events.
 * Pids in the trace are numbers given in order of appearance (real pids repeat across
 * sandboxes; the real one is in the process name), so several invocations lie side by side.
 * Timestamps are microseconds since the UTC midnight before the first invocation exported
 * (otherData.ts_base); durations are microseconds. Every string is built with jansson and
 * emitted ASCII-only; captured bytes that are not UTF-8 appear in their escaped form. */
#include "export/export.h"

#include "formats/bundle.h"
#include "formats/render.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define JSON_FLAGS                                                                                 \
    (JSON_COMPACT | JSON_ENSURE_ASCII | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(16))
#define INVOCATION_TID 1
#define LANE_TID 100000000 /* tids of the connection lanes: above any real tid (pid_max 2^22) */
/* Flags that say how an event was attributed, not that it deserves a look. */
#define BOOKKEEPING_FLAGS (RT_EF_OUTSIDE | RT_EF_CREATE | RT_EF_STILL_OPEN)

struct proc {
    int32_t real_pid;
    int pid;   /* in the trace */
    char *exe; /* the last exe or exec'd path seen */
    int64_t *lane_end;
    size_t n_lanes;
};

struct rt_perfetto {
    rt_export_write_fn write;
    void *arg;
    bool started, any;
    int next_pid;
    int64_t base_ns;
    struct proc *procs;
    size_t n_procs, cap_procs;
    struct rt_buf line;
};

struct rt_perfetto *rt_perfetto_new(rt_export_write_fn write, void *arg)
{
    struct rt_perfetto *p = calloc(1, sizeof *p);
    if (p) {
        p->write = write;
        p->arg = arg;
        p->next_pid = 1;
    }
    return p;
}

static int dump_cb(const char *buf, size_t size, void *data)
{
    return rt_buf_append(data, buf, size) == RT_OK ? 0 : -1;
}

/* Writes one trace event (consumed). */
static int emit(struct rt_perfetto *p, json_t *ev)
{
    rt_buf_reset(&p->line);
    if (p->any)
        rt_buf_append(&p->line, ",\n", 2);
    int bad = !ev || json_dump_callback(ev, dump_cb, &p->line, JSON_FLAGS) != 0;
    json_decref(ev);
    if (bad || p->line.failed)
        return RT_ERR_NOMEM;
    p->any = true;
    return p->write(p->line.data, p->line.len, p->arg);
}

static double us(const struct rt_perfetto *p, int64_t wall_ns)
{
    return (double)(wall_ns - p->base_ns) / 1000.0;
}

static json_t *trace_event(const char *ph, const char *name, const char *cat, int pid, int64_t tid)
{
    json_t *e = json_object();
    json_object_set_new(e, "ph", json_string(ph));
    json_object_set_new(e, "name", rt_json_bytes(name, strlen(name)));
    if (cat)
        json_object_set_new(e, "cat", json_string(cat));
    json_object_set_new(e, "pid", json_integer(pid));
    json_object_set_new(e, "tid", json_integer(tid));
    return e;
}

/* A metadata ("M") event: process_name, thread_name, process_sort_index, process_labels. */
static int meta(struct rt_perfetto *p, const char *what, int pid, int64_t tid, const char *key,
                json_t *value)
{
    json_t *e = trace_event("M", what, NULL, pid, tid);
    json_t *args = json_object();
    json_object_set_new(args, key, value);
    json_object_set_new(e, "args", args);
    return emit(p, e);
}

static struct proc *proc_of(struct rt_perfetto *p, int32_t real_pid)
{
    for (size_t i = 0; i < p->n_procs; i++)
        if (p->procs[i].real_pid == real_pid)
            return &p->procs[i];
    if (p->n_procs == p->cap_procs) {
        size_t cap = p->cap_procs ? 2 * p->cap_procs : 16;
        struct proc *v = realloc(p->procs, cap * sizeof *v);
        if (!v)
            return NULL;
        p->procs = v;
        p->cap_procs = cap;
    }
    struct proc *pr = &p->procs[p->n_procs++];
    memset(pr, 0, sizeof *pr);
    pr->real_pid = real_pid;
    pr->pid = p->next_pid++;
    return pr;
}

/* The first lane of pr free at start (its last slice ended), a new one when none is. */
static int64_t lane_for(struct proc *pr, int64_t start, int64_t end)
{
    size_t i = 0;
    while (i < pr->n_lanes && pr->lane_end[i] > start)
        i++;
    if (i == pr->n_lanes) {
        int64_t *v = realloc(pr->lane_end, (pr->n_lanes + 1) * sizeof *v);
        if (!v)
            return LANE_TID;
        pr->lane_end = v;
        pr->n_lanes++;
    }
    pr->lane_end[i] = end;
    return LANE_TID + (int64_t)i;
}

static void set_exe(struct proc *pr, struct rt_str s)
{
    size_t len = strnlen(s.ptr ? s.ptr : "", s.len);
    char *c = malloc(len + 1);
    if (!c)
        return;
    memcpy(c, s.ptr, len);
    c[len] = '\0';
    free(pr->exe);
    pr->exe = c;
}

static int start(struct rt_perfetto *p, int64_t first_start_ns)
{
    int64_t day = 86400LL * 1000000000LL;
    p->base_ns = first_start_ns - ((first_start_ns % day) + day) % day;
    p->started = true;
    static const char head[] = "{\"displayTimeUnit\":\"ms\",\"traceEvents\":[\n";
    return p->write(head, sizeof head - 1, p->arg);
}

int rt_perfetto_bundle(struct rt_perfetto *p, struct rt_cursor *c, uint64_t *events,
                       struct rt_errinfo *ei)
{
    const struct rt_bundle *b = rt_cursor_bundle(c);
    const struct rt_meta *m = &b->meta;
    int rc = p->started ? RT_OK : start(p, m->start_wall_ns);
    for (size_t i = 0; i < p->n_procs; i++) {
        free(p->procs[i].exe);
        free(p->procs[i].lane_end);
    }
    p->n_procs = 0;
    int inv_pid = p->next_pid++;
    const char *fn = m->function ? m->function : "?";
    const char *rid = m->request_id ? m->request_id : "?";
    int64_t first = m->start_wall_ns, last = m->start_wall_ns + (int64_t)m->duration_ns;
    int in_rc = RT_OK;
    *events = 0;
    while (rc == RT_OK) {
        const struct rt_event *ev;
        in_rc = rt_cursor_next(c, &ev, ei);
        if (in_rc != RT_OK || !ev)
            break;
        (*events)++;
        const struct rt_op_info *info = rt_op_info(ev->op);
        int64_t at = m->start_wall_ns + ev->ts_ns, end = at + (int64_t)ev->dur_ns;
        first = at < first ? at : first;
        last = end > last ? end : last;
        struct proc *pr = proc_of(p, ev->pid);
        if (!pr)
            return RT_ERR_NOMEM;
        if ((ev->op == RT_OP_PROC_START || ev->op == RT_OP_EXEC) && ev->result >= 0 &&
            rt_event_program(ev).len)
            set_exe(pr, rt_event_program(ev));
        if ((ev->op == RT_OP_FORK || ev->op == RT_OP_SPAWN) && ev->result > 0 &&
            ev->result <= INT32_MAX) { /* the child runs its parent's program, or spawn's */
            struct rt_str exe = ev->op == RT_OP_SPAWN ? rt_event_program(ev)
                                : pr->exe             ? (struct rt_str){pr->exe, strlen(pr->exe)}
                                                      : (struct rt_str){NULL, 0};
            size_t at_parent = (size_t)(pr - p->procs);
            struct proc *child = proc_of(p, (int32_t)ev->result);
            pr = &p->procs[at_parent]; /* proc_of may have moved the array */
            if (!child)
                return RT_ERR_NOMEM;
            if (exe.len && !child->exe) {
                char *copy = strndup(exe.ptr, exe.len);
                if (copy)
                    child->exe = copy;
            }
        }
        json_t *full = rt_json_event(ev), *args = json_object();
        json_object_update(args, json_object_get(full, "args"));
        json_object_set_new(args, "result", json_integer(ev->result));
        if (json_object_get(full, "errno"))
            json_object_set(args, "errno", json_object_get(full, "errno"));
        if (ev->flags)
            json_object_set(args, "event_flags", json_object_get(full, "flags"));
        json_decref(full);
        const char *kind = info ? rt_kind_name(info->kind) : "unknown";
        const char *name = info ? info->name : "unknown";
        int64_t tid = ev->tid ? ev->tid : ev->pid;
        json_t *e;
        if (ev->op == RT_OP_MARK) {
            char what[32];
            rt_render_num(what, sizeof what, RT_AF_MARK, ev->num[0]);
            e = trace_event("i", what, "mark", inv_pid, INVOCATION_TID);
            json_object_set_new(e, "s", json_string("t"));
        } else if (ev->op == RT_OP_LOG) {
            e = trace_event("i", "log", kind, pr->pid, tid);
            json_object_set_new(e, "s", json_string("t"));
        } else if (ev->op == RT_OP_OUTBOUND || ev->op == RT_OP_INBOUND) {
            struct rt_str host = rt_event_host(ev), peer = rt_event_peer(ev);
            struct rt_str label = host.len && ev->op == RT_OP_OUTBOUND ? host : peer;
            char title[300];
            snprintf(title, sizeof title, "%s %.*s", name,
                     (int)strnlen(label.ptr ? label.ptr : "", label.len > 256 ? 256 : label.len),
                     label.ptr ? label.ptr : "");
            e = trace_event("X", title, kind, pr->pid, lane_for(pr, at, end));
            json_object_set_new(e, "dur", json_real((double)ev->dur_ns / 1000.0));
        } else {
            e = trace_event("X", name, kind, pr->pid, tid);
            json_object_set_new(e, "dur", json_real((double)ev->dur_ns / 1000.0));
        }
        json_object_set_new(e, "ts", json_real(us(p, at)));
        json_object_set_new(e, "args", args);
        rc = emit(p, e);
        for (unsigned bit = 0; rc == RT_OK && bit < 32; bit++) {
            if (!(ev->flags & ~BOOKKEEPING_FLAGS & (1u << bit)) || !rt_event_flag_name(bit))
                continue;
            e = trace_event("i", rt_event_flag_name(bit), "flag", pr->pid, tid);
            json_object_set_new(e, "s", json_string("t"));
            json_object_set_new(e, "ts", json_real(us(p, at)));
            args = json_object();
            json_object_set_new(args, "op", json_string(name));
            json_object_set_new(e, "args", args);
            rc = emit(p, e);
        }
    }
    /* The invocation, enclosing everything; its process and thread names; the processes. */
    if (rc == RT_OK) {
        json_t *e = trace_event("X", fn, "invocation", inv_pid, INVOCATION_TID);
        json_object_set_new(e, "ts", json_real(us(p, first)));
        json_object_set_new(e, "dur", json_real((double)(last - first) / 1000.0));
        json_t *args = json_object();
        const char *status = rt_status_name(m->status);
        json_object_set_new(args, "request_id", rt_json_bytes(rid, strlen(rid)));
        json_object_set_new(args, "status", json_string(status ? status : "unknown"));
        json_object_set_new(args, "duration_ms", json_real((double)m->duration_ns / 1e6));
        json_object_set_new(args, "events", json_integer((json_int_t)*events));
        if (m->function_version)
            json_object_set_new(args, "version",
                                rt_json_bytes(m->function_version, strlen(m->function_version)));
        json_object_set_new(args, "cold_start", json_boolean(m->cold_start));
        json_object_set_new(e, "args", args);
        rc = emit(p, e);
    }
    char title[600];
    snprintf(title, sizeof title, "%s %s", fn, rid);
    if (rc == RT_OK)
        rc = meta(p, "process_name", inv_pid, 0, "name", rt_json_bytes(title, strlen(title)));
    if (rc == RT_OK)
        rc = meta(p, "process_sort_index", inv_pid, 0, "sort_index", json_integer(inv_pid));
    if (rc == RT_OK)
        rc = meta(p, "thread_name", inv_pid, INVOCATION_TID, "name", json_string("invocation"));
    for (size_t i = 0; rc == RT_OK && i < p->n_procs; i++) {
        struct proc *pr = &p->procs[i];
        const char *exe = pr->exe ? pr->exe : "", *base = strrchr(exe, '/');
        base = base ? base + 1 : exe;
        snprintf(title, sizeof title, "%s [pid %d]", *base ? base : "process", pr->real_pid);
        rc = meta(p, "process_name", pr->pid, 0, "name", rt_json_bytes(title, strlen(title)));
        if (rc == RT_OK)
            rc = meta(p, "process_sort_index", pr->pid, 0, "sort_index", json_integer(pr->pid));
        if (rc == RT_OK) /* which invocation the process belongs to */
            rc = meta(p, "process_labels", pr->pid, 0, "labels", rt_json_bytes(rid, strlen(rid)));
        for (size_t l = 0; rc == RT_OK && l < pr->n_lanes; l++) {
            char lane[32];
            snprintf(lane, sizeof lane, l ? "connections %zu" : "connections", l + 1);
            rc = meta(p, "thread_name", pr->pid, LANE_TID + (int64_t)l, "name", json_string(lane));
        }
    }
    return rc != RT_OK ? rc : in_rc;
}

int rt_perfetto_finish(struct rt_perfetto *p)
{
    int rc = p->started ? RT_OK : start(p, 0);
    if (rc != RT_OK)
        return rc;
    char base[48];
    rt_render_wall(base, sizeof base, p->base_ns);
    json_t *other = json_object();
    json_object_set_new(other, "generator", json_string("runtrail export " RT_VERSION));
    json_object_set_new(other, "ts_base", json_string(base));
    rt_buf_reset(&p->line);
    rt_buf_puts(&p->line, "\n],\"otherData\":");
    int bad = json_dump_callback(other, dump_cb, &p->line, JSON_FLAGS) != 0;
    json_decref(other);
    rt_buf_puts(&p->line, "}\n");
    if (bad || p->line.failed)
        return RT_ERR_NOMEM;
    return p->write(p->line.data, p->line.len, p->arg);
}

void rt_perfetto_free(struct rt_perfetto *p)
{
    if (!p)
        return;
    for (size_t i = 0; i < p->n_procs; i++) {
        free(p->procs[i].exe);
        free(p->procs[i].lane_end);
    }
    free(p->procs);
    rt_buf_free(&p->line);
    free(p);
}
