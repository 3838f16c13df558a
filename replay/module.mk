# replay/: libreplay.a — the local Lambda emulator (Runtime + Extensions API, lifecycle,
# Lambda environment); later replay, diff, baseline and checks. Also builds the C sample
# function (samples/c-bootstrap) that tests and benchmarks run through the emulator.
$(eval $(call rt_static_lib,replay,$(wildcard replay/*.c)))

SAMPLE_C_BOOTSTRAP := $(BUILD)/samples/c/bootstrap
$(SAMPLE_C_BOOTSTRAP): samples/c-bootstrap/bootstrap.c
	@mkdir -p $(dir $@)
	$(CC) $(filter-out -MMD -MP,$(ALL_CFLAGS)) $< -o $@ $(shell pkg-config --libs libcurl jansson)
all: $(SAMPLE_C_BOOTSTRAP)
