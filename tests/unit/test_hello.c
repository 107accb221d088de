/* The hello parser and formatter, and inet_prefix. */
#include <arpa/inet.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include <cmocka.h>
#undef fail
#undef fail_msg

#include "common.h"
#include "hello.h"

#define assert_contains(hay, needle) do { \
		if (!strstr((hay), (needle))) { \
			print_error("`%s' does not contain `%s'\n", (hay), (needle)); \
			_fail(__FILE__, __LINE__); \
		} \
	} while (0)

static int parse(const char *s, struct hello *h, char *err, size_t errlen)
{
	return hello_parse((const uint8_t *)s, strlen(s), h, err, errlen);
}

/* Parsing s fails with a message that contains want. */
static void refused(const char *s, size_t len, const char *want)
{
	struct hello h;
	char err[256] = "";

	if (hello_parse((const uint8_t *)s, len, &h, err, sizeof(err)) != -1) {
		print_error("accepted: `%s'\n", s);
		_fail(__FILE__, __LINE__);
	}
	assert_contains(err, want);
	assert_true(strncmp(err, "hello: ", 7) == 0);
}

#define REFUSED(s, want) refused((s), sizeof(s) - 1, (want))

static void prefix(struct inet_prefix *p, const char *s)
{
	assert_int_equal(inet_prefix_parse(s, p), 0);
}

static void test_round_trip(void **state)
{
	struct hello h, back;
	uint8_t out[HELLO_MAX];
	char err[256], s[64];
	int n;

	memset(&h, 0, sizeof(h));
	h.proto = 1;
	strcpy(h.software, "sshtun 0.1.0-3-gabcdef");
	h.mtu = 1400;
	h.compress = COMPRESS_ZLIB;
	strcpy(h.id, "0123456789abcdef0123456789abcdef");
	prefix(&h.client4, "10.77.0.1/31");
	prefix(&h.server4, "10.77.0.0/31");
	prefix(&h.client6, "fd77:7373:6874::3/127");
	prefix(&h.server6, "fd77:7373:6874::2/127");
	n = hello_format(&h, out, sizeof(out));
	assert_true(n > 0);
	assert_memory_equal(out, "proto=1\nsoftware=sshtun 0.1.0-3-gabcdef\nmtu=1400\n"
			    "compress=zlib\nid=0123456789abcdef0123456789abcdef\n"
			    "client4=10.77.0.1/31\nserver4=10.77.0.0/31\n"
			    "client6=fd77:7373:6874::3/127\nserver6=fd77:7373:6874::2/127\n", (size_t)n);
	assert_int_equal(hello_parse(out, (size_t)n, &back, err, sizeof(err)), 0);
	assert_memory_equal(&h, &back, sizeof(h));
	assert_string_equal(inet_prefix_str(&back.client6, true, s, sizeof(s)),
			    "fd77:7373:6874::3/127");
	/* Exactly the room it needs, and one byte less. */
	assert_int_equal(hello_format(&h, out, (size_t)n), n);
	assert_int_equal(hello_format(&h, out, (size_t)n - 1), -1);
	assert_int_equal(hello_format(&h, out, 0), -1);
}

static void test_minimal(void **state)
{
	struct hello h;
	uint8_t out[64];
	char err[256];
	int n;

	assert_int_equal(parse("proto=1\n", &h, err, sizeof(err)), 0);
	assert_int_equal(h.proto, 1);
	assert_int_equal(h.mtu, 0);
	assert_int_equal(h.compress, 0);
	assert_string_equal(h.id, "");
	assert_string_equal(h.software, "");
	assert_int_equal(h.client4.family, 0);
	assert_int_equal(h.server6.family, 0);
	n = hello_format(&h, out, sizeof(out));
	assert_int_equal(n, 8);
	assert_memory_equal(out, "proto=1\n", 8);
	/* A software string that would break the line is never sent. */
	strcpy(h.software, "a\nid=x");
	assert_int_equal(hello_format(&h, out, sizeof(out)), -1);
}

static void test_forward_compatible(void **state)
{
	struct hello h;
	char err[256];

	/* Unknown keys, even twice or empty-valued, and unknown algorithms. */
	assert_int_equal(parse("future=1\nproto=65535\nfuture=2\nx=\ncompress=lz4,zlib,zstd\n"
			       "mtu=65535\nclient4=0.0.0.0/0\nclient6=::/0\nserver6=::1/128\n"
			       "software=\n", &h, err, sizeof(err)), 0);
	assert_int_equal(h.proto, 65535);
	assert_int_equal(h.compress, COMPRESS_ZLIB);
	assert_int_equal(h.mtu, MTU_MAX);
	assert_int_equal(h.client4.plen, 0);
	assert_int_equal(h.client6.plen, 0);
	assert_int_equal(h.server6.plen, 128);
	assert_int_equal(parse("compress=lz4,,zstd\nproto=1\nmtu=576\n", &h, err, sizeof(err)), 0);
	assert_int_equal(h.compress, 0);
	assert_int_equal(h.mtu, MTU_MIN);
	assert_int_equal(parse("compress=\nproto=2\n", &h, err, sizeof(err)), 0);
	assert_int_equal(h.compress, 0);
	/* gso=: what the sender takes behind a virtio-net header; names it
	 * does not know are a newer peer's. */
	assert_int_equal(parse("proto=1\ngso=tcp6,quic,csum,,udp\n", &h, err, sizeof(err)), 0);
	assert_int_equal(h.gso, VNET_CAP_TCP6 | VNET_CAP_CSUM | VNET_CAP_UDP);
	assert_int_equal(parse("proto=1\ngso=\n", &h, err, sizeof(err)), 0);
	assert_int_equal(h.gso, 0);
}

static void test_gso_format(void **state)
{
	struct hello h, back;
	uint8_t out[64];
	char err[256];
	int n;

	memset(&h, 0, sizeof(h));
	h.proto = 1;
	h.gso = VNET_CAP_CSUM | VNET_CAP_TCP4 | VNET_CAP_TCP6 | VNET_CAP_UDP;
	n = hello_format(&h, out, sizeof(out));
	assert_true(n > 0);
	assert_memory_equal(out, "proto=1\ngso=csum,tcp4,tcp6,udp\n", (size_t)n);
	assert_int_equal(hello_parse(out, (size_t)n, &back, err, sizeof(err)), 0);
	assert_int_equal(back.gso, h.gso);
	/* None: no key at all, as an older sshtun sends. */
	h.gso = 0;
	assert_int_equal(hello_format(&h, out, sizeof(out)), 8);
}

static void test_structure(void **state)
{
	char big[HELLO_MAX + 2];

	REFUSED("", "missing proto");
	REFUSED("mtu=1400\n", "missing proto");
	REFUSED("proto=1\nproto=1\n", "duplicate key `proto'");
	REFUSED("proto=1\nmtu=1400\nmtu=1400\n", "duplicate key `mtu'");
	REFUSED("proto=1", "last line `proto=1' does not end in a newline");
	REFUSED("proto=1\nmtu=1400", "last line `mtu=1400'");
	REFUSED("proto=1\nmtu=14\00000\n", "NUL byte at offset 14");
	REFUSED("\0proto=1\n", "NUL byte at offset 0");
	REFUSED("proto=1\n\n", "line 2 `' has no '='");
	REFUSED("proto=1\nhello world\n", "line 2 `hello world' has no '='");
	REFUSED("proto=1\n=5\n", "line 2 `=5' has an empty key");
	REFUSED("proto=1\r\n", "bad proto `1?'");

	/* Over HELLO_MAX, even when every line is fine. */
	memset(big, 'x', sizeof(big));
	memcpy(big, "proto=1\nfuture=", 15);
	big[HELLO_MAX] = '\n';
	refused(big, HELLO_MAX + 1, "4097 bytes, over the 4096-byte limit");
	big[HELLO_MAX - 1] = '\n';
	{
		struct hello h;
		char err[256];

		assert_int_equal(hello_parse((uint8_t *)big, HELLO_MAX, &h, err, sizeof(err)), 0);
	}
}

static void test_values(void **state)
{
	REFUSED("proto=0\n", "bad proto `0' (1..65535)");
	REFUSED("proto=65536\n", "bad proto `65536'");
	REFUSED("proto=01\n", "bad proto `01'");
	REFUSED("proto=\n", "bad proto `'");
	REFUSED("proto=-1\n", "bad proto `-1'");
	REFUSED("proto=+1\n", "bad proto `+1'");
	REFUSED("proto= 1\n", "bad proto ` 1'");
	REFUSED("proto=99999999999999999999999\n", "bad proto `99999999999999999999999'");
	REFUSED("proto=1\nmtu=99999\n", "hello: bad mtu `99999' (576..65535)");
	REFUSED("proto=1\nmtu=575\n", "bad mtu `575' (576..65535)");
	REFUSED("proto=1\nmtu=1400 \n", "bad mtu `1400 '");
	REFUSED("proto=1\nmtu=0x500\n", "bad mtu `0x500'");
	REFUSED("proto=1\nid=0123456789ABCDEF0123456789abcdef\n",
		"bad id `0123456789ABCDEF0123456789abcdef' (32 lowercase hex digits)");
	REFUSED("proto=1\nid=0123456789abcdef0123456789abcde\n",
		"bad id `0123456789abcdef0123456789abcde'");
	REFUSED("proto=1\nid=0123456789abcdef0123456789abcdef0\n", "bad id `");
	REFUSED("proto=1\nid=0123456789abcdef0123456789abcdeg\n", "bad id `");
	REFUSED("proto=1\nid=\n", "bad id `'");
	REFUSED("proto=1\nsoftware=\x01\n", "bad software `?'");
	REFUSED("proto=1\nsoftware=s\xc3\xa9\n", "bad software `s?\?'");
	REFUSED("proto=1\nsoftware=0123456789012345678901234567890123456789012345678901234567890123\n",
		"bad software `012345678901234567890123456789012345678901234567890123456789'");
}

/* --connections: conns= (1..8) and join= (a token as id= is), each
 * round-tripped; out of range or malformed refused with the key named. */
static void test_connections(void **state)
{
	static const char text[] = "proto=1\nconns=8\njoin=00112233445566778899aabbccddeeff\n";
	struct hello h, back;
	uint8_t out[HELLO_MAX];
	char err[256];
	int n;

	assert_int_equal(parse(text, &h, err, sizeof(err)), 0);
	assert_int_equal(h.conns, 8);
	assert_string_equal(h.join, "00112233445566778899aabbccddeeff");
	n = hello_format(&h, out, sizeof(out));
	assert_int_equal(n, (int)strlen(text));
	assert_memory_equal(out, text, (size_t)n);
	assert_int_equal(hello_parse(out, (size_t)n, &back, err, sizeof(err)), 0);
	assert_memory_equal(&h, &back, sizeof(h));
	assert_int_equal(parse("proto=1\nconns=1\n", &h, err, sizeof(err)), 0);
	assert_int_equal(h.conns, 1);
	assert_int_equal(parse("proto=1\n", &h, err, sizeof(err)), 0);
	assert_int_equal(h.conns, 0);
	assert_string_equal(h.join, "");
	REFUSED("proto=1\nconns=0\n", "hello: bad conns `0' (1..8)");
	REFUSED("proto=1\nconns=9\n", "hello: bad conns `9' (1..8)");
	REFUSED("proto=1\nconns=02\n", "bad conns `02'");
	REFUSED("proto=1\nconns=\n", "bad conns `'");
	REFUSED("proto=1\nconns=2\nconns=2\n", "duplicate key `conns'");
	REFUSED("proto=1\njoin=00112233445566778899AABBCCDDEEFF\n",
		"bad join `00112233445566778899AABBCCDDEEFF' (32 lowercase hex digits)");
	REFUSED("proto=1\njoin=bad\n", "bad join `bad'");
	REFUSED("proto=1\njoin=\n", "bad join `'");
	/* A join that would break the line is never sent. */
	strcpy(h.join, "a\nid=x");
	assert_int_equal(hello_format(&h, out, sizeof(out)), -1);
}

/* conn= (0..7): which connection of the client's this is; 0 is one, and
 * absent is told apart from it. */
static void test_conn(void **state)
{
	static const char text[] = "proto=1\nconns=2\nconn=0\n";
	struct hello h, back;
	uint8_t out[HELLO_MAX];
	char err[256];
	int n;

	assert_int_equal(parse(text, &h, err, sizeof(err)), 0);
	assert_true(h.has_conn);
	assert_int_equal(h.conn, 0);
	n = hello_format(&h, out, sizeof(out));
	assert_int_equal(n, (int)strlen(text));
	assert_memory_equal(out, text, (size_t)n);
	assert_int_equal(hello_parse(out, (size_t)n, &back, err, sizeof(err)), 0);
	assert_memory_equal(&h, &back, sizeof(h));
	assert_int_equal(parse("proto=1\nconn=7\n", &h, err, sizeof(err)), 0);
	assert_true(h.has_conn);
	assert_int_equal(h.conn, 7);
	assert_int_equal(parse("proto=1\n", &h, err, sizeof(err)), 0);
	assert_false(h.has_conn);
	n = hello_format(&h, out, sizeof(out));
	assert_null(memmem(out, (size_t)n, "conn=", 5));
	REFUSED("proto=1\nconn=8\n", "hello: bad conn `8' (0..7)");
	REFUSED("proto=1\nconn=-1\n", "bad conn `-1'");
	REFUSED("proto=1\nconn=01\n", "bad conn `01'");
	REFUSED("proto=1\nconn=x\n", "bad conn `x'");
	REFUSED("proto=1\nconn=\n", "bad conn `'");
	REFUSED("proto=1\nconn=1\nconn=1\n", "duplicate key `conn'");
	/* Never sent out of range. */
	h.has_conn = true;
	h.conn = 8;
	assert_int_equal(hello_format(&h, out, sizeof(out)), -1);
}

static void test_addresses(void **state)
{
	struct hello h;
	char err[256];

	REFUSED("proto=1\nclient4=10.0.0.1\n", "bad client4 `10.0.0.1' (A.B.C.D/LEN, LEN 0..32)");
	REFUSED("proto=1\nclient4=10.0.0.1/33\n", "bad client4 `10.0.0.1/33'");
	REFUSED("proto=1\nserver4=10.0.0/24\n", "bad server4 `10.0.0/24'");
	REFUSED("proto=1\nserver4=10.0.0.256/24\n", "bad server4 `10.0.0.256/24'");
	REFUSED("proto=1\nserver4=10.0.0.1/\n", "bad server4 `10.0.0.1/'");
	REFUSED("proto=1\nserver4=10.0.0.1/024\n", "bad server4 `10.0.0.1/024'");
	REFUSED("proto=1\nserver4=::1/64\n", "bad server4 `::1/64'");
	REFUSED("proto=1\nclient6=10.0.0.1/31\n", "bad client6 `10.0.0.1/31' (IPv6-address/LEN, LEN 0..128)");
	REFUSED("proto=1\nclient6=fd00::1/129\n", "bad client6 `fd00::1/129'");
	REFUSED("proto=1\nserver6=fd00::1\n", "bad server6 `fd00::1'");
	REFUSED("proto=1\nserver6=fd00::g/64\n", "bad server6 `fd00::g/64'");
	REFUSED("proto=1\nclient4=10.0.0.1/31\nclient4=10.0.0.1/31\n", "duplicate key `client4'");
	assert_int_equal(parse("proto=1\nclient4=198.51.100.3/31\nserver6=2001:db8::2/127\n", &h,
			       err, sizeof(err)), 0);
	assert_int_equal(h.client4.family, AF_INET);
	assert_int_equal(h.client4.plen, 31);
	assert_int_equal(ntohl(h.client4.addr.v4.s_addr), 0xc6336403);
	assert_int_equal(h.server6.family, AF_INET6);
	assert_int_equal(h.server6.plen, 127);
	assert_int_equal(h.server6.addr.v6.s6_addr[15], 2);
}

static void test_inet_prefix(void **state)
{
	struct inet_prefix p;
	char s[64], tiny[4];

	prefix(&p, "198.51.100.3");
	assert_int_equal(p.family, AF_INET);
	assert_int_equal(p.plen, 32);
	assert_string_equal(inet_prefix_str(&p, true, s, sizeof(s)), "198.51.100.3/32");
	assert_string_equal(inet_prefix_str(&p, false, s, sizeof(s)), "198.51.100.3");
	prefix(&p, "2001:DB8::1");
	assert_int_equal(p.family, AF_INET6);
	assert_int_equal(p.plen, 128);
	assert_string_equal(inet_prefix_str(&p, true, s, sizeof(s)), "2001:db8::1/128");
	prefix(&p, "::ffff:1.2.3.4/96");
	assert_int_equal(p.family, AF_INET6);
	assert_int_equal(p.plen, 96);
	prefix(&p, "0.0.0.0/0");
	assert_int_equal(p.plen, 0);
	assert_string_equal(inet_prefix_str(&p, true, tiny, sizeof(tiny)), "0.0");

	static const char *const bad[] = {
		"", "/24", "1.2.3.4/", "1.2.3.4/33", "1.2.3.4/-1", "1.2.3.4/1x", "1.2.3.4/08",
		"1.2.3.4/24/", "1.2.3", "01.2.3.4", "1.2.3.4 ", " 1.2.3.4", "::1/129", "::1/ 64",
		"fe80::1%eth0", "1.2.3.4/4294967328", "abcd:abcd:abcd:abcd:abcd:abcd:abcd:abcd:abcd/64",
		"0000000000000000000000000000000000000000000000000000001.2.3.4",
	};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		p.family = AF_INET;
		if (inet_prefix_parse(bad[i], &p) != -1) {
			print_error("accepted `%s'\n", bad[i]);
			_fail(__FILE__, __LINE__);
		}
		assert_int_equal(p.family, 0);
	}
	memset(&p, 0, sizeof(p));
	assert_string_equal(inet_prefix_str(&p, true, s, sizeof(s)), "");

	/* A network the user names: host bits go, the length stays. */
	assert_int_equal(inet_prefix_parse_net("198.51.100.77/24", &p), 0);
	assert_string_equal(inet_prefix_str(&p, true, s, sizeof(s)), "198.51.100.0/24");
	assert_int_equal(inet_prefix_parse_net("2001:db8:1:2::5/33", &p), 0);
	assert_string_equal(inet_prefix_str(&p, true, s, sizeof(s)), "2001:db8::/33");
	assert_int_equal(inet_prefix_parse_net("10.1.2.3/0", &p), 0);
	assert_string_equal(inet_prefix_str(&p, true, s, sizeof(s)), "0.0.0.0/0");
	assert_int_equal(inet_prefix_parse_net("10.1.2.3", &p), 0);
	assert_string_equal(inet_prefix_str(&p, true, s, sizeof(s)), "10.1.2.3/32");
	assert_int_equal(inet_prefix_parse_net("10.1.2.3/33", &p), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_minimal),
		cmocka_unit_test(test_forward_compatible),
		cmocka_unit_test(test_gso_format),
		cmocka_unit_test(test_structure),
		cmocka_unit_test(test_values),
		cmocka_unit_test(test_connections),
		cmocka_unit_test(test_conn),
		cmocka_unit_test(test_addresses),
		cmocka_unit_test(test_inet_prefix),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
