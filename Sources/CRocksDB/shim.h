// Umbrella header for the system library CRocksDB (Debian: librocksdb-dev).
#include <rocksdb/c.h>
