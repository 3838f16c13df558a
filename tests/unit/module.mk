# tests/unit/: one Criterion binary per module, $(BUILD)/tests/unit/test_NAME (rule in the
# Makefile). Each links the libraries of the module it tests and what those depend on, so a
# module that quietly needs a library it must not (docs/architecture.md) fails to link here.
# A test without a line links every library.
UNIT_test_bundle_LIBS    := formats
UNIT_test_cursor_LIBS    := formats
UNIT_test_analysis_LIBS  := analysis formats
UNIT_test_check_LIBS     := analysis formats
UNIT_test_chain_LIBS     := formats
UNIT_test_escape_LIBS    := formats
UNIT_test_timeparse_LIBS := formats
UNIT_test_ring_LIBS      := recorder formats
UNIT_test_preload_LIBS   := recorder formats
UNIT_test_s3_LIBS        := store formats
UNIT_test_store_LIBS     := store formats
UNIT_test_catalog_LIBS   := catalog store formats
UNIT_test_extension_LIBS := rtextension recorder store formats
UNIT_test_emulator_LIBS  := replay formats
UNIT_test_toolbox_LIBS   := formats rtextension
UNIT_test_viewmodel_LIBS := viewer analysis formats
UNIT_test_replay_LIBS    := replay analysis recorder formats
UNIT_test_control_LIBS   := control store formats
UNIT_test_wrapper_LIBS   := rtwrapper
