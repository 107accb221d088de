/* `sshtun cleanup [-n NAME | -S PATH]`: undoes what dead instances left
 * (state.h), one by name or every one of this user. */
#include <dirent.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cleanup.h"
#include "common.h"
#include "fail.h"
#include "log.h"
#include "paths.h"
#include "state.h"
#include "state_undo.h"

static int cleanup_dir(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int total = 0, rc;

	if (!d)
		return 0;
	while ((e = readdir(d))) {
		size_t n = strlen(e->d_name);
		char path[512];

		if (n < 7 || strcmp(e->d_name + n - 6, ".state"))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		rc = state_undo(path, true);
		if (rc < 0) {
			log_warn("%s", fail_msg());
			fail_clear();
		} else {
			total += rc;
		}
	}
	closedir(d);
	return total;
}

int cleanup_main(int argc, char **argv)
{
	const char *name = NULL, *sock = NULL;
	char sock_buf[256], path[300];
	int c, rc;

	optind = 1;
	while ((c = getopt(argc, argv, "hn:S:")) != -1) {
		switch (c) {
		case 'n': name = optarg; break;
		case 'S': sock = optarg; break;
		case 'h':
			printf("usage: sshtun cleanup [-n NAME | -S PATH]\n");
			return EXIT_OK;
		default:
			return fail(EXIT_USAGE, "usage: sshtun cleanup [-n NAME | -S PATH]");
		}
	}
	if (optind != argc)
		return fail(EXIT_USAGE, "usage: sshtun cleanup [-n NAME | -S PATH]");
	if (!name && !sock) {
		/* Every dead instance of this user. */
		if (paths_dir(sock_buf, sizeof(sock_buf)) < 0)
			return fail_code();
		rc = cleanup_dir(sock_buf);
	} else {
		if (!sock) {
			if (paths_socket(name, sock_buf, sizeof(sock_buf)) < 0)
				return fail_code();
			sock = sock_buf;
		}
		if (paths_state(sock, path, sizeof(path)) < 0)
			return fail_code();
		rc = state_undo(path, true);
		if (rc < 0)
			return fail_code();
	}
	if (rc == 0)
		printf("nothing to clean up\n");
	return EXIT_OK;
}
