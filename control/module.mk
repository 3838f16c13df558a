# control/: libcontrol.a — the Lambda control-plane client (control/lambda.c: SigV4 by libcurl,
# JSON by jansson) and the decisions of `runtrail enable` / `disable` (control/enable.c), used
# by the CLI's enable, disable, status and policy commands.
$(eval $(call rt_static_lib,control,$(wildcard control/*.c),libcurl jansson libcrypto))
