# pinfold build. `make` builds build/pinfoldd, build/pinfold, build/chain-verify.
# `make demo` and `make check` install their Debian build dependencies first.

BUILD    ?= build
CC       ?= gcc
CLANG    ?= clang
BPFTOOL  ?= bpftool
PREFIX   ?= /usr/local
DESTDIR  ?=

ARCH     := $(shell uname -m | sed -e 's/x86_64/x86/' -e 's/aarch64/arm64/')
WARN     := -Wall -Wextra -Werror
CFLAGS   ?= -O2 -g
CFLAGS   += -std=gnu11 $(WARN) -I. -I$(BUILD) -D_GNU_SOURCE
LDLIBS   := -lbpf -lelf -lz -linih -lseccomp -ljansson -lcrypto -lcurl
SANFLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all

DEPS := clang llvm bpftool libbpf-dev libelf-dev zlib1g-dev libseccomp-dev \
	libinih-dev libssl-dev libjansson-dev libcmocka-dev pkg-config make gcc \
	git python3 dpkg-dev openssl iproute2 tzdata curl libclang-rt-14-dev \
	libcurl4-openssl-dev libpam0g-dev

SHARED_SRC := $(wildcard policy/*.c) $(wildcard daemon/chain*.c) \
	$(wildcard daemon/proto*.c)
DAEMON_SRC := $(filter-out $(SHARED_SRC),$(wildcard daemon/*.c))
CLI_SRC    := $(wildcard tools/pinfold*.c)
VERIFY_SRC := $(wildcard tools/chain-verify*.c)
UNIT_SRC   := $(wildcard tests/unit/test_*.c)
HEADERS    := $(wildcard bpf/*.h policy/*.h daemon/*.h tools/*.h)

SHARED_OBJ := $(SHARED_SRC:%.c=$(BUILD)/obj/%.o)
DAEMON_OBJ := $(DAEMON_SRC:%.c=$(BUILD)/obj/%.o)
CLI_OBJ    := $(CLI_SRC:%.c=$(BUILD)/obj/%.o)
VERIFY_OBJ := $(VERIFY_SRC:%.c=$(BUILD)/obj/%.o)
UNIT_BIN   := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)
ASAN_OBJ   := $(SHARED_SRC:%.c=$(BUILD)/asan/%.o)
ASAN_BIN   := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/asan/tests/%)

.SECONDARY: $(BUILD)/pinfold.bpf.o
.PHONY: all deps demo check check-long unit unit-asan integration bench fuzz install clean
.DEFAULT_GOAL := all

all: $(BUILD)/pinfoldd $(BUILD)/pinfold $(BUILD)/chain-verify $(BUILD)/pam_pinfold.so

deps:
	@missing=""; for p in $(DEPS); do \
		dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | \
			grep -q '^install ok installed' || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
		echo "make deps: installing$$missing"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
			apt-get install -y -qq --no-install-recommends $$missing; \
	fi

# BPF side: vmlinux.h from the running kernel's BTF, then object and skeleton.
$(BUILD)/vmlinux.h:
	@mkdir -p $(@D)
	$(BPFTOOL) btf dump file /sys/kernel/btf/vmlinux format c > $@.tmp && mv $@.tmp $@

$(BUILD)/%.bpf.o: bpf/%.bpf.c bpf/events.h $(wildcard bpf/*.h) $(BUILD)/vmlinux.h
	@mkdir -p $(@D)
	$(CLANG) -g -O2 -target bpf -D__TARGET_ARCH_$(ARCH) $(WARN) \
		-Wno-unused-parameter -I$(BUILD) -I. -c $< -o $@

$(BUILD)/%.skel.h: $(BUILD)/%.bpf.o
	$(BPFTOOL) gen skeleton $< name $(subst -,_,$*)_bpf > $@.tmp && mv $@.tmp $@

# User space.
$(BUILD)/obj/%.o: %.c $(HEADERS)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -c $< -o $@

$(DAEMON_OBJ): $(BUILD)/pinfold.skel.h

$(BUILD)/libpinfold.a: $(SHARED_OBJ)
	$(AR) rcs $@ $^

$(BUILD)/pinfoldd: $(DAEMON_OBJ) $(BUILD)/libpinfold.a
	$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/pinfold: $(CLI_OBJ) $(BUILD)/libpinfold.a
	$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/chain-verify: $(VERIFY_OBJ) $(BUILD)/libpinfold.a
	$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)

# The PAM module is a shared object: its few objects are built again as
# position-independent code.
PAM_SRC := tools/pam_pinfold.c daemon/proto.c daemon/proto_request.c daemon/sandbox_apply.c
PAMDIR  ?= /lib/$(shell $(CC) -print-multiarch)/security

$(BUILD)/pic/%.o: %.c $(HEADERS)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -fPIC -c $< -o $@

$(BUILD)/pam_pinfold.so: $(PAM_SRC:%.c=$(BUILD)/pic/%.o)
	$(CC) $(CFLAGS) -shared -Wl,--no-undefined -o $@ $^ -ljansson -lpam

# Unit tests, plain and under AddressSanitizer + UBSan.
$(BUILD)/tests/%: tests/unit/%.c $(BUILD)/libpinfold.a $(HEADERS)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -o $@ $< $(UNIT_EXTRA_$*) $(BUILD)/libpinfold.a $(LDLIBS) -lcmocka

$(BUILD)/asan/%.o: %.c $(HEADERS)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(SANFLAGS) -c $< -o $@

$(BUILD)/asan/libpinfold.a: $(ASAN_OBJ)
	$(AR) rcs $@ $^

$(BUILD)/asan/tests/%: tests/unit/%.c $(BUILD)/asan/libpinfold.a $(HEADERS)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(SANFLAGS) -o $@ $< $(UNIT_EXTRA_$*) $(BUILD)/asan/libpinfold.a \
		$(LDLIBS) -lcmocka

# The control request test replays the fuzz corpus through the fuzz target.
UNIT_EXTRA_test_control_request := tests/fuzz/fuzz_control.c
$(BUILD)/tests/test_control_request $(BUILD)/asan/tests/test_control_request: \
	tests/fuzz/fuzz_control.c

# The seccomp program reader that pam_pinfold.so shares with pinfoldd, and
# the filter pinfoldd builds.
UNIT_EXTRA_test_sandbox_filter := daemon/sandbox_apply.c daemon/sandbox.c daemon/log.c
$(BUILD)/tests/test_sandbox_filter $(BUILD)/asan/tests/test_sandbox_filter: \
	daemon/sandbox_apply.c daemon/sandbox.c daemon/log.c

# libFuzzer on the control request parser, for FUZZ_SECONDS (default 60),
# from a copy of the corpus so that tests/fuzz/control stays as committed.
FUZZ_SECONDS ?= 60
FUZZ_SRC := tests/fuzz/fuzz_control.c daemon/proto.c daemon/proto_request.c

$(BUILD)/fuzz/fuzz_control: $(FUZZ_SRC) $(HEADERS)
	@mkdir -p $(@D)
	$(CLANG) -g -O1 -std=gnu11 $(WARN) -I. -D_GNU_SOURCE \
		-fsanitize=fuzzer,address,undefined -o $@ $(FUZZ_SRC) -ljansson

fuzz: deps
	@$(MAKE) --no-print-directory $(BUILD)/fuzz/fuzz_control
	@rm -rf $(BUILD)/fuzz/corpus && mkdir -p $(BUILD)/fuzz/corpus
	@cp tests/fuzz/control/* $(BUILD)/fuzz/corpus/
	@cd $(BUILD)/fuzz && ASAN_OPTIONS=detect_leaks=1 ./fuzz_control \
		-max_total_time=$(FUZZ_SECONDS) -max_len=65536 -timeout=10 \
		-print_final_stats=1 -dict=$(CURDIR)/tests/fuzz/control.dict corpus

unit: $(UNIT_BIN)
	@tests/run-units.sh $(UNIT_BIN)

unit-asan: $(ASAN_BIN)
	@ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
		tests/run-units.sh $(ASAN_BIN)

# A small program that performs one action and reports the errno, for the
# integration tests and the demo.
$(BUILD)/probe: tests/integration/probe.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -o $@ $< -ljansson

# Every byte of a 10,000-record signed log and its checkpoints flipped in
# turn, not a sample: a worker process per CPU, each chain flip verified
# from the record that holds it.
check-long: $(BUILD)/tests/test_audit_log
	@PINFOLD_FLIP_ALL=1 PINFOLD_UNIT_TIMEOUT=3600 PINFOLD_UNIT_VERBOSE=1 tests/run-units.sh $<

# The audit log's append rate, for make bench.
$(BUILD)/bench_append: tests/bench/bench_append.c $(BUILD)/libpinfold.a $(HEADERS)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -o $@ $< $(BUILD)/libpinfold.a $(LDLIBS)

# A program that opens a PAM session from a service file in a directory
# of the test's (pam_start_confdir), for the PAM module's tests.
$(BUILD)/pam_harness: tests/integration/pam_harness.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -o $@ $< -lpam

# The policy benchmark, run by make bench.
$(BUILD)/bench_policy: tests/bench/bench_policy.c $(BUILD)/libpinfold.a $(HEADERS)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -o $@ $< $(BUILD)/libpinfold.a $(LDLIBS)

integration: all $(BUILD)/probe $(BUILD)/pam_harness
	@tests/integration/run.sh

check: deps
	@$(MAKE) --no-print-directory all unit unit-asan integration

demo: deps
	@$(MAKE) --no-print-directory all $(BUILD)/probe
	@tools/demo.sh

bench: deps
	@$(MAKE) --no-print-directory all $(BUILD)/probe $(BUILD)/bench_policy $(BUILD)/bench_append
	@tests/bench/run.sh

install: all
	install -d $(DESTDIR)$(PREFIX)/sbin $(DESTDIR)$(PREFIX)/bin
	install -m 0755 $(BUILD)/pinfoldd $(DESTDIR)$(PREFIX)/sbin/pinfoldd
	install -m 0755 $(BUILD)/pinfold $(BUILD)/chain-verify $(DESTDIR)$(PREFIX)/bin/
	install -d $(DESTDIR)$(PREFIX)/share/man/man1
	install -m 0644 docs/chain-verify.1 $(DESTDIR)$(PREFIX)/share/man/man1/
	install -d $(DESTDIR)$(PAMDIR)
	install -m 0644 $(BUILD)/pam_pinfold.so $(DESTDIR)$(PAMDIR)/
	install -d $(DESTDIR)/lib/systemd/system
	sed 's|@SBINDIR@|$(PREFIX)/sbin|g' systemd/pinfoldd.service.in \
		> $(DESTDIR)/lib/systemd/system/pinfoldd.service
	install -d $(DESTDIR)$(PREFIX)/share/pinfold/examples/agents.d
	install -m 0644 policy/examples/pinfoldd.conf \
		$(DESTDIR)$(PREFIX)/share/pinfold/examples/
	install -m 0644 policy/examples/agents.d/*.ini \
		$(DESTDIR)$(PREFIX)/share/pinfold/examples/agents.d/
	install -d $(DESTDIR)$(PREFIX)/share/pinfold/examples/roles.d \
		$(DESTDIR)$(PREFIX)/share/pinfold/examples/users.d
	install -m 0644 policy/examples/roles.d/*.ini \
		$(DESTDIR)$(PREFIX)/share/pinfold/examples/roles.d/
	install -m 0644 policy/examples/users.d/*.ini \
		$(DESTDIR)$(PREFIX)/share/pinfold/examples/users.d/
	install -d -m 0755 $(DESTDIR)/etc/pinfold/agents.d

clean:
	rm -rf $(BUILD)
