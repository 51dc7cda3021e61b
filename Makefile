# pchat - one plain GNU Makefile.  `make` builds ./pchat; `make test` installs what
# is missing (Debian packages), builds, and runs the suite twice: once plain and
# once under AddressSanitizer + UndefinedBehaviorSanitizer.
CC ?= cc
PKG_CONFIG ?= pkg-config
CFLAGS ?= -O2 -g
PKGS = sqlite3 libxml-2.0 inih
# Recursive (=) on purpose: evaluated after `make deps` has installed the .pc files.
PC_CFLAGS = $(shell $(PKG_CONFIG) --cflags $(PKGS) 2>/dev/null)
PC_LIBS = $(shell $(PKG_CONFIG) --libs $(PKGS) 2>/dev/null)
LIBS = $(PC_LIBS) -lmbedtls -lmbedx509 -lmbedcrypto -pthread
# CPPFLAGS and LDFLAGS come from the environment when a package is built
# (dpkg-buildflags: _FORTIFY_SOURCE, relro, bindnow); empty otherwise.
ALL_CFLAGS = -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror $(PC_CFLAGS) $(CPPFLAGS) $(CFLAGS) $(EXTRA)
SAN = -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all

# The release: debian/changelog's top entry is the one place it is written;
# pchat --version prints it (with the store schema version it writes).
PCHAT_VERSION := $(shell sed -n '1s/^pchat [(]\([^ ]*\)[)] .*/\1/p' debian/changelog)

# Build folder; the sanitizer build uses B=build/asan EXTRA="$(SAN)".
B ?= build
SRCS = base.c buf.c log.c loop.c config.c net.c sip.c sip_server.c lockout.c xccos.c chat_rooms.c chat_out.c xml_out.c auth.c store.c store_chat.c store_compliance.c compliance.c compliance_xml.c compliance_attach.c durable.c admin.c admin_rooms.c files.c files_soap.c store_files.c admin_files.c control.c rooms_manage.c rm_command.c store_lync.c store_rules.c admin_content.c xccos_lync.c http.c web.c web_pages.c frontend.c user_uri.c compliance_types.c room_uri.c wall.c
OBJS = $(SRCS:%.c=$(B)/%.o)
HDRS = $(wildcard *.h)
UNIT = test_buf test_sip test_config test_auth test_store test_store_chat test_store_faults test_docs test_compliance test_lockout test_migrate test_chat test_rooms_manage test_http
E2E = e2e_transport e2e_registrar e2e_sipe e2e_admin e2e_chat e2e_hostile e2e_crash e2e_ops e2e_compliance e2e_compliance_sipe e2e_files e2e_attach e2e_faults e2e_greedy e2e_sec_accounts e2e_sec_conn e2e_sec_files e2e_sec_chat e2e_cli e2e_status e2e_soap e2e_rooms_manage e2e_lync_rules e2e_lync e2e_web e2e_frontend
TESTBINS = $(UNIT:%=$(B)/tests/%) $(E2E:%=$(B)/tests/%)

# Debian packages: what building and running needs, and what only the tests need.
RUN_DEBS = gcc make pkg-config libc6-dev libmbedtls-dev libsqlite3-dev libxml2-dev libinih-dev
TEST_DEBS = pidgin-sipe libpurple-dev libglib2.0-dev python3 sqlite3 clang-14 libclang-rt-14-dev \
            systemd man-db dpkg-dev debhelper strace lintian \
            chromium chromium-driver python3-selenium kamailio kamailio-tls-modules
# The arm64 (Raspberry Pi) cross-build and its unit tests under qemu-user
# (tests/cross_check.sh); `make deps` adds the arm64 architecture for them.
CROSS_DEBS = gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user libmbedtls-dev:arm64 libsqlite3-dev:arm64 \
             libxml2-dev:arm64 libinih-dev:arm64

all: pchat

pchat: $(B)/pchat.o $(OBJS)
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $^ $(LIBS)

$(B)/pchat: $(B)/pchat.o $(OBJS)
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $^ $(LIBS)

$(B)/%.o: %.c $(HDRS)
	@mkdir -p $(B)
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(B)/pchat.o: ALL_CFLAGS += -DPCHAT_VERSION='"$(PCHAT_VERSION)"'
$(B)/pchat.o: debian/changelog

# Unit tests #include the .c under test, so each links only the libraries.
$(B)/tests/test_%: tests/test_%.c tests/*.h *.c $(HDRS)
	@mkdir -p $(B)/tests
	$(CC) $(ALL_CFLAGS) -o $@ $< $(LIBS)

E2E_HELPERS = tests/tclient.c tests/tchat.c tests/tsipe.c tests/tsoap.c
$(B)/tests/e2e_%: tests/e2e_%.c $(E2E_HELPERS) tests/tclient.h tests/tchat.h tests/tsipe.h tests/tsoap.h tests/check.h tests/testutil.h $(OBJS)
	@mkdir -p $(B)/tests
	$(CC) $(ALL_CFLAGS) -o $@ $< $(E2E_HELPERS) $(OBJS) $(LIBS)

# The load generator (tests/bench*.c, BENCHMARKS.md).  `make bench` builds it and
# runs the default scenario (about a minute); BENCH_ARGS passes options.
BENCH_SRCS = tests/bench.c tests/bench_client.c tests/bench_fe.c tests/bench_raw.c tests/tclient.c tests/tchat.c tests/tsoap.c
$(B)/bench/pchat-bench: $(BENCH_SRCS) tests/bench.h tests/tclient.h tests/tchat.h tests/tsoap.h $(OBJS)
	@mkdir -p $(B)/bench
	$(CC) $(ALL_CFLAGS) -o $@ $(BENCH_SRCS) $(OBJS) $(LIBS) -lm

bench: $(B)/pchat $(B)/bench/pchat-bench
	$(B)/bench/pchat-bench --pchat $(B)/pchat $(BENCH_ARGS)

tests: $(TESTBINS) build/sipe/sipe-harness

# The real client (pidgin-sipe) driven headless: tests/sipe-harness/, with the
# libxml2 SAX1 shim linked in and exported (-rdynamic) so that it interposes
# for the libsipe.so plugin libpurple loads.  Test code, built once for every
# build folder, with the project's warnings.
SIPE_SRCS = tests/sipe-harness/sipe-harness.c tests/sipe-harness/sax1-fix.c
SIPE_PKGS = purple glib-2.0 libxml-2.0
build/sipe/sipe-harness: $(SIPE_SRCS)
	@mkdir -p build/sipe
	$(CC) -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -O1 -g -rdynamic -o $@ $(SIPE_SRCS) \
	  $$(pkg-config --cflags --libs $(SIPE_PKGS)) -ldl

deps:
	@missing=""; for p in $(RUN_DEBS) $(if $(NOTESTDEPS),,$(TEST_DEBS) $(CROSS_DEBS)) $(EXTRA_DEBS); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'install ok installed' || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "make deps: installing$$missing"; \
	  case "$$missing" in *:arm64*) dpkg --print-foreign-architectures | grep -qx arm64 || dpkg --add-architecture arm64;; esac; \
	  apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $$missing; \
	fi

run:
	@$(MAKE) --no-print-directory deps NOTESTDEPS=1
	@$(MAKE) --no-print-directory pchat
	./pchat -c pchat.ini serve

# libFuzzer targets (clang-14), built with ASan+UBSan over the same sources.
# `make fuzz` runs each for FUZZ_SECONDS; `make test` runs a short pass.
FUZZ = fuzz_sip fuzz_ntlm fuzz_xccos fuzz_config fuzz_chat fuzz_soap fuzz_rmcommand fuzz_http
FUZZ_SECONDS ?= 60
FUZZ_FLAGS = -fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all

$(B)/tests/fuzz_%: tests/fuzz/fuzz_%.c $(OBJS)
	@mkdir -p $(B)/tests
	$(CC) $(ALL_CFLAGS) -fsanitize=fuzzer -o $@ $< $(OBJS) $(LIBS)

# fuzz_chat #includes the chat service with fakes of sip_server.c
# (tests/chat_fixture.h), so it links only the libraries.
$(B)/tests/fuzz_chat: tests/fuzz/fuzz_chat.c tests/chat_fixture.h *.c $(HDRS)
	@mkdir -p $(B)/tests
	$(CC) $(ALL_CFLAGS) -fsanitize=fuzzer -o $@ $< $(LIBS)

fuzz-build:
	@$(MAKE) --no-print-directory B=build/fuzz CC=clang-14 EXTRA="$(FUZZ_FLAGS)" $(FUZZ:%=build/fuzz/tests/%)

fuzz:
	@$(MAKE) --no-print-directory deps
	@$(MAKE) --no-print-directory fuzz-build
	FUZZ_SECONDS=$(FUZZ_SECONDS) tests/run.sh build/fuzz

# valgrind memcheck over a representative part of the end-to-end suite: the
# server of each test runs under valgrind (tests/tclient.c honours
# PCHAT_TEST_WRAPPER; the test clients and CLI commands run natively), with
# the tests' waits and the servers' handshake and idle timeouts stretched by
# PCHAT_TEST_TIME_SCALE.  Each server writes
# $(B)/valgrind/PID.log; the target fails on a failed check or on any
# valgrind error or definitely lost block.  Not part of `make test`: it takes
# about 4 minutes (README.md).
VALGRIND_E2E = e2e_transport e2e_registrar e2e_chat e2e_hostile e2e_files
VALGRIND_SCALE ?= 20
VALGRIND_CMD = valgrind --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite \
               --log-file=$(abspath $(B))/valgrind/%p.log

valgrind:
	@$(MAKE) --no-print-directory deps EXTRA_DEBS=valgrind
	@$(MAKE) --no-print-directory $(B)/pchat $(VALGRIND_E2E:%=$(B)/tests/%)
	@rm -rf $(B)/valgrind && mkdir -p $(B)/valgrind; failed=0; start=$$(date +%s); \
	for t in $(VALGRIND_E2E); do \
	  PCHAT_TEST_WRAPPER="$(VALGRIND_CMD)" PCHAT_TEST_TIME_SCALE=$(VALGRIND_SCALE) PCHAT_TEST_RSS_SLACK_MB=4096 \
	    $(B)/tests/$$t $(B)/pchat > $(B)/valgrind/$$t.out 2>&1 || failed=1; \
	  grep -E '^(FAIL|RESULT)' $(B)/valgrind/$$t.out | sed "s|^|[valgrind] |"; \
	done; \
	servers=$$(ls $(B)/valgrind/*.log | wc -l); \
	bad=$$(grep -L 'ERROR SUMMARY: 0 errors' $(B)/valgrind/*.log); \
	echo "valgrind: $$servers server runs in $$(( $$(date +%s) - start )) s; logs in $(B)/valgrind/"; \
	grep -h -E 'definitely lost:|ERROR SUMMARY:' $(B)/valgrind/*.log | sed 's/^==[0-9]*== *//' | sort | uniq -c; \
	if [ -n "$$bad" ]; then echo "valgrind: errors in $$bad"; failed=1; fi; \
	[ $$failed -eq 0 ]

test:
	@$(MAKE) --no-print-directory deps
	@$(MAKE) --no-print-directory pchat tests
	@$(MAKE) --no-print-directory B=build/asan EXTRA="$(SAN)" build/asan/pchat $(TESTBINS:$(B)/%=build/asan/%)
	@$(MAKE) --no-print-directory fuzz-build
	FUZZ_SECONDS=10 tests/run.sh build build/asan build/fuzz

# make install [PREFIX=/usr/local] [DESTDIR=...]: the server, its man pages,
# the systemd unit, and /etc/pchat/pchat.ini made from pchat-site.ini (the
# few keys a site changes) with the store, certificate, key and exports in
# STATEDIR (an existing one is kept).  The full commented reference,
# pchat.ini with the same paths, goes to DOCDIR/examples: a comment changed
# upstream then never makes the package's conffile prompt.
# INSTALL_BIN picks the binary (the tests install the one they test).
PREFIX ?= /usr/local
SBINDIR ?= $(PREFIX)/sbin
MANDIR ?= $(PREFIX)/share/man
SYSCONFDIR ?= /etc
STATEDIR ?= /var/lib/pchat
SYSTEMDUNITDIR ?= $(PREFIX)/lib/systemd/system
DOCDIR ?= $(PREFIX)/share/doc/pchat
INSTALL_BIN ?= $(B)/pchat
INI_PATHS = -e 's|^path = pchat.db$$|path = $(STATEDIR)/pchat.db|' \
            -e 's|^cert = pchat.crt$$|cert = $(STATEDIR)/pchat.crt|' \
            -e 's|^key = pchat.key$$|key = $(STATEDIR)/pchat.key|' \
            -e 's|^output_dir = compliance$$|output_dir = $(STATEDIR)/compliance|' \
            -e 's|^control_socket = pchat.sock$$|control_socket = $(STATEDIR)/pchat.sock|'

install: $(INSTALL_BIN) man/pchat.8 man/pchat.ini.5 pchat.service pchat.ini pchat-site.ini
	install -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(MANDIR)/man8 $(DESTDIR)$(MANDIR)/man5 \
	  $(DESTDIR)$(SYSTEMDUNITDIR) $(DESTDIR)$(SYSCONFDIR)/pchat $(DESTDIR)$(DOCDIR)/examples
	install -m 0755 $(INSTALL_BIN) $(DESTDIR)$(SBINDIR)/pchat
	install -m 0644 man/pchat.8 $(DESTDIR)$(MANDIR)/man8/pchat.8
	install -m 0644 man/pchat.ini.5 $(DESTDIR)$(MANDIR)/man5/pchat.ini.5
	sed -e 's|/usr/sbin/pchat|$(SBINDIR)/pchat|g' -e 's|/etc/pchat/|$(SYSCONFDIR)/pchat/|g' \
	  -e 's|/var/lib/pchat|$(STATEDIR)|g' pchat.service > $(DESTDIR)$(SYSTEMDUNITDIR)/pchat.service
	chmod 0644 $(DESTDIR)$(SYSTEMDUNITDIR)/pchat.service
	sed $(INI_PATHS) pchat.ini > $(DESTDIR)$(DOCDIR)/examples/pchat.ini
	chmod 0644 $(DESTDIR)$(DOCDIR)/examples/pchat.ini
	@if [ -e $(DESTDIR)$(SYSCONFDIR)/pchat/pchat.ini ]; then \
	  echo "make install: keeping $(DESTDIR)$(SYSCONFDIR)/pchat/pchat.ini"; \
	else \
	  sed $(INI_PATHS) -e '1i ; Installed by make install: state lives in $(STATEDIR).' \
	    -e 's|/usr/share/doc/pchat/|$(DOCDIR)/|' pchat-site.ini \
	    > $(DESTDIR)$(SYSCONFDIR)/pchat/pchat.ini && chmod 0644 $(DESTDIR)$(SYSCONFDIR)/pchat/pchat.ini; \
	fi

# The reverse of install: the program, the man pages and the unit.  The ini
# (a site's settings) and the state folder (store, certificate, compliance
# exports: records a site may be obliged to keep) stay, as dpkg's remove does.
uninstall:
	rm -f $(DESTDIR)$(SBINDIR)/pchat $(DESTDIR)$(MANDIR)/man8/pchat.8 $(DESTDIR)$(MANDIR)/man5/pchat.ini.5 \
	  $(DESTDIR)$(SYSTEMDUNITDIR)/pchat.service $(DESTDIR)$(DOCDIR)/examples/pchat.ini
	rmdir $(DESTDIR)$(DOCDIR)/examples $(DESTDIR)$(DOCDIR) 2>/dev/null || true
	@echo "make uninstall: kept $(DESTDIR)$(SYSCONFDIR)/pchat/pchat.ini and $(STATEDIR) (remove them by hand when no longer needed)"

clean:
	rm -rf build pchat

.PHONY: all tests deps run test clean bench install uninstall fuzz fuzz-build valgrind
