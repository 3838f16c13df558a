/* The extension's RUNTRAIL_* settings, read once at start from the function's environment.
 * One X-macro table (RT_EXT_CONFIG in extension.h) produces the struct, the parser loop and
 * the Markdown table of docs/config.md, so code and documentation cannot drift apart. A bad
 * value never stops the extension: the default is used and the error counted. */
#include "recorder/extension/extension.h"

#include "formats/toolbox.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const char *const payload_names[] = {"full", "redacted", "hash", "none"};

int rt_ext_payload_mode_from_name(const char *name)
{
    for (int i = 0; i < 4; i++)
        if (!strcasecmp(name, payload_names[i]))
            return i;
    return -1;
}

static int parse_str(const char *s, rt_ext_cfg_str_t *out)
{
    *out = s;
    return 0;
}

static int parse_size(const char *s, rt_ext_cfg_size_t *out)
{
    return rt_parse_size(s, out, NULL) == RT_OK ? 0 : -1;
}

static int parse_count(const char *s, rt_ext_cfg_count_t *out)
{
    return rt_parse_count(s, out, NULL) == RT_OK ? 0 : -1;
}

static int parse_ms(const char *s, rt_ext_cfg_ms_t *out)
{
    return rt_parse_duration_ms(s, out, NULL) == RT_OK ? 0 : -1;
}

static int parse_port(const char *s, rt_ext_cfg_port_t *out)
{
    uint64_t v;
    if (parse_size(s, &v) || v < 1 || v > 65535 || strpbrk(s, "kKmMgGbB"))
        return -1;
    *out = (uint16_t)v;
    return 0;
}

static int parse_bool(const char *s, rt_ext_cfg_bool_t *out)
{
    static const char *const yes[] = {"1", "true", "yes", "on"};
    static const char *const no[] = {"0", "false", "no", "off", ""};
    for (size_t i = 0; i < sizeof yes / sizeof *yes; i++)
        if (!strcasecmp(s, yes[i]))
            return *out = true, 0;
    for (size_t i = 0; i < sizeof no / sizeof *no; i++)
        if (!strcasecmp(s, no[i]))
            return *out = false, 0;
    return -1;
}

static int parse_ratio(const char *s, rt_ext_cfg_ratio_t *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end != '\0' || !(v >= 0.0 && v <= 1.0))
        return -1;
    *out = v;
    return 0;
}

static int parse_payload(const char *s, rt_ext_cfg_payload_t *out)
{
    int m = rt_ext_payload_mode_from_name(s);
    if (m < 0)
        return -1;
    *out = (uint8_t)m;
    return 0;
}

void rt_ext_config_note_error(struct rt_ext_config *cfg, const char *var)
{
    size_t used = strlen(cfg->error_names);
    cfg->errors++;
    if (used + strlen(var) + 2 < sizeof cfg->error_names)
        snprintf(cfg->error_names + used, sizeof cfg->error_names - used, "%s%s", used ? "," : "",
                 var);
}

static const char *env_get(const char *name)
{
    return getenv(name);
}

void rt_ext_config_load_from(struct rt_ext_config *cfg, const char *(*get)(const char *name))
{
    memset(cfg, 0, sizeof *cfg);
#define LOAD(field, var, def, type, doc)                                                           \
    do {                                                                                           \
        const char *v_ = get(var);                                                                 \
        int bad_ = parse_##type(def, &cfg->field);                                                 \
        (void)bad_;                                                                                \
        if (v_ && parse_##type(v_, &cfg->field) != 0) {                                            \
            parse_##type(def, &cfg->field);                                                        \
            rt_ext_config_note_error(cfg, var);                                                    \
        }                                                                                          \
    } while (0);
    RT_EXT_CONFIG(LOAD)
#undef LOAD
    rt_ext_config_secrets(cfg);
}

void rt_ext_default_run_dir(const char *runtime_api, char *out, size_t cap)
{
    const char *colon = runtime_api ? strrchr(runtime_api, ':') : NULL;
    const char *port = colon ? colon + 1 : "";
    bool digits = *port && strspn(port, "0123456789") == strlen(port) && strlen(port) <= 5;
    if (digits)
        snprintf(out, cap, "/tmp/runtrail-%s", port);
    else
        snprintf(out, cap, "/tmp/runtrail");
}

void rt_ext_config_load(struct rt_ext_config *cfg)
{
    rt_ext_config_load_from(cfg, env_get);
}

void rt_ext_config_doc(FILE *f)
{
    fputs("# runtrail recorder configuration\n\n"
          "The Lambda extension reads these variables from the function's environment once, at\n"
          "start. A value that does not parse is replaced by its default and counted in the\n"
          "`config_errors` counter of the next bundle; the extension never fails because of\n"
          "its configuration. This file is generated from the table in\n"
          "`recorder/extension/extension.h` (`runtrail-extension --config-doc`).\n\n"
          "| variable | default | kind | meaning |\n"
          "| --- | --- | --- | --- |\n",
          f);
#define DOC(field, var, def, type, doc)                                                            \
    fprintf(f, "| `%s` | %s%s%s | %s | %s |\n", var, *def ? "`" : "", *def ? def : "(empty)",      \
            *def ? "`" : "", #type, doc);
    RT_EXT_CONFIG(DOC)
#undef DOC
    fputs("\nKinds: `str` any text; `size` bytes with an optional `k`, `m` or `g` suffix\n"
          "(KiB, MiB, GiB: `64m`); `count` a number with an optional `k`, `M` or `G` suffix\n"
          "(thousand, million, billion: `100k`); `ms` a duration in milliseconds, or with a\n"
          "unit `ms`, `s`, `m` or `h` (`250`, `2s`, `1m` = 60000);\n"
          "`port` 1 to 65535; `bool` `1`/`0`, `true`/`false`, `yes`/`no`; `ratio` 0 to 1;\n"
          "`payload` one of `full`, `redacted`, `hash`, `none`.\n",
          f);
    rt_ext_secrets_doc(f);
}
