/* Protocol sniffing on the first bytes of a connection's request and response (written and
 * read on a connection the program opened, read and written on one it accepted): TLS
 * ClientHello SNI, the plaintext HTTP request line and Host header, the HTTP status line, and
 * the query name of a DNS packet. Pure functions over a buffer, bounded, no allocation,
 * async-signal-safe; hostile input never reads outside [buf, buf+len). */
#ifndef RUNTRAIL_RECORDER_PRELOAD_SNIFF_H
#define RUNTRAIL_RECORDER_PRELOAD_SNIFF_H

#include <stddef.h>

/* Each returns the length written to out (NUL-terminated, at most cap-1 bytes), or 0 when
 * the buffer is not that protocol (or the field is absent). */

/* Server name from a TLS ClientHello record. */
size_t rt_sniff_tls_sni(const unsigned char *buf, size_t len, char *out, size_t cap);
/* "METHOD TARGET VERSION" of an HTTP/1.x request; *host (hcap bytes) gets the Host header
 * value (empty if absent). */
size_t rt_sniff_http_request(const char *buf, size_t len, char *out, size_t cap, char *host,
                             size_t hcap);
/* "HTTP/1.1 200 OK" from the start of a response. */
size_t rt_sniff_http_status(const char *buf, size_t len, char *out, size_t cap);
/* Dotted query name of the first question of a DNS query (UDP payload). */
size_t rt_sniff_dns_qname(const unsigned char *buf, size_t len, char *out, size_t cap);
/* The status code of "HTTP/1.x NNN ..." (100..999), or 0. */
int rt_sniff_http_code(const char *buf, size_t len);

/* What an AWS API request signed with SigV4 names, from the first bytes of the request (the
 * headers, perhaps the start of the body): service, region and access key id from the
 * Authorization header's credential scope (never the signature), the action and the resource.
 * Every field is NUL-terminated text, empty when absent. */
struct rt_sniff_aws {
    char service[32];   /* "s3", "dynamodb", "sts" */
    char region[32];    /* "us-east-1" */
    char key_id[32];    /* the access key id, "AKIA..." / "ASIA..." */
    char action[160];   /* "s3:GetObject"; REST-JSON: "lambda:POST /2015-03-31/functions/f" */
    char resource[256]; /* "bucket/key", a table, a queue URL, an ARN */
    char proto;         /* how the action was found: 'j' JSON target, 'q' query, 's' S3, 'r' REST */
    char need_body;     /* the action or the resource may be in a body these bytes lack */
};

/* The AWS service a TLS server name names ("sts.us-east-1.amazonaws.com" -> "sts",
 * "b.s3.eu-west-1.amazonaws.com" -> "s3", "id.execute-api.r.amazonaws.com" -> "execute-api");
 * 0 when it is not an amazonaws.com (or .amazonaws.com.cn) name. */
size_t rt_sniff_aws_service(const char *host, size_t len, char *out, size_t cap);

/* Returns 1 and fills *out when buf starts an HTTP/1.x request carrying an
 * "Authorization: AWS4-HMAC-SHA256 Credential=..." header; 0 (out zeroed) otherwise. */
int rt_sniff_aws_request(const char *buf, size_t len, struct rt_sniff_aws *out);
/* The first bytes of the body of the request *out was filled from, written apart from its
 * headers (out->need_body): Action= of a query-protocol form, the resource named in a form or
 * in a JSON document's first keys. Clears need_body. */
void rt_sniff_aws_body(const char *body, size_t len, struct rt_sniff_aws *out);

#endif
