# recorder/wrapper/: the layer's runtrail/wrapper (AWS_LAMBDA_EXEC_WRAPPER), a static program of
# libc alone, built without sanitizers (like the interposer) into $(BUILD)/wrapper/, and
# librtwrapper.a, its pure decisions (ready.c), for the unit tests; the fuzzer compiles ready.c
# itself. recorder/extension/module.mk installs the program into the layer tree.
#
# It is linked against musl (Debian's musl-tools, which scripts/deps.sh installs) when musl-gcc
# is there: it runs on every cold start, and a static glibc program's start cost about 0.45 ms
# more than musl's on the host measured (docs/deploy.md, "The wrapper"). Without musl-gcc it is
# a static-pie glibc program, which behaves the same. Plain -static, not -static-pie: musl-gcc's
# -static-pie makes a program that needs musl's own loader.
$(eval $(call rt_static_lib,rtwrapper,recorder/wrapper/ready.c))

WRAPPER_MUSL := $(shell command -v musl-gcc 2>/dev/null)
ifneq ($(WRAPPER_MUSL),)
WRAPPER_CC := $(WRAPPER_MUSL)
WRAPPER_CFLAGS := -fno-pie
WRAPPER_LDFLAGS := -static
WRAPPER_OBJDIR := $(BUILD)/wrapper-obj-musl
else
WRAPPER_CC := $(CC)
WRAPPER_CFLAGS := -fPIE
WRAPPER_LDFLAGS := -static-pie
WRAPPER_OBJDIR := $(BUILD)/wrapper-obj
endif

WRAPPER_SRCS := recorder/wrapper/wrapper.c recorder/wrapper/ready.c
WRAPPER_OBJS := $(patsubst %.c,$(WRAPPER_OBJDIR)/%.o,$(WRAPPER_SRCS))
WRAPPER_BIN := $(BUILD)/wrapper/runtrail-wrapper

$(WRAPPER_OBJDIR)/%.o: %.c
	@mkdir -p $(dir $@)
	$(WRAPPER_CC) -std=c11 -D_GNU_SOURCE $(WARN) $(CFLAGS) -I. $(WRAPPER_CFLAGS) -MMD -MP -c $< -o $@

$(WRAPPER_BIN): $(WRAPPER_OBJS)
	@mkdir -p $(dir $@)
	$(WRAPPER_CC) $(WRAPPER_LDFLAGS) -o $@ $(WRAPPER_OBJS)

all: $(WRAPPER_BIN)
-include $(shell find $(WRAPPER_OBJDIR) -name '*.d' 2>/dev/null)
