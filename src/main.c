/* sshtun: an IP tunnel over SSH.  Dispatches to the subcommand; the client
 * is the default.  Only this file prints the one line a failure ends with. */
#include <stdio.h>
#include <string.h>

#include "cleanup.h"
#include "client.h"
#include "common.h"
#include "control.h"
#include "doctor.h"
#include "fail.h"
#include "instance_conf.h"
#include "list.h"
#include "log.h"
#include "priv.h"
#include "privcheck.h"
#include "serve.h"
#include "commands.h"

static const struct {
	const char *name;
	int (*fn)(int argc, char **argv);
} subcommands[] = {
	{ "serve", serve_main },	/* the server side, started by sshd */
	{ "ctl", ctl_main },
	{ "exec", exec_main },		/* a command in an instance's namespace */		/* a shell command in a running sshtun */
	{ "cleanup", cleanup_main },	/* undo what a killed instance left */
	{ "list", list_main },		/* every running instance */
	{ "doctor", doctor_main },	/* check a server's set-up, no tunnel */
	{ "@", instance_main },		/* @NAME: the instance file NAME.conf */
	{ PRIV_ROOT_SUBCOMMAND, priv_root_main },	/* hidden: the root side, as sudo runs it */
};

int main(int argc, char **argv)
{
	int code;

	if (priv_check() < 0) {
		code = fail_code();
		goto out;
	}
	/* The COMMANDS section of sshtun(1) comes from the command table. */
	if (argc == 2 && !strcmp(argv[1], "--commands-mdoc")) {
		shell_print_mdoc(stdout);
		return EXIT_OK;
	}
	if (argc > 1) {
		for (size_t i = 0; i < ARRAY_SIZE(subcommands); i++) {
			if (!strcmp(argv[1], subcommands[i].name) ||
			    (!strcmp(subcommands[i].name, "@") && argv[1][0] == '@')) {
				code = subcommands[i].fn(argc - 1, argv + 1);
				goto out;
			}
		}
	}
	code = client_main(argc, argv);
out:
	if (code && fail_msg()[0])
		fprintf(stderr, log_to_journal() ? "<3>%s\n" : "sshtun: %s\n", fail_msg());
	return code;
}
