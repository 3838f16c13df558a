# export/: libexport.a — `runtrail export`: the invocations and events tables as JSON lines or
# CSV (zstd when asked) to a stream or as Hive-partitioned part files in a store, and the
# Chrome/Perfetto trace-event JSON. Depends on formats/ and store/ (the folder and S3 stores
# the part files go to), never on the catalog (the CLI picks the bundles).
$(eval $(call rt_static_lib,export,$(wildcard export/*.c),libzstd jansson))
