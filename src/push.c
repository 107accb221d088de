/* See push.h. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "common.h"
#include "fail.h"
#include "log.h"
#include "push.h"
#include "ssh.h"

#define PUSH_MAX_BINARY (256u << 20)	/* what we would ever send */
#define PUSH_UPLOAD_TIMEOUT_S 600
#define PUSH_OUT_MAX 4096		/* what a probe may print */
#define PUSH_DIR "$HOME/.cache/sshtun"

int push_local_binary(char *path, size_t cap)
{
	char self[PATH_MAX];
	struct stat sb;
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);

	if (n <= 0)
		return fail(EXIT_ERROR, "--push: cannot find this binary (/proc/self/exe): %s", strerror(errno));
	self[n] = '\0';
	if ((size_t)n + sizeof("-static") > cap)
		return fail(EXIT_ERROR, "--push: path too long: %s", self);
	/* The self-contained build beside us, when there is one. */
	memcpy(path, self, (size_t)n);
	memcpy(path + n, "-static", sizeof("-static"));
	if (stat(path, &sb) == 0 && S_ISREG(sb.st_mode) && (sb.st_mode & 0111))
		return 0;
	path[n] = '\0';
	return 0;
}

int push_name(const char *version, const char *hash_hex, char *out, size_t cap)
{
	size_t len = 0;
	bool dash = true;	/* no dash at the start, none doubled */

	if (cap < 32)
		return -1;
	len = (size_t)snprintf(out, cap, "sshtun-");
	for (const char *c = version; *c && len + 1 < cap; c++) {
		bool keep = (*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') ||
			    *c == '.';

		if (keep) {
			out[len++] = *c;
			dash = false;
		} else if (!dash) {
			out[len++] = '-';
			dash = true;
		}
	}
	if (!dash)
		out[len++] = '-';
	if (len + 13 > cap)
		return -1;
	memcpy(out + len, hash_hex, 12);
	out[len + 12] = '\0';
	return 0;
}

int push_command(const char *remote_command, const char *path, char *out, size_t cap)
{
	const char *args = "serve", *p = remote_command;
	int n;

	while (p && *p) {
		const char *w = p + strspn(p, " \t"), *end = w + strcspn(w, " \t");
		size_t len = (size_t)(end - w);

		if (len >= 6 && !memcmp(end - 6, "sshtun", 6) && (len == 6 || end[-7] == '/')) {
			args = end + strspn(end, " \t");
			if (!*args)
				args = "serve";
			break;
		}
		p = end;
	}
	n = snprintf(out, cap, "exec \"%s\" %s", path, args);
	return n < 0 || (size_t)n >= cap ? -1 : 0;
}

/* Reads the whole binary and its SHA-256 (hex). */
static uint8_t *read_binary(const char *path, size_t *len, char hex[65])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned mdlen = 0;
	struct stat sb;
	uint8_t *buf = NULL;
	size_t got = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0 || fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode) || sb.st_size <= 0 ||
	    (uint64_t)sb.st_size > PUSH_MAX_BINARY || !(buf = malloc((size_t)sb.st_size))) {
		fail(EXIT_ERROR, "--push: cannot read %s: %s", path, fd < 0 ? strerror(errno) : "not a plain file of a sane size");
		goto bad;
	}
	while (got < (size_t)sb.st_size) {
		ssize_t n = read(fd, buf + got, (size_t)sb.st_size - got);

		if (n <= 0) {
			fail(EXIT_ERROR, "--push: reading %s: %s", path, n < 0 ? strerror(errno) : "short read");
			goto bad;
		}
		got += (size_t)n;
	}
	if (!EVP_Digest(buf, got, md, &mdlen, EVP_sha256(), NULL) || mdlen != 32) {
		fail(EXIT_ERROR, "--push: cannot hash %s", path);
		goto bad;
	}
	for (unsigned i = 0; i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
	close(fd);
	*len = got;
	return buf;
bad:
	if (fd >= 0)
		close(fd);
	free(buf);
	return NULL;
}

/* Runs command on the server, sending in (may be NULL) as its input.
 * Returns its exit status with its output in out (at most cap - 1 bytes,
 * trailing newlines cut) and the first line of its stderr in err; -1 with
 * fail() set when the session failed. */
static int run(LIBSSH2_SESSION *s, const char *what, const char *command, const uint8_t *in,
	       size_t inlen, char *out, size_t cap, char *err, size_t errcap)
{
	LIBSSH2_CHANNEL *ch = libssh2_channel_open_session(s);
	size_t got = 0, egot = 0;
	ssize_t n;
	int status;

	out[0] = err[0] = '\0';
	if (!ch)
		return fail(EXIT_REFUSED, "--push: the server refused a channel to %s: %s", what, ssh_errmsg(s));
	if (libssh2_channel_exec(ch, command) != 0) {
		fail(EXIT_REFUSED, "--push: the server refused to %s: %s", what, ssh_errmsg(s));
		libssh2_channel_free(ch);
		return -1;
	}
	for (size_t off = 0; off < inlen; off += (size_t)n) {
		n = libssh2_channel_write(ch, (const char *)in + off, inlen - off);
		if (n <= 0) {
			fail(EXIT_REFUSED, "--push: sending the binary failed after %zu of %zu bytes: %s", off,
			     inlen, ssh_errmsg(s));
			libssh2_channel_free(ch);
			return -1;
		}
	}
	libssh2_channel_send_eof(ch);
	for (;;) {
		char buf[1024];

		n = libssh2_channel_read(ch, buf, sizeof(buf));
		if (n > 0) {
			size_t k = (size_t)n < cap - 1 - got ? (size_t)n : cap - 1 - got;

			memcpy(out + got, buf, k);
			got += k;
			continue;
		}
		n = libssh2_channel_read_stderr(ch, buf, sizeof(buf));
		if (n > 0) {
			size_t k = (size_t)n < errcap - 1 - egot ? (size_t)n : errcap - 1 - egot;

			memcpy(err + egot, buf, k);
			egot += k;
			continue;
		}
		if (n < 0 || libssh2_channel_eof(ch))
			break;
	}
	out[got] = err[egot] = '\0';
	while (got && (out[got - 1] == '\n' || out[got - 1] == '\r'))
		out[--got] = '\0';
	err[strcspn(err, "\r\n")] = '\0';
	for (char *c = err; *c; c++)
		if ((unsigned char)*c < 0x20 || *c == 0x7f)
			*c = '?';
	libssh2_channel_close(ch);
	libssh2_channel_wait_closed(ch);
	status = libssh2_channel_get_exit_status(ch);
	libssh2_channel_free(ch);
	return status;
}

static bool printable_word(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (*s <= 0x20 || *s > 0x7e)
			return false;
	return true;
}

int push_helper(LIBSSH2_SESSION *s, const char *remote_command, unsigned timeout_s, char *cmd,
		size_t cap, bool *uploaded)
{
	char local[PATH_MAX], hex[65], name[128], path[192], sh[1024], out[PUSH_OUT_MAX], err[256];
	struct utsname u;
	uint8_t *bin = NULL;
	size_t len = 0;
	int st;

	*uploaded = false;
	if (uname(&u) < 0)
		return fail(EXIT_ERROR, "--push: uname: %s", strerror(errno));
	libssh2_session_set_blocking(s, 1);
	libssh2_session_set_timeout(s, (long)timeout_s * 1000);
	st = run(s, "run uname -m", "uname -m", NULL, 0, out, sizeof(out), err, sizeof(err));
	if (st < 0)
		return -1;
	if (st != 0 || !printable_word(out))
		return fail(EXIT_REFUSED, "--push: cannot tell the server's machine type (`uname -m' %s%s%s)",
			    st ? "failed" : "said nothing usable", err[0] ? ": " : "", err);
	if (strcmp(out, u.machine))
		return fail(EXIT_REFUSED, "--push: the server is %.64s, this sshtun is built for %s: not sending it "
			    "(install sshtun for %.64s on the server)", out, u.machine, out);
	if (push_local_binary(local, sizeof(local)) < 0 || !(bin = read_binary(local, &len, hex)))
		return -1;
	if (push_name(sshtun_version, hex, name, sizeof(name)) < 0) {
		free(bin);
		return fail(EXIT_ERROR, "--push: version string too long");
	}
	snprintf(path, sizeof(path), PUSH_DIR "/%s", name);
	/* What is there now: nothing, our copy, or something to leave alone.
	 * First the directories the copy lives in: one that another login may
	 * write (or that is neither ours nor root's) lets it swap the binary
	 * between our hash check and the exec, so nothing is stored or run
	 * there.  %%a's last two digits are group and other. */
	snprintf(sh, sizeof(sh),
		 "me=$(id -u); for d in \"$HOME\" \"$HOME/.cache\" \"" PUSH_DIR "\"; do "
		 "[ -e \"$d\" ] || continue; set -- $(stat -L -c '%%u %%a' \"$d\") || exit 1; "
		 "if [ \"$1\" != \"$me\" ] && [ \"$1\" != 0 ]; then echo baddir; exit 0; fi; "
		 "case $2 in *[2367]? | *[2367]) echo baddir; exit 0;; esac; done; "
		 "f=\"%s\"; if [ -L \"$f\" ]; then echo link; elif [ ! -e \"$f\" ]; then echo none; "
		 "elif [ ! -f \"$f\" ] || [ ! -O \"$f\" ]; then echo other; "
		 "else sha256sum <\"$f\" | cut -c1-64; fi", path);
	st = run(s, "look for a pushed copy", sh, NULL, 0, out, sizeof(out), err, sizeof(err));
	if (st < 0) {
		free(bin);
		return -1;
	}
	if (st == 0 && !strcmp(out, "baddir")) {
		free(bin);
		return fail(EXIT_REFUSED, "--push: ~/.cache/sshtun or a directory above it on the server is "
			    "writable by others or not the login user's: not storing a binary there (chmod go-w it)");
	}
	if (st == 0 && !strcmp(out, hex)) {
		log_info("--push: using ~/.cache/sshtun/%s on the server (its SHA-256 matches)", name);
	} else if (st == 0 && !strcmp(out, "none")) {
		log_info("--push: sending %s (%zu bytes) to ~/.cache/sshtun/%s", local, len, name);
		libssh2_session_set_timeout(s, PUSH_UPLOAD_TIMEOUT_S * 1000L);
		/* A file of its own (noclobber), checked, then linked to its
		 * name: ln never replaces what is there. */
		snprintf(sh, sizeof(sh),
			 "umask 077 && mkdir -p \"%s\" && t=\"%s.$$.tmp\" && set -C && cat >\"$t\" && "
			 "h=$(sha256sum <\"$t\" | cut -c1-64) && "
			 "if [ \"$h\" != %s ]; then echo \"the copy's SHA-256 is $h\" >&2; false; else "
			 "chmod 700 \"$t\" && ln \"$t\" \"%s\"; fi; rc=$?; rm -f \"$t\"; exit $rc",
			 PUSH_DIR, path, hex, path);
		st = run(s, "store the binary", sh, bin, len, out, sizeof(out), err, sizeof(err));
		libssh2_session_set_timeout(s, (long)timeout_s * 1000);
		if (st < 0) {
			free(bin);
			return -1;
		}
		if (st != 0) {
			free(bin);
			return fail(EXIT_REFUSED, "--push: storing ~/.cache/sshtun/%s on the server failed (status %d%s%s)",
				    name, st, err[0] ? ": " : "", err);
		}
		*uploaded = true;
	} else {
		free(bin);
		return fail(EXIT_REFUSED, "--push: ~/.cache/sshtun/%s on the server is not this binary (%s); "
			    "not touching it: remove it to push again", name,
			    !strcmp(out, "link") ? "a symbolic link" : !strcmp(out, "other") ?
			    "not a plain file of the login user" : "another SHA-256");
	}
	free(bin);
	if (push_command(remote_command, path, cmd, cap) < 0)
		return fail(EXIT_ERROR, "--push: --remote-command too long");
	return 0;
}
