# pchat - one plain GNU Makefile.  `make` builds ./pchat; `make test` installs what
# is missing (Debian packages), builds, and runs the suite twice: once plain and
# once under AddressSanitizer + UndefinedBehaviorSanitizer.
CC ?= cc
CFLAGS ?= -O2 -g
PKGS = sqlite3 libxml-2.0 inih
# Recursive (=) on purpose: evaluated after `make deps` has installed the .pc files.
PC_CFLAGS = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PC_LIBS = $(shell pkg-config --libs $(PKGS) 2>/dev/null)
LIBS = $(PC_LIBS) -lmbedtls -lmbedx509 -lmbedcrypto
ALL_CFLAGS = -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror $(PC_CFLAGS) $(CFLAGS) $(EXTRA)
SAN = -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all

# Build folder; the sanitizer build uses B=build/asan EXTRA="$(SAN)".
B ?= build
SRCS = buf.c log.c loop.c config.c net.c sip.c sip_server.c xccos.c auth.c store.c store_chat.c compliance.c admin.c admin_rooms.c
OBJS = $(SRCS:%.c=$(B)/%.o)
HDRS = $(wildcard *.h)
UNIT = test_buf test_sip test_config test_auth test_store test_store_chat
E2E = e2e_transport e2e_registrar e2e_sipe e2e_admin e2e_chat
TESTBINS = $(UNIT:%=$(B)/tests/%) $(E2E:%=$(B)/tests/%)

# Debian packages: what building and running needs, and what only the tests need.
RUN_DEBS = gcc make pkg-config libc6-dev libmbedtls-dev libsqlite3-dev libxml2-dev libinih-dev
TEST_DEBS = pidgin-sipe libpurple-dev libglib2.0-dev python3 sqlite3

all: pchat

pchat: $(B)/pchat.o $(OBJS)
	$(CC) $(ALL_CFLAGS) -o $@ $^ $(LIBS)

$(B)/pchat: $(B)/pchat.o $(OBJS)
	$(CC) $(ALL_CFLAGS) -o $@ $^ $(LIBS)

$(B)/%.o: %.c $(HDRS)
	@mkdir -p $(B)
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

# Unit tests #include the .c under test, so each links only the libraries.
$(B)/tests/test_%: tests/test_%.c tests/*.h *.c $(HDRS)
	@mkdir -p $(B)/tests
	$(CC) $(ALL_CFLAGS) -o $@ $< $(LIBS)

$(B)/tests/e2e_%: tests/e2e_%.c tests/tclient.c tests/tclient.h tests/check.h $(OBJS)
	@mkdir -p $(B)/tests
	$(CC) $(ALL_CFLAGS) -o $@ $< tests/tclient.c $(OBJS) $(LIBS)

tests: $(TESTBINS) build/sipe/sipe-harness

# The real client (pidgin-sipe) driven headless; built from ../shared.
build/sipe/sipe-harness:
	$(MAKE) -C ../shared/tools/sipe-harness O=$(abspath build/sipe)

deps:
	@missing=""; for p in $(RUN_DEBS) $(if $(NOTESTDEPS),,$(TEST_DEBS)); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'install ok installed' || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "make deps: installing$$missing"; \
	  apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $$missing; \
	fi

run:
	@$(MAKE) --no-print-directory deps NOTESTDEPS=1
	@$(MAKE) --no-print-directory pchat
	./pchat -c pchat.ini serve

test:
	@$(MAKE) --no-print-directory deps
	@$(MAKE) --no-print-directory pchat tests
	@$(MAKE) --no-print-directory B=build/asan EXTRA="$(SAN)" build/asan/pchat $(TESTBINS:$(B)/%=build/asan/%)
	tests/run.sh build build/asan

clean:
	rm -rf build pchat

.PHONY: all tests deps run test clean
