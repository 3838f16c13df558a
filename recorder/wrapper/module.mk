# recorder/wrapper/: the layer's runtrail/wrapper (AWS_LAMBDA_EXEC_WRAPPER), a static program of
# libc alone, built without sanitizers (like the interposer) into $(BUILD)/wrapper/, and
# librtwrapper.a, its pure decisions (ready.c), for the unit tests; the fuzzer compiles ready.c
# itself. recorder/extension/module.mk installs the program into the layer tree.
$(eval $(call rt_static_lib,rtwrapper,recorder/wrapper/ready.c))

WRAPPER_SRCS := recorder/wrapper/wrapper.c recorder/wrapper/ready.c
WRAPPER_OBJS := $(patsubst %.c,$(BUILD)/wrapper-obj/%.o,$(WRAPPER_SRCS))
WRAPPER_BIN := $(BUILD)/wrapper/runtrail-wrapper

$(BUILD)/wrapper-obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) -std=c11 -D_GNU_SOURCE $(WARN) $(CFLAGS) -I. -fPIE -MMD -MP -c $< -o $@

$(WRAPPER_BIN): $(WRAPPER_OBJS)
	@mkdir -p $(dir $@)
	$(CC) -static-pie -o $@ $(WRAPPER_OBJS)

all: $(WRAPPER_BIN)
-include $(shell find $(BUILD)/wrapper-obj -name '*.d' 2>/dev/null)
