# store/: libstore.a — the local folder and S3 stores, AWS credentials, the SQLite catalog.
$(eval $(call rt_static_lib,store,$(wildcard store/*.c)))
