/* Shared constants: exit codes and the limits every module enforces. */
#ifndef SSHTUN_COMMON_H
#define SSHTUN_COMMON_H

#include <stddef.h>
#include <stdint.h>

/* From `git describe`, compiled into version.c alone so that a new version
 * rebuilds one file. */
extern const char sshtun_version[];

/* Exit status, as sshtun(1) documents it (EXIT STATUS). */
enum exit_code {
	EXIT_OK = 0,
	EXIT_ERROR = 1,		/* error while running */
	EXIT_USAGE = 2,		/* bad command line */
	EXIT_UNREACHABLE = 3,	/* cannot reach the server */
	EXIT_HOSTKEY = 4,	/* host key verification failed */
	EXIT_AUTH = 5,		/* authentication failed */
	EXIT_REFUSED = 6,	/* server refused the tunnel */
	EXIT_LOCAL = 7,		/* local tunnel device or privilege problem */
};

/* Limits (man/sshtun-protocol.7 documents the wire ones). */
#define PROTO_VERSION		1	/* the one protocol version we speak */
#define MTU_MIN			576
#define MTU_MAX			65535
#define MTU_DEFAULT		1400	/* fits an outer 1500 path with room for ssh */
#define FRAME_HDR_LEN		6	/* u8 type, u8 flags, u32 length */
#define FRAME_MAX_PAYLOAD	(MTU_MAX + 1024)	/* hard cap on any frame */
#define HELLO_MAX		4096	/* hello payload */
#define MAGIC_MAX_JUNK		(64 * 1024)	/* bytes skipped before the magic line */
#define MAGIC_LINE_MAX		256
#define CTL_LINE_MAX		4096	/* one control-socket request */
#define CTL_MAX_CLIENTS		16
#define ERROR_MSG_MAX		512

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#endif
