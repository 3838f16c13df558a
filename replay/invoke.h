/* The options shared by `runtrail invoke` and `runtrail emulate`: one table that produces the
 * parser and the help text, and the translation of the options into an emulator
 * configuration (function settings, layers — including the runtrail recorder layer unless
 * --no-record — and the extra environment). Library code: errors come back as text for cli/
 * to print. */
#ifndef RUNTRAIL_REPLAY_INVOKE_H
#define RUNTRAIL_REPLAY_INVOKE_H

#include "formats/options.h"
#include "replay/emulator.h"

#include <stdbool.h>
#include <stddef.h>

#define RT_INVOKE_MAX_LIST 64

struct rt_invoke_opts {
    const char *store;                      /* --store; NULL = default */
    const char *events[RT_INVOKE_MAX_LIST]; /* --event FILE|- */
    size_t n_events;
    unsigned long repeat;                       /* --repeat; 0 = 1 */
    const char *listen;                         /* emulate: --listen */
    unsigned idle_timeout_s;                    /* emulate: --idle-timeout; 0 = 30 */
    const char *report;                         /* --report FILE (JSON lines) */
    const char *layers[RT_INVOKE_MAX_LIST + 1]; /* --layer, plus the recorder layer */
    size_t n_layers;
    const char *env[RT_INVOKE_MAX_LIST + 5]; /* --env K=V, plus what recording adds */
    size_t n_env;
    bool no_record;
    bool quiet;
    struct rt_emu_config cfg; /* filled from the options */
    char store_env[8300];     /* "RUNTRAIL_STORE=..." when recording */
    char task_root_abs[4096]; /* --task-root, resolved to an absolute path */
    char port_env[64];        /* "RUNTRAIL_PROXY_PORT=..." when recording */
    char layer_path[4096];    /* the recorder layer */
    char layers_env[4200];    /* "RUNTRAIL_LAYERS_DIR=..." when recording */
    char spool_dir[4096];     /* the recorder's spool ("" without recording) */
    bool spool_ours;          /* made by us (removed when left empty), not the user's */
    char spool_env[4200];     /* "RUNTRAIL_SPOOL_DIR=..." */
};

/* The option table (formats/options.h) of the parser, also the source of the help text. */
extern const struct rt_opt rt_invoke_options[];

/* Parses argv (argv[0] = command name). emulate enables --listen. On a usage error returns
 * RT_ERR_EMU_BAD_REQUEST with a one-line message in err. */
int rt_invoke_opts_parse(int argc, char **argv, bool emulate, struct rt_invoke_opts *o, char *err,
                         size_t err_cap);

/* Completes o->cfg for recording: finds the recorder layer (self_exe's ../layer), sets
 * RUNTRAIL_STORE (store_url made absolute when it is a folder), a free RUNTRAIL_PROXY_PORT,
 * RUNTRAIL_LAYERS_DIR (the first --layer folder, else the recorder layer) and
 * RUNTRAIL_SPOOL_DIR (a new folder under $TMPDIR). Returns RT_ERR_EMULATOR with a message when
 * the layer is missing or the spool cannot be made. */
int rt_invoke_setup_recording(struct rt_invoke_opts *o, const char *self_exe, const char *store_url,
                              char *err, size_t err_cap);

/* Bundles in the recorder's spool (the one set up above, or the user's RUNTRAIL_SPOOL_DIR):
 * sealed, refused by the store, kept. rt_invoke_spool_done removes our folder when empty. */
size_t rt_invoke_spooled(const struct rt_invoke_opts *o);
/* The value the sandbox gets for name from --env or the recording set-up, or NULL. */
const char *rt_invoke_env_value(const struct rt_invoke_opts *o, const char *name);
void rt_invoke_spool_done(struct rt_invoke_opts *o);

#endif
