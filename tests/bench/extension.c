/* The extension benchmark's runtime stand-in (tests/bench/extension.sh): N round trips of a
 * Runtime API loop, GET invocation/next then POST invocation/ID/response, on one kept-alive
 * libcurl connection to API (host:port: the Runtime API directly, or the extension's proxy).
 * Prints one line per round trip: its duration in ns (monotonic clock).
 *   extension_bench API N */
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static size_t sink(char *p, size_t size, size_t n, void *arg)
{
    (void)p;
    (void)arg;
    return size * n;
}

static long long now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

int main(int argc, char **argv)
{
    if (argc != 3)
        return 2;
    const char *api = argv[1];
    long n = strtol(argv[2], NULL, 10);
    static const char body[] = "{\"statusCode\":200,\"body\":\"ok\"}";
    char next_url[256], resp_url[512];
    snprintf(next_url, sizeof next_url, "http://%s/2018-06-01/runtime/invocation/next", api);
    CURL *h = curl_easy_init();
    struct curl_slist *hdr = curl_slist_append(NULL, "Content-Type: application/json");
    hdr = curl_slist_append(hdr, "Expect:");
    for (long i = 0; i < n; i++) {
        long long t0 = now_ns();
        curl_easy_reset(h);
        curl_easy_setopt(h, CURLOPT_URL, next_url);
        curl_easy_setopt(h, CURLOPT_PROXY, "");
        curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, sink);
        if (curl_easy_perform(h) != CURLE_OK)
            return 1;
        struct curl_header *id;
        if (curl_easy_header(h, "Lambda-Runtime-Aws-Request-Id", 0, CURLH_HEADER, -1, &id) !=
            CURLHE_OK)
            return 1;
        snprintf(resp_url, sizeof resp_url, "http://%s/2018-06-01/runtime/invocation/%s/response",
                 api, id->value);
        curl_easy_reset(h);
        curl_easy_setopt(h, CURLOPT_URL, resp_url);
        curl_easy_setopt(h, CURLOPT_PROXY, "");
        curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdr);
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, sink);
        if (curl_easy_perform(h) != CURLE_OK)
            return 1;
        printf("%lld\n", now_ns() - t0);
    }
    curl_slist_free_all(hdr);
    curl_easy_cleanup(h);
    return 0;
}
