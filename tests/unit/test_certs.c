/* OpenSSH certificates as the client reads them (certs.c) and the host
 * patterns of known_hosts marker lines (known_hosts.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "certs.h"
#include "known_hosts.h"

/* ssh-keygen -t ecdsa; ssh-keygen -s CA -I unit-id -n alice,bob
 * -V 20300101000000Z:20300102000000Z: a user certificate. */
static const char cert_b64[] =
	"AAAAKGVjZHNhLXNoYTItbmlzdHAyNTYtY2VydC12MDFAb3BlbnNzaC5jb20AAAAg"
	"pbfkoabIO5L2e875GqpBchjSSUFqcJGN/LQpn+nvxhQAAAAIbmlzdHAyNTYAAABB"
	"BHn9jd8YaMv/YOPWiGMpZItheqhsGp692ZgEgdmI0mLjmgbVuWaZfLzEN9xx4g2/"
	"tpt17B5CVtVL8R0omxlnt0QAAAAAAAAAAAAAAAEAAAAHdW5pdC1pZAAAABAAAAAF"
	"YWxpY2UAAAADYm9iAAAAAHDb2IAAAAAAcN0qAAAAAAAAAACCAAAAFXBlcm1pdC1Y"
	"MTEtZm9yd2FyZGluZwAAAAAAAAAXcGVybWl0LWFnZW50LWZvcndhcmRpbmcAAAAA"
	"AAAAFnBlcm1pdC1wb3J0LWZvcndhcmRpbmcAAAAAAAAACnBlcm1pdC1wdHkAAAAA"
	"AAAADnBlcm1pdC11c2VyLXJjAAAAAAAAAAAAAAAzAAAAC3NzaC1lZDI1NTE5AAAA"
	"INnFo5v6y3xzHhYRgfoCpDvgHBoAZ+Jij1InePxH+rNnAAAAUwAAAAtzc2gtZWQy"
	"NTUxOQAAAEB9/lz3dMgonC/CSLCOyrIXgzBogSnTRbRErtMdl6W5JJNHEVKqg4Oh"
	"9ViF5MQXfWxZHQDWDQbQLlg3/BknKu4L";

#define T_2030 1893456000	/* 2030-01-01 00:00:00 UTC */

static size_t load(uint8_t *blob, size_t cap)
{
	int n = b64_decode(cert_b64, strlen(cert_b64), blob, cap);

	assert_true(n > 0);
	return (size_t)n;
}

static void test_parse(void **state)
{
	static uint8_t blob[CERT_BLOB_MAX];
	struct cert_info ci;
	char err[200];
	size_t n = load(blob, sizeof(blob));

	assert_int_equal(cert_parse(blob, n, &ci, err, sizeof(err)), 0);
	assert_string_equal(ci.type, "ecdsa-sha2-nistp256-cert-v01@openssh.com");
	assert_string_equal(ci.key_type, "ecdsa-sha2-nistp256");
	assert_true(ci.user);
	assert_string_equal(ci.key_id, "unit-id");
	assert_int_equal(ci.nprincipals, 2);
	assert_string_equal(ci.principals[0], "alice");
	assert_string_equal(ci.principals[1], "bob");
	assert_int_equal(ci.valid_after, T_2030);
	assert_int_equal(ci.valid_before, T_2030 + 86400);
	/* curve and Q: string "nistp256" (4 + 8) and a 65-byte point (4 + 65) */
	assert_int_equal(ci.pubkey_len, 12 + 69);
	assert_true(cert_type_is(ci.type, strlen(ci.type)));
	assert_false(cert_type_is("ssh-ed25519", 11));
}

/* Every cut of the blob is refused (ASan would see a read past it). */
static void test_truncated(void **state)
{
	static uint8_t blob[CERT_BLOB_MAX];
	struct cert_info ci;
	char err[200];
	size_t n = load(blob, sizeof(blob));
	size_t full_fields;

	/* The fields we read end at valid_before; past that, any cut parses. */
	assert_int_equal(cert_parse(blob, n, &ci, err, sizeof(err)), 0);
	full_fields = (size_t)(ci.pubkey - blob) + ci.pubkey_len + 8 + 4 + 4 + 7 + 4 + 16 + 16;
	for (size_t k = 0; k < full_fields; k++) {
		uint8_t *copy = malloc(k ? k : 1);

		memcpy(copy, blob, k);
		assert_int_equal(cert_parse(copy, k, &ci, err, sizeof(err)), -1);
		free(copy);
	}
	/* A NUL inside the type name (the fuzzer's find). */
	blob[4 + 5] = '\0';
	assert_int_equal(cert_parse(blob, n, &ci, err, sizeof(err)), -1);
	blob[4 + 5] = '-';
	assert_int_equal(cert_parse(blob, n, &ci, err, sizeof(err)), 0);
	/* A length that claims more than there is. */
	blob[3] = 0xff;
	assert_int_equal(cert_parse(blob, n, &ci, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "not an OpenSSH certificate"));
}

static void test_problems(void **state)
{
	static uint8_t blob[CERT_BLOB_MAX];
	struct cert_info ci;
	char err[200], why[400];
	size_t n = load(blob, sizeof(blob));

	assert_int_equal(cert_parse(blob, n, &ci, err, sizeof(err)), 0);
	assert_int_equal(cert_problem(&ci, "alice", T_2030 + 10, why, sizeof(why)), -1);
	assert_int_equal(cert_problem(&ci, "bob", T_2030 + 10, why, sizeof(why)), -1);
	assert_int_equal(cert_problem(&ci, "root", T_2030 + 10, why, sizeof(why)), 0);
	assert_non_null(strstr(why, "names principals alice,bob, not root"));
	assert_int_equal(cert_problem(&ci, "alice", T_2030 + 86400, why, sizeof(why)), 0);
	assert_non_null(strstr(why, "expired on 2030-01-02 00:00:00 UTC"));
	assert_int_equal(cert_problem(&ci, "alice", T_2030 - 1, why, sizeof(why)), 0);
	assert_non_null(strstr(why, "not valid before 2030-01-01 00:00:00 UTC"));
	/* ECDSA certificates are signable with any libssh2. */
	assert_int_equal(cert_signable(&ci, why, sizeof(why)), 0);
	ci.user = false;
	assert_int_equal(cert_problem(&ci, "alice", T_2030 + 10, why, sizeof(why)), 0);
	assert_non_null(strstr(why, "host certificate"));
}

static void test_b64_cap(void **state)
{
	uint8_t out[4];

	assert_int_equal(b64_decode("AAAA", 4, out, sizeof(out)), 3);
	assert_int_equal(b64_decode("AAAAAAAA", 8, out, sizeof(out)), -1);
	assert_int_equal(b64_decode("QQ==\n", 5, out, sizeof(out)), 1);
	assert_int_equal(out[0], 'A');
}

static void test_host_patterns(void **state)
{
#define M(p, n) known_hosts_match(p, strlen(p), n)
	assert_true(M("example.com", "example.com"));
	assert_true(M("*.Example.COM", "box.example.com"));
	assert_false(M("*.example.com", "example.com"));
	assert_true(M("a.test,198.51.100.?", "198.51.100.1"));
	assert_false(M("*.example.com,!bad.example.com", "bad.example.com"));
	assert_true(M("*.example.com,!bad.example.com", "good.example.com"));
	assert_true(M("[198.51.100.1]:2222", "[198.51.100.1]:2222"));
	assert_false(M("198.51.100.1", "[198.51.100.1]:2222"));
	assert_false(M("", "x"));
	assert_false(M(",,!", "x"));
	assert_true(M("*", "anything"));
	assert_true(M("a*b*c", "aXXbYYc"));
	assert_false(M("a*b*c", "aXXbYY"));
	assert_true(M("**?", "x"));
	assert_false(M("?", ""));
	/* Many stars against a long name that almost matches: quick, not
	 * exponential (one backtracking point). */
	{
		char pat[256], name[256];
		size_t o = 0;

		for (int i = 0; i < 60; i++) {
			pat[o++] = '*';
			pat[o++] = 'a';
		}
		pat[o++] = 'b';
		pat[o] = '\0';
		memset(name, 'a', 200);
		name[200] = '\0';
		assert_false(known_hosts_match(pat, strlen(pat), name));
	}
#undef M
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_truncated),
		cmocka_unit_test(test_problems),
		cmocka_unit_test(test_b64_cap),
		cmocka_unit_test(test_host_patterns),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
