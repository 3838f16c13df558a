# recorder/: librecorder.a (the ring consumer, plus the producer and sniffers so unit tests and
# the extension can use them) and libruntrail-preload.so, the LD_PRELOAD interposer. The .so is
# built without sanitizers even when SANITIZE=1 (it is preloaded into uninstrumented programs),
# position-independent, with hidden visibility (only the hooks are exported), against libc and
# libdl only (dlsym bound to its oldest version, GLIBC_2.2.5, or GLIBC_2.17 on arm64, so the
# library also loads on glibc < 2.34).
# The tiny test programs in tests/recorder/progs/ are built the same way.
RECORDER_LIB_SRCS := recorder/ring.c recorder/record.c recorder/preload/ring_produce.c \
                     recorder/preload/sniff.c
$(eval $(call rt_static_lib,recorder,$(RECORDER_LIB_SRCS)))

PRELOAD_SRCS := $(wildcard recorder/preload/*.c)
PRELOAD_OBJS := $(patsubst %.c,$(BUILD)/preload-obj/%.o,$(PRELOAD_SRCS))
PRELOAD_CFLAGS = -std=c11 -D_GNU_SOURCE $(WARN) $(CFLAGS) -I. -fPIC -fvisibility=hidden \
                 -ftls-model=initial-exec -fno-builtin-exit -MMD -MP
PRELOAD_SO := $(BUILD)/lib/libruntrail-preload.so

$(BUILD)/preload-obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(PRELOAD_CFLAGS) -c $< -o $@

# Every process of the function loads it, so its layout is part of each process start's cost
# (docs/recorder.md, "Ninth pass"): -z noseparate-code maps its code and read-only data as one
# piece (one mmap, and the kernel's fault-around, which stops at a mapping's end, covers both),
# and -z norelro keeps the relocated data on the same page as .data and the start-up variables
# (start.ld) instead of a page of its own made read-only by one more mprotect. RELRO would guard
# 34 GOT entries of a library whose ~107 resolved hook pointers are writable by design (each is
# resolved at its first call); -z now still binds every symbol at load.
preload_link = $(1) -shared -fPIC -Wl,-z,defs -Wl,-z,now -Wl,-Bsymbolic-functions \
	-Wl,-z,noseparate-code -Wl,-z,norelro -Wl,-T,recorder/preload/start.ld -o $@ $(2)
$(PRELOAD_SO): $(PRELOAD_OBJS) recorder/preload/start.ld recorder/module.mk
	@mkdir -p $(dir $@)
	$(call preload_link,$(CC),$(PRELOAD_OBJS))

SOLIBS += $(PRELOAD_SO)

# Test programs: plain C, uninstrumented, so the interposer can be preloaded into them.
RECORDER_PROG_SRCS := $(wildcard tests/recorder/progs/*.c)
RECORDER_PROGS := $(patsubst tests/recorder/progs/%.c,$(BUILD)/tests/recorder/%,$(RECORDER_PROG_SRCS))
$(BUILD)/tests/recorder/%: tests/recorder/progs/%.c
	@mkdir -p $(dir $@)
	$(CC) -std=c11 -D_GNU_SOURCE -O2 -g -Wall -Wextra $< -o $@ -lpthread $(if $(findstring static,$*),-static,)

test test-unit unit bench: $(RECORDER_PROGS) $(PRELOAD_SO)
-include $(shell find $(BUILD)/preload-obj -name '*.d' 2>/dev/null)

# The interposer and four test programs for arm64 (Graviton), with Debian's cross compiler
# (scripts/deps.sh --test installs it and qemu-user): test_preload and tests/e2e/arm64.sh run
# them under qemu-aarch64, user-mode emulation, recording into a ring this machine's consumer
# reads. So the arm64 interposer is built, loaded and checked here, its counter path included
# (recorder/RING.md).
ARM64_CC ?= aarch64-linux-gnu-gcc
ARM64 := $(BUILD)/arm64
ARM64_PRELOAD_OBJS := $(patsubst %.c,$(ARM64)/preload-obj/%.o,$(PRELOAD_SRCS))
ARM64_CC_CHECK = @command -v $(ARM64_CC) >/dev/null || { echo "runtrail: $(ARM64_CC) not found: \
	it builds the arm64 interposer the tests run under qemu (bash scripts/deps.sh --test)" >&2; exit 1; }
$(ARM64)/preload-obj/%.o: %.c
	$(ARM64_CC_CHECK)
	@mkdir -p $(dir $@)
	$(ARM64_CC) $(PRELOAD_CFLAGS) -c $< -o $@
$(ARM64)/lib/libruntrail-preload.so: $(ARM64_PRELOAD_OBJS) recorder/preload/start.ld recorder/module.mk
	@mkdir -p $(dir $@)
	$(call preload_link,$(ARM64_CC),$(ARM64_PRELOAD_OBJS))
ARM64_PROGS := $(patsubst %,$(ARM64)/tests/recorder/%,clock file_ops net_ops probe_ops)
$(ARM64)/tests/recorder/%: tests/recorder/progs/%.c
	$(ARM64_CC_CHECK)
	@mkdir -p $(dir $@)
	$(ARM64_CC) -std=c11 -D_GNU_SOURCE -O2 -g -Wall -Wextra $< -o $@ -lpthread
test test-unit unit: $(ARM64)/lib/libruntrail-preload.so $(ARM64_PROGS)
-include $(shell find $(ARM64)/preload-obj -name '*.d' 2>/dev/null)

# The interposer's microbenchmark program (tests/bench/preload.sh), uninstrumented.
$(BUILD)/tests/bench/preload: tests/bench/preload.c
	@mkdir -p $(dir $@)
	$(CC) -std=c11 -D_GNU_SOURCE -O2 -g -Wall -Wextra $< -o $@ -ldl -lpthread
# An empty shared library: process start with LD_PRELOAD of nothing (the loader's own share).
$(BUILD)/tests/bench/empty.so:
	@mkdir -p $(dir $@)
	$(CC) -shared -fPIC -x c /dev/null -o $@
bench: $(BUILD)/tests/bench/preload $(BUILD)/tests/bench/empty.so

# The one-pass resolver (recorder/preload/resolve.c) beside dlsym, in a plain program
# (tests/unit/test_preload.c runs it with and without the interposer preloaded).
$(BUILD)/tests/recorder/resolve_check: tests/recorder/resolve/resolve_check.c recorder/preload/resolve.c
	@mkdir -p $(dir $@)
	$(CC) -std=c11 -D_GNU_SOURCE -O2 -g -Wall -Wextra -I. -I$(BUILD)/gen $^ -o $@ -ldl -lpthread
test test-unit unit: $(BUILD)/tests/recorder/resolve_check
