# tests/store/: rt-s3tool, the test driver the store e2e tests and the store benchmark use.
# Built with the tests (not installed): $(BUILD)/tests/store/rt-s3tool.
RT_S3TOOL := $(BUILD)/tests/store/rt-s3tool
S3TOOL_LIBS := store formats
$(RT_S3TOOL): tests/store/s3tool.c $(call rt_lib_files,$(S3TOOL_LIBS)) | $(GENERATED)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $< -o $@ $(call rt_link,S3TOOL)
all: $(RT_S3TOOL)
