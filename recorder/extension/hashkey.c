/* The key of runtrail's keyed hashes (ENV values, redacted payload fields, secrets in argv,
 * command lines and URLs). The key is never derivable from a bundle: it is either configured
 * (RUNTRAIL_HASH_KEY, or the file RUNTRAIL_HASH_KEY_FILE), so that hashes of one value compare
 * across sandboxes and functions sharing that key, or drawn from getrandom() when the
 * extension (or `runtrail record`) starts and kept in memory only, so that hashes compare only
 * within that sandbox. Bundles carry the key id instead: the first 8 bytes of
 * HMAC-SHA256(key, "runtrail hash key id v1"), which tells which hashes are comparable and,
 * for a key with enough entropy, reveals nothing about it. */
#include "recorder/extension/extension.h"

#include "formats/digest.h"
#include "formats/toolbox.h"

#include <errno.h>
#include <openssl/rand.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#define KEY_ID_LABEL "runtrail hash key id v1"
#define KEY_FILE_MAX 4096

void rt_ext_hash_key_set(struct rt_ext_hash_key *k, const void *key, size_t len, uint8_t source)
{
    memset(k, 0, sizeof *k);
    if (len > sizeof k->key) { /* HMAC hashes such a key first: the same MAC */
        rt_sha256(key, len, k->key);
        k->len = RT_SHA256_LEN;
    } else {
        memcpy(k->key, key, len);
        k->len = len;
    }
    k->source = source;
}

const char *rt_ext_hash_key_id(struct rt_ext_hash_key *k)
{
    if (k->id[0])
        return k->id;
    if (k->source == RT_EXT_KEY_NONE) {
        snprintf(k->id, sizeof k->id, "none");
        return k->id;
    }
    uint8_t mac[RT_SHA256_LEN];
    rt_hmac_sha256(k->key, k->len, KEY_ID_LABEL, strlen(KEY_ID_LABEL), mac);
    char hex[17];
    rt_hex(mac, 8, hex);
    snprintf(k->id, sizeof k->id, "%s:%s",
             k->source == RT_EXT_KEY_CONFIGURED ? "configured" : "sandbox", hex);
    return k->id;
}

void rt_ext_hash_key_random(struct rt_ext_hash_key *k)
{
    uint8_t raw[32];
    size_t got = 0;
    while (got < sizeof raw) {
        ssize_t n = getrandom(raw + got, sizeof raw - got, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        got += (size_t)n;
    }
    if (got < sizeof raw && RAND_bytes(raw, (int)sizeof raw) == 1)
        got = sizeof raw;
    if (got < sizeof raw) {
        memset(k, 0, sizeof *k);
        snprintf(k->id, sizeof k->id, "none");
        return;
    }
    rt_ext_hash_key_set(k, raw, sizeof raw, RT_EXT_KEY_RANDOM);
    memset(raw, 0, sizeof raw);
}

void rt_ext_keyed_hash(const struct rt_ext_hash_key *k, const void *data, size_t len,
                       uint8_t out[32])
{
    if (!k || k->source == RT_EXT_KEY_NONE) {
        memset(out, 0, RT_SHA256_LEN);
        return;
    }
    rt_hmac_sha256(k->key, k->len, data, len, out);
}

void rt_ext_hash_key_load(struct rt_ext_config *cfg)
{
    const char *key = cfg->hash_key, *file = cfg->hash_key_file;
    bool have_key = key && *key, have_file = file && *file;
    if (have_key && have_file)
        rt_ext_config_note_error(cfg, "RUNTRAIL_HASH_KEY_FILE"); /* ambiguous: the key wins */
    if (have_key) {
        if (strlen(key) >= RT_EXT_KEY_MIN_LEN) {
            rt_ext_hash_key_set(&cfg->key, key, strlen(key), RT_EXT_KEY_CONFIGURED);
            return;
        }
        rt_ext_config_note_error(cfg, "RUNTRAIL_HASH_KEY");
    } else if (have_file) {
        uint8_t *buf = NULL;
        size_t n = 0, len = 0;
        if (rt_read_file(file, &buf, &len, KEY_FILE_MAX) == RT_OK) {
            n = len; /* trailing newlines and spaces are not part of the key */
            while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r' || buf[n - 1] == ' ' ||
                             buf[n - 1] == '\t'))
                n--;
            if (n >= RT_EXT_KEY_MIN_LEN)
                rt_ext_hash_key_set(&cfg->key, buf, n, RT_EXT_KEY_CONFIGURED);
            memset(buf, 0, len);
        }
        free(buf);
        if (n >= RT_EXT_KEY_MIN_LEN)
            return;
        rt_ext_config_note_error(cfg, "RUNTRAIL_HASH_KEY_FILE");
    }
    rt_ext_hash_key_random(&cfg->key);
}

void rt_ext_config_secrets(struct rt_ext_config *cfg)
{
    rt_ext_hash_key_load(cfg);
    if (cfg->redact && *cfg->redact) {
        if (rt_ext_redact_list_check(cfg->redact) != 0)
            rt_ext_config_note_error(cfg, "RUNTRAIL_REDACT");
        /* A list of keys to redact asks for redaction: with `full` as well, the two settings
         * contradict each other, and the safe one wins. */
        if (cfg->payload == RT_PAYLOAD_FULL) {
            rt_ext_config_note_error(cfg, "RUNTRAIL_PAYLOAD");
            cfg->payload = RT_PAYLOAD_REDACTED;
        }
    }
}

const char *rt_ext_hash_key_from_env(struct rt_ext_hash_key *k)
{
    struct rt_ext_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.hash_key = getenv("RUNTRAIL_HASH_KEY");
    cfg.hash_key_file = getenv("RUNTRAIL_HASH_KEY_FILE");
    rt_ext_hash_key_load(&cfg);
    *k = cfg.key;
    memset(&cfg.key, 0, sizeof cfg.key);
    if (!cfg.errors)
        return NULL;
    return strstr(cfg.error_names, "RUNTRAIL_HASH_KEY_FILE") ? "RUNTRAIL_HASH_KEY_FILE"
                                                             : "RUNTRAIL_HASH_KEY";
}
