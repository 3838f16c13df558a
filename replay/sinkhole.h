/* The sinkhole of `runtrail replay --net sinkhole` (replay/sinkhole.c), run inside the replay's
 * network namespace, where only loopback exists: a DNS responder on 127.0.0.1:53 that answers
 * every A query with the sink address (127.0.0.1, the sandbox's own loopback), and a TCP sink
 * listening on the ports the original invocation connected to (and 80, 443) that completes
 * plaintext HTTP with a canned reply (libmicrohttpd) and reads a TLS ClientHello's server name.
 * What the function sent — each lookup, each HTTP request line, headers and the first bytes of
 * its body, each SNI — is appended as JSON lines to a log file the replay reads afterwards.
 * Nothing leaves the namespace. */
#ifndef RUNTRAIL_REPLAY_SINKHOLE_H
#define RUNTRAIL_REPLAY_SINKHOLE_H

#include <stddef.h>
#include <stdint.h>

#define RT_SINKHOLE_MAX_PORTS 32
#define RT_SINKHOLE_BODY_BYTES 256 /* of each request body kept */

struct rt_sinkhole;

/* Starts the responder and the sink on ports (duplicates and 0 ignored) in this process's
 * network namespace, logging to log_path. Returns 0, or -1 with the reason in err. */
int rt_sinkhole_start(const char *log_path, const unsigned *ports, size_t n_ports,
                      struct rt_sinkhole **out, char *err, size_t err_cap);
void rt_sinkhole_stop(struct rt_sinkhole *s);

/* The DNS answer to query (a UDP payload): the same id and question, QR set, and for a class
 * IN type A question one answer, addr (network order), TTL 60; other types get no answer. Returns
 * its length in out, or 0 when query is not a one-question DNS query that fits. Pure, bounded:
 * hostile input never reads outside [query, query+len). */
size_t rt_sinkhole_dns_answer(const uint8_t *query, size_t len, const uint8_t addr[4], uint8_t *out,
                              size_t cap);

#endif
