# postern - top-level Makefile. Plain GNU make, no autotools.
#
# Layout: lib/ builds into one static library; every other source folder
# (master smtpd cleanup ...) is one program whose main() lives in main.c.
# A module's unit test is NAME_test.c beside it and links with the folder's
# other objects (not main.o) and the library. NAME_fuzz.c files are libFuzzer
# targets built by `make fuzz` with clang.
#
#   make                 build everything into build/
#   make test            build and run unit and integration tests
#   make test SANITIZE=1 the same under ASan+UBSan, into build-san/
#   make run             start a private instance on 127.0.0.1:2525
#   make install DESTDIR=... PREFIX=...
#   make deps            install missing Debian packages (as root)

PREFIX   ?= /usr/local
SBINDIR  ?= $(PREFIX)/sbin
LIBEXEC  ?= $(PREFIX)/lib/postern
MANDIR   ?= $(PREFIX)/share/man
SYSCONF  ?= /etc/postern
DESTDIR  ?=

CC       ?= cc
CFLAGS   ?= -O2 -g
WARN      = -Wall -Wextra -Werror -Wformat=2 -Wno-format-nonliteral -Wshadow \
            -Wno-unused-parameter
CPPFLAGS += -std=c11 -D_GNU_SOURCE -Ilib \
            -DPOSTERN_LIBEXEC='"$(LIBEXEC)"' -DPOSTERN_SYSCONF='"$(SYSCONF)"'
LDLIBS   += -llmdb -lpcre2-8 -lldns -lssl -lcrypto

ifeq ($(SANITIZE),1)
B        ?= build-san
CFLAGS   += -fsanitize=address,undefined -fno-omit-frame-pointer \
            -fno-sanitize-recover=undefined
LDFLAGS  += -fsanitize=address,undefined
else
B        ?= build
endif

PROGS    = master smtpd cleanup qmgr local virtual pickup bounce postern sendmail smtp anvil sasl
LIB_SRC  = $(filter-out %_test.c %_fuzz.c,$(wildcard lib/*.c))
LIB_OBJ  = $(LIB_SRC:%.c=$(B)/%.o)
LIBA     = $(B)/lib/libpostern.a

prog_src  = $(filter-out %_test.c %_fuzz.c,$(wildcard $(1)/*.c))
prog_objs = $(patsubst %.c,$(B)/%.o,$(call prog_src,$(1)))
mod_objs  = $(filter-out $(B)/$(1)/main.o,$(call prog_objs,$(1)))

TEST_SRC  = $(wildcard lib/*_test.c $(addsuffix /*_test.c,$(PROGS)))
TEST_BIN  = $(TEST_SRC:%.c=$(B)/%)
FUZZ_SRC  = $(wildcard lib/*_fuzz.c $(addsuffix /*_fuzz.c,$(PROGS)))

BINS      = $(addprefix $(B)/bin/,$(PROGS))

.PHONY: all test unit integration run install deps fuzz bench clean FORCE
all: $(BINS) $(B)/bin/mailq $(B)/bin/newaliases

# Compiled-in paths (PREFIX, SYSCONF) and flags are recorded here so that
# `make install PREFIX=/usr` after a plain `make` rebuilds what they change.
$(B)/.flags: FORCE
	@mkdir -p $(B)
	@echo '$(CC) $(CPPFLAGS) $(CFLAGS) $(LDFLAGS)' | cmp -s - $@ || \
	  echo '$(CC) $(CPPFLAGS) $(CFLAGS) $(LDFLAGS)' > $@
FORCE:

$(B)/%.o: %.c $(B)/.flags
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) -I$(dir $<) $(CFLAGS) $(WARN) -MMD -c -o $@ $<

$(LIBA): $(LIB_OBJ)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

define prog_rule
$(B)/bin/$(1): $(call prog_objs,$(1)) $(LIBA)
	@mkdir -p $$(dir $$@)
	$$(CC) $$(LDFLAGS) -o $$@ $(call prog_objs,$(1)) $(LIBA) $$(LDLIBS)
endef
$(foreach p,$(PROGS),$(eval $(call prog_rule,$(p))))
# libsasl2 only where passwords are checked (sasl/), nowhere else.
$(B)/bin/sasl $(patsubst %.c,$(B)/%,$(wildcard sasl/*_test.c)): LDLIBS += -lsasl2

$(B)/bin/mailq $(B)/bin/newaliases: $(B)/bin/sendmail
	ln -sf sendmail $@

# A unit test links with its folder's modules (not main.o) and the library.
define test_rule
$(B)/$(1:%.c=%): $(B)/$(1:%.c=%.o) $(call mod_objs,$(patsubst %/,%,$(dir $(1)))) $(LIBA)
	$$(CC) $$(LDFLAGS) -o $$@ $$^ $$(LDLIBS)
endef
$(foreach t,$(filter-out lib/%,$(TEST_SRC)),$(eval $(call test_rule,$(t))))
$(B)/lib/%_test: $(B)/lib/%_test.o $(LIBA)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

-include $(shell find $(B) -name '*.d' 2>/dev/null)

deps:
	@sh test/deps.sh

unit: all $(TEST_BIN)
	@/usr/bin/python3 test/run.py --no-integration --unit "$(TEST_BIN)"

integration: all
	@POSTERN_BIN=$(CURDIR)/$(B)/bin /usr/bin/python3 test/run.py

test: deps
	@$(MAKE) --no-print-directory all $(TEST_BIN)
	@POSTERN_BIN=$(CURDIR)/$(B)/bin /usr/bin/python3 test/run.py --unit "$(TEST_BIN)"

run: deps
	@$(MAKE) --no-print-directory all
	@sh etc/make-run.sh $(CURDIR)/$(B)/bin $(CURDIR)/run

# Each fuzz target links with its folder's modules (not main.c) and lib/.
FUZZ_BIN  = $(FUZZ_SRC:%.c=build-fuzz/%)
FUZZ_FLAGS = -g -O1 -fsanitize=fuzzer,address,undefined
define fuzz_rule
build-fuzz/$(1:%.c=%): $(1) $(sort $(LIB_SRC) $(filter-out %/main.c,$(call prog_src,$(patsubst %/,%,$(dir $(1))))))
	@mkdir -p $$(dir $$@)
	clang $$(CPPFLAGS) -I$(dir $(1)) $$(FUZZ_FLAGS) -o $$@ $$^ $$(LDLIBS)
endef
$(foreach f,$(FUZZ_SRC),$(eval $(call fuzz_rule,$(f))))

fuzz: $(FUZZ_BIN)

# Benchmark tools (bench/throughput builds them); not part of `all`.
bench: $(B)/bin/tls-source
$(B)/bin/tls-source: $(B)/bench/tls-source.o $(LIBA)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS) -lpthread

install: all
	install -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(LIBEXEC) $(DESTDIR)$(SYSCONF) \
	  $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man5 $(DESTDIR)$(MANDIR)/man8
	install -m 755 $(B)/bin/postern $(B)/bin/sendmail $(DESTDIR)$(SBINDIR)/
	ln -sf sendmail $(DESTDIR)$(SBINDIR)/mailq
	ln -sf sendmail $(DESTDIR)$(SBINDIR)/newaliases
	for p in master smtpd cleanup qmgr local virtual pickup smtp bounce sasl anvil; do \
	  install -m 755 $(B)/bin/$$p $(DESTDIR)$(LIBEXEC)/$$p; done
	for f in main.cf master.cf aliases sender_login; do \
	  [ -e $(DESTDIR)$(SYSCONF)/$$f ] || install -m 644 etc/$$f $(DESTDIR)$(SYSCONF)/$$f; done
	# fail2ban and crowdsec files, for the admin to copy (INSTALL).
	install -d $(DESTDIR)$(PREFIX)/share/postern/fail2ban/filter.d \
	  $(DESTDIR)$(PREFIX)/share/postern/fail2ban/jail.d \
	  $(DESTDIR)$(PREFIX)/share/postern/crowdsec/parsers/s01-parse \
	  $(DESTDIR)$(PREFIX)/share/postern/crowdsec/scenarios
	install -m 644 etc/fail2ban/filter.d/postern.conf $(DESTDIR)$(PREFIX)/share/postern/fail2ban/filter.d/
	install -m 644 etc/fail2ban/jail.d/postern.conf $(DESTDIR)$(PREFIX)/share/postern/fail2ban/jail.d/
	install -m 644 etc/crowdsec/parsers/s01-parse/postern-logs.yaml $(DESTDIR)$(PREFIX)/share/postern/crowdsec/parsers/s01-parse/
	install -m 644 etc/crowdsec/scenarios/postern-*.yaml $(DESTDIR)$(PREFIX)/share/postern/crowdsec/scenarios/
	-install -m 644 man/*.1 $(DESTDIR)$(MANDIR)/man1/
	-install -m 644 man/*.5 $(DESTDIR)$(MANDIR)/man5/
	-install -m 644 man/*.8 $(DESTDIR)$(MANDIR)/man8/

clean:
	rm -rf build build-san build-fuzz
