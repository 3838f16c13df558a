# analysis/: libanalysis.a — the meaning of events over decoded bundles: the event filter, the
# timeline rows, behaviour keys. Depends on formats/ only (never store/, replay/, viewer/, cli/
# or recorder/), so replay and the viewer reuse it unchanged.
$(eval $(call rt_static_lib,analysis,$(wildcard analysis/*.c)))
