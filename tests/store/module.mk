# tests/store/: rt-s3tool, the test driver the store e2e tests and the store benchmark use.
# Built with the tests (not installed): $(BUILD)/tests/store/rt-s3tool.
RT_S3TOOL := $(BUILD)/tests/store/rt-s3tool
$(RT_S3TOOL): tests/store/s3tool.c $$(LIBS) | $(GENERATED)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $< -o $@ $(LINK_LIBS) $(LDLIBS_ALL)
all: $(RT_S3TOOL)
