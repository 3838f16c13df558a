# tests/tools/: helper programs for tests, samples and benchmarks (not installed).
#   $(BUILD)/tools/gen_samples OUTDIR   writes the sample bundles (samples/bundles/README.md)
#   $(BUILD)/tools/bench_format [N]     the bundle format benchmark (tests/bench/format.sh)
#   $(BUILD)/tools/bench_cursor MODE    the streaming reader benchmark (tests/bench/cursor.sh)
#   $(BUILD)/tools/bench_analysis [N]   the analysis/ benchmark (tests/bench/analysis.sh)
RT_TOOLS := $(BUILD)/tools/gen_samples $(BUILD)/tools/bench_format $(BUILD)/tools/bench_cursor \
            $(BUILD)/tools/bench_analysis
$(BUILD)/tools/gen_samples: tests/tools/gen_samples.c $$(LIBS)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $< -o $@ $(LINK_LIBS) $(LDLIBS_ALL)
$(BUILD)/tools/bench_format: tests/bench/format.c $$(LIBS)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $< -o $@ $(LINK_LIBS) $(LDLIBS_ALL)
$(BUILD)/tools/bench_cursor: tests/bench/cursor.c $$(LIBS)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $< -o $@ $(LINK_LIBS) $(LDLIBS_ALL)
$(BUILD)/tools/bench_analysis: tests/bench/analysis.c $$(LIBS)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $< -o $@ $(LINK_LIBS) $(LDLIBS_ALL)
tools: $(RT_TOOLS)
all: $(RT_TOOLS)
.PHONY: tools
