# tests/tools/: helper programs for tests, samples and benchmarks (not installed).
#   $(BUILD)/tools/gen_samples OUTDIR   writes the sample bundles (samples/bundles/README.md)
#   $(BUILD)/tools/bench_format [N]     the bundle format benchmark (tests/bench/format.sh)
RT_TOOLS := $(BUILD)/tools/gen_samples $(BUILD)/tools/bench_format
GEN_SAMPLES_LIBS := store formats
BENCH_FORMAT_LIBS := formats
$(BUILD)/tools/gen_samples: tests/tools/gen_samples.c $(call rt_lib_files,$(GEN_SAMPLES_LIBS))
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $< -o $@ $(call rt_link,GEN_SAMPLES)
$(BUILD)/tools/bench_format: tests/bench/format.c $(call rt_lib_files,$(BENCH_FORMAT_LIBS))
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $< -o $@ $(call rt_link,BENCH_FORMAT)
tools: $(RT_TOOLS)
all: $(RT_TOOLS)
.PHONY: tools
