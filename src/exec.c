/* `sshtun exec NAME -- COMMAND [ARG...]`: asks instance NAME, over its
 * control socket, to run COMMAND as us in its namespace (execns.h).  We
 * hand over our standard descriptors, the arguments, the environment and
 * the working directory, then wait for the exit status, which becomes
 * ours.  Signals that would end us are passed on to the command. */
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "common.h"
#include "control.h"
#include "execns.h"
#include "fdpass.h"
#include "paths.h"

extern char **environ;

static volatile sig_atomic_t cmd_pid;

static void forward(int sig)
{
	if (cmd_pid > 0)
		kill((pid_t)cmd_pid, sig);
}

static int usage(void)
{
	fprintf(stderr, "usage: sshtun exec NAME -- COMMAND [ARG...]\n"
			"       sshtun exec -S PATH -- COMMAND [ARG...]\n");
	return EXIT_USAGE;
}

/* One line of the instance's answer into line; 0 at end of stream. */
static int read_line(int fd, char *line, size_t cap)
{
	size_t n = 0;

	while (n + 1 < cap) {
		ssize_t got = read(fd, line + n, 1);

		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0)
			break;
		if (line[n] == '\n') {
			line[n] = '\0';
			return 1;
		}
		n++;
	}
	line[n] = '\0';
	return n ? 1 : 0;
}

/* cwd, argv, environment: NUL-terminated strings, after their count and
 * size. */
static int send_request(int fd, int argc, char **argv)
{
	char cwd[4096];
	size_t total = 0;
	uint32_t hdr[2];
	char *blob, *p;
	int rc;

	if (!getcwd(cwd, sizeof(cwd)))
		snprintf(cwd, sizeof(cwd), "/");
	total += strlen(cwd) + 1;
	for (int i = 0; i < argc; i++)
		total += strlen(argv[i]) + 1;
	for (char **e = environ; *e; e++)
		total += strlen(*e) + 1;
	if (total > EXECNS_ARGS_MAX) {
		fprintf(stderr, "sshtun: exec: the arguments and environment are %zu bytes (max %d)\n", total,
			EXECNS_ARGS_MAX);
		return -1;
	}
	p = blob = malloc(total);
	if (!blob)
		return -1;
	p = stpcpy(p, cwd) + 1;
	for (int i = 0; i < argc; i++)
		p = stpcpy(p, argv[i]) + 1;
	for (char **e = environ; *e; e++)
		p = stpcpy(p, *e) + 1;
	hdr[0] = (uint32_t)argc;
	hdr[1] = (uint32_t)total;
	rc = fd_send_all(fd, hdr, sizeof(hdr)) < 0 || fd_send_all(fd, blob, total) < 0 ? -1 : 0;
	free(blob);
	return rc;
}

int exec_main(int argc, char **argv)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char line[600];
	int fd, status = -1;
	struct sigaction act;

	if (argc >= 5 && !strcmp(argv[1], "-S")) {	/* -S PATH: the socket itself */
		if (strlen(argv[2]) >= sizeof(sa.sun_path)) {
			fprintf(stderr, "sshtun: exec: socket path `%s' is too long\n", argv[2]);
			return EXIT_USAGE;
		}
		memcpy(sa.sun_path, argv[2], strlen(argv[2]) + 1);
		argv++, argc--;
	} else if (argc >= 4 && paths_socket(argv[1], sa.sun_path, sizeof(sa.sun_path)) < 0) {
		fprintf(stderr, "sshtun: exec: bad instance name `%s'\n", argv[1]);
		return EXIT_USAGE;
	}
	if (argc < 4 || strcmp(argv[2], "--") != 0)
		return usage();
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		fprintf(stderr, "sshtun: exec: no running instance `%s' (%s: %s)\n", argv[1], sa.sun_path,
			strerror(errno));
		return EXIT_ERROR;
	}
	if (fd_send_all(fd, "exec\n", 5) < 0)
		goto lost;
	/* Nothing more until the root side says "go" (control.c hands over
	 * the connection and must not read past our request). */
	while (read_line(fd, line, sizeof(line)) > 0) {
		if (!strcmp(line, "go"))
			break;
		if (line[0] == 'e' && line[1] == ' ')
			fprintf(stderr, "sshtun: %s\n", line + 2);
		else if (line[0] == 'x' && line[1] == ' ')
			return atoi(line + 2) ? atoi(line + 2) : EXIT_ERROR;
	}
	if (strcmp(line, "go"))
		goto lost;
	for (int i = 0; i < 3; i++)
		if (fdpass_send(fd, "s", 1, i) < 0) {
			fprintf(stderr, "sshtun: exec: cannot pass descriptor %d: %s\n", i, strerror(errno));
			return EXIT_ERROR;
		}
	if (send_request(fd, argc - 3, argv + 3) < 0)
		goto lost;
	memset(&act, 0, sizeof(act));
	act.sa_handler = forward;
	sigaction(SIGINT, &act, NULL);
	sigaction(SIGTERM, &act, NULL);
	sigaction(SIGHUP, &act, NULL);
	sigaction(SIGQUIT, &act, NULL);
	while (read_line(fd, line, sizeof(line)) > 0) {
		if (line[0] == 'p' && line[1] == ' ')
			cmd_pid = atoi(line + 2);
		else if (line[0] == 'e' && line[1] == ' ')
			fprintf(stderr, "sshtun: %s\n", line + 2);
		else if (line[0] == 'x' && line[1] == ' ') {
			status = atoi(line + 2);
			break;
		}
	}
	if (status >= 0 && status <= 255)
		return status;
lost:
	fprintf(stderr, "sshtun: exec: instance `%s' closed the connection before the command's exit status\n",
		argv[1]);
	return EXIT_ERROR;
}
