/* See privcheck.h. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common.h"
#include "fail.h"
#include "privcheck.h"

/* The hex mask of a "CapXxx:" line of /proc/self/status; 0 if absent. */
static uint64_t cap_field(const char *status, const char *name)
{
	const char *p = strstr(status, name);

	return p ? strtoull(p + strlen(name), NULL, 16) : 0;
}

int priv_check(void)
{
	char status[8192];
	uid_t ruid = getuid(), euid = geteuid();
	uint64_t prm, amb;
	size_t n;
	FILE *f;

	if (ruid == 0)
		return 0;
	if (euid != ruid)
		return fail(EXIT_LOCAL, "refusing to run setuid (uid %u, effective uid %u): any local user could "
			    "change this machine's network; remove the setuid bit and run sshtun through sudo",
			    (unsigned)ruid, (unsigned)euid);
	f = fopen("/proc/self/status", "re");
	if (!f)
		return 0;	/* no /proc: nothing to go by, and no file capabilities to check */
	n = fread(status, 1, sizeof(status) - 1, f);
	fclose(f);
	status[n] = '\0';
	prm = cap_field(status, "\nCapPrm:");
	amb = cap_field(status, "\nCapAmb:");
	if (prm & ~amb)
		return fail(EXIT_LOCAL, "refusing to run with file capabilities as uid %u (CapPrm %016" PRIx64 "): "
			    "any local user could change this machine's network; remove them (setcap -r) and run "
			    "sshtun through sudo", (unsigned)ruid, prm);
	return 0;
}
