// Umbrella header for the system library CSnappy (Debian: libsnappy-dev).
#include <snappy-c.h>
