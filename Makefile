# sshtun — see README.md.  `make`, `make check`, `make demo` (as root, or with sudo).

PREFIX ?= /usr/local
DESTDIR ?=
BINDIR ?= $(PREFIX)/bin
MANDIR ?= $(PREFIX)/share/man
BASHCOMPDIR ?= $(PREFIX)/share/bash-completion/completions
SYSTEMDUNITDIR ?= $(PREFIX)/lib/systemd/system

# The release number lives here; a build from a git checkout adds its commit
# ("sshtun 0.2.0 (a75452c)"), a build from `make dist`'s tarball does not.
# Only this directory's own .git counts, not a repository it was unpacked in.
VERSION := 0.2.0
COMMIT := $(shell [ -e .git ] && git describe --always --dirty --exclude='*' 2>/dev/null)
FULL_VERSION := $(VERSION)$(if $(COMMIT), ($(COMMIT)))

CC ?= cc
PKGS := libssh2 zlib readline libseccomp slirp libcrypto
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS := $(shell pkg-config --libs $(PKGS) 2>/dev/null || echo -lssh2 -lz -lreadline -lseccomp -lslirp -lcrypto)

CFLAGS ?= -O2 -g
CFLAGS += -pthread -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -Wshadow -Wformat=2 \
	  -Wno-unused-parameter -fno-strict-aliasing -Isrc -Ishell \
	  $(PKG_CFLAGS) -MMD -MP
LDLIBS += $(PKG_LIBS) -pthread

ifeq ($(V),1)
Q :=
else
Q := @
endif

# Every .c under src/ and shell/ is part of the binary; main.c is left out of
# the library that unit tests and fuzz targets link against.  The library is
# an archive, so the linker takes only the objects a test needs, and a test's
# own definitions win: the shell's tests define engine_* (the fake engine in
# tests/unit/shell_fakes.h) and engine.o is then never pulled in.
SRCS := $(sort $(wildcard src/*.c shell/*.c))
LIB_SRCS := $(filter-out src/main.c,$(SRCS))

# Two build trees: the normal one, and one under sanitizers for `make check`.
OBJDIR := build/obj
SAN_OBJDIR := build/san
SAN_FLAGS := -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined

OBJS := $(SRCS:%.c=$(OBJDIR)/%.o)
SAN_OBJS := $(SRCS:%.c=$(SAN_OBJDIR)/%.o)
LIB_OBJS := $(LIB_SRCS:%.c=$(OBJDIR)/%.o)
SAN_LIB_OBJS := $(LIB_SRCS:%.c=$(SAN_OBJDIR)/%.o)

UNIT_SRCS := $(sort $(wildcard tests/unit/test_*.c))
UNIT_BINS := $(UNIT_SRCS:tests/unit/%.c=build/unit/%)
SAN_UNIT_BINS := $(UNIT_SRCS:tests/unit/%.c=build/san-unit/%)

all: sshtun

# The version string lives in one object that is rebuilt when it changes.
build/version.stamp: FORCE
	@mkdir -p build
	@echo '$(FULL_VERSION)' | cmp -s - $@ || echo '$(FULL_VERSION)' > $@
$(OBJDIR)/src/version.o $(SAN_OBJDIR)/src/version.o: build/version.stamp
$(OBJDIR)/src/version.o $(SAN_OBJDIR)/src/version.o: CFLAGS += -DSSHTUN_VERSION='"$(FULL_VERSION)"'
FORCE:

sshtun: $(OBJS)
	@echo "  LD      $@"
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS)

build/sshtun-san: $(SAN_OBJS)
	@echo "  LD      $@"
	$(Q)$(CC) $(CFLAGS) $(SAN_FLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# `make static': sshtun-static, for --push to servers without our libraries.
# libssh2, libcrypto, zlib, readline (with tinfo) and libseccomp from
# Debian's .a files; only glibc stays dynamic; libslirp (and its glib) is
# loaded at run time by the user-space mode (slirp_load.c).
STATIC_OBJDIR := build/static
STATIC_OBJS := $(SRCS:%.c=$(STATIC_OBJDIR)/%.o)
STATIC_LIBS := -Wl,-Bstatic -lssh2 -lcrypto -lz -lreadline -ltinfo -lseccomp -Wl,-Bdynamic -ldl -pthread

static: sshtun-static

sshtun-static: $(STATIC_OBJS)
	@echo "  LD      $@"
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(STATIC_LIBS)

$(STATIC_OBJDIR)/src/version.o: build/version.stamp
$(STATIC_OBJDIR)/src/version.o: CFLAGS += -DSSHTUN_VERSION='"$(FULL_VERSION)"'

$(STATIC_OBJDIR)/%.o: %.c
	@mkdir -p $(@D)
	@echo "  CC-STATIC $<"
	$(Q)$(CC) $(CFLAGS) -DSSHTUN_SLIRP_DLOPEN -c -o $@ $<

$(OBJDIR)/%.o: %.c
	@mkdir -p $(@D)
	@echo "  CC      $<"
	$(Q)$(CC) $(CFLAGS) -c -o $@ $<

$(SAN_OBJDIR)/%.o: %.c
	@mkdir -p $(@D)
	@echo "  CC-SAN  $<"
	$(Q)$(CC) $(CFLAGS) $(SAN_FLAGS) -c -o $@ $<

build/libsshtun.a: $(LIB_OBJS)
	@echo "  AR      $@"
	$(Q)rm -f $@ && $(AR) rcs $@ $^

build/libsshtun-san.a: $(SAN_LIB_OBJS)
	@echo "  AR      $@"
	$(Q)rm -f $@ && $(AR) rcs $@ $^

build/unit/%: tests/unit/%.c build/libsshtun.a
	@mkdir -p $(@D)
	@echo "  TEST    $@"
	$(Q)$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS) -lcmocka

build/san-unit/%: tests/unit/%.c build/libsshtun-san.a
	@mkdir -p $(@D)
	@echo "  TEST-SAN $@"
	$(Q)$(CC) $(CFLAGS) $(SAN_FLAGS) -o $@ $^ $(LDLIBS) -lcmocka

# Debian packages the build, the tests, the demo and the benchmark need.
DEB_PKGS := build-essential pkg-config libssh2-1-dev libreadline-dev zlib1g-dev \
	libcmocka-dev libseccomp-dev libslirp-dev libssl-dev libncurses-dev openssh-server openssh-client iproute2 iputils-ping iperf3 \
	nftables mandoc bash-completion tmux valgrind python3 procps util-linux \
	dnsmasq-base gnuplot-nox socat clang libclang-rt-dev llvm sudo strace linux-perf

deps:
	@missing=""; for p in $(DEB_PKGS); do \
		dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
		echo "  DEPS   $$missing"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; \
	fi

unit: $(UNIT_BINS)
san-unit: $(SAN_UNIT_BINS)

# `make check`: install what is missing, build normally and under sanitizers,
# then run every test tier.  tests/run prints the closing "N passed, N failed".
check: deps
	$(MAKE) sshtun build/sshtun-san unit san-unit static
	tests/run

demo: deps
	$(MAKE) sshtun
	tests/demo.sh

# libFuzzer targets (clang, ASan/UBSan) from the real sources, each run for
# FUZZ_SECONDS from its committed seed corpus.
FUZZ_SECONDS ?= 60
fuzz: deps
	FUZZ_SECONDS=$(FUZZ_SECONDS) tests/fuzz/run.sh

bench: deps
	$(MAKE) sshtun
	tests/bench.sh

# Where the CPU per GB goes (tests/profile.sh): perf, strace -c, CPU s/GB.
profile: deps
	$(MAKE) sshtun
	tests/profile.sh

# The COMMANDS section of sshtun(1) is generated from the shell's command
# table; t_docs.sh fails when the page and the table differ.
man: sshtun
	@awk -v gen="$$(./sshtun --commands-mdoc)" \
		'/^\.Sh COMMANDS/ { print gen; skip = 1; next } \
		 skip && /^\.Sh / { skip = 0 } !skip' man/sshtun.1 > man/sshtun.1.new
	@mv man/sshtun.1.new man/sshtun.1
	@echo "  MAN     man/sshtun.1 (COMMANDS from the command table)"

# The unit template names the binary where it is installed.
build/sshtun@.service: systemd/sshtun@.service.in FORCE
	@mkdir -p build
	@sed 's|@BINDIR@|$(BINDIR)|g' $< > $@.new && { cmp -s $@.new $@ || mv $@.new $@; } && rm -f $@.new

install: sshtun build/sshtun@.service
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man7 $(DESTDIR)$(BASHCOMPDIR) \
		$(DESTDIR)$(SYSTEMDUNITDIR)
	install -m 0755 sshtun $(DESTDIR)$(BINDIR)/sshtun
	install -m 0644 man/sshtun.1 $(DESTDIR)$(MANDIR)/man1/sshtun.1
	install -m 0644 man/sshtun-protocol.7 $(DESTDIR)$(MANDIR)/man7/sshtun-protocol.7
	install -m 0644 completions/sshtun.bash $(DESTDIR)$(BASHCOMPDIR)/sshtun
	install -m 0644 build/sshtun@.service $(DESTDIR)$(SYSTEMDUNITDIR)/sshtun@.service

# A release tarball of the committed tree (uncommitted changes are not in
# it); it builds with `make` without git and says "sshtun $(VERSION)".
DIST := sshtun-$(VERSION)
DIST_OUT ?= $(DIST).tar.gz
dist:
	@[ -e .git ] || { echo "make dist: not a git checkout" >&2; exit 1; }
	$(Q)git archive --format=tar.gz --prefix=$(DIST)/ -o $(DIST_OUT) HEAD
	@echo "  DIST    $(DIST_OUT)"

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/sshtun $(DESTDIR)$(MANDIR)/man1/sshtun.1 \
		$(DESTDIR)$(MANDIR)/man7/sshtun-protocol.7 $(DESTDIR)$(BASHCOMPDIR)/sshtun \
		$(DESTDIR)$(SYSTEMDUNITDIR)/sshtun@.service

clean:
	rm -rf build sshtun sshtun-static sshtun-*.tar.gz

.PHONY: FORCE all deps fuzz man unit san-unit static check demo bench profile dist install uninstall clean
-include $(OBJS:.o=.d) $(SAN_OBJS:.o=.d)
