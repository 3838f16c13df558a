# replay/: libreplay.a — the local Lambda emulator (Runtime + Extensions API, lifecycle,
# Lambda environment); later replay, diff, baseline and checks. Also builds the C sample
# function (samples/c-bootstrap) that tests and benchmarks run through the emulator, without
# sanitizers even when SANITIZE=1: it is a user program and runs under the uninstrumented
# interposer, which ASan refuses to follow in the library list.
$(eval $(call rt_static_lib,replay,$(wildcard replay/*.c),jansson libmicrohttpd libcrypto libcurl))

SAMPLE_C_BOOTSTRAP := $(BUILD)/samples/c/bootstrap
$(SAMPLE_C_BOOTSTRAP): samples/c-bootstrap/bootstrap.c
	@mkdir -p $(dir $@)
	$(CC) $(filter-out -MMD -MP $(SANFLAGS),$(ALL_CFLAGS)) $< -o $@ $(shell pkg-config --libs libcurl jansson)
all: $(SAMPLE_C_BOOTSTRAP)
