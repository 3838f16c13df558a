# store/: two libraries, so that a program that only writes bundles does not carry SQLite.
#   libstore.a    the local folder and S3 stores, the S3 client and XML, AWS credentials
#   libcatalog.a  the SQLite catalog: store/catalog*.c (linked by the CLI, not the extension)
CATALOG_SRCS := $(wildcard store/catalog*.c)
$(eval $(call rt_static_lib,store,$(filter-out $(CATALOG_SRCS),$(wildcard store/*.c)),libcurl libcrypto expat jansson))
$(eval $(call rt_static_lib,catalog,$(CATALOG_SRCS),sqlite3))
