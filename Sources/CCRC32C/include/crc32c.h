// CRC-32C (Castagnoli, polynomial 0x1EDC6F41, reflected 0x82F63B78): the checksum
// of Kafka record batches (magic 2) and of iSCSI.
//
// Every function continues a checksum: pass 0 to start, or a previous result to
// checksum the concatenation (crc(A||B) == rivulet_crc32c(rivulet_crc32c(0, A), B)).
// The pre- and post-inversion is handled inside, so results are the standard values.
#ifndef RIVULET_CRC32C_H
#define RIVULET_CRC32C_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// The fastest implementation this CPU supports (chosen once, at first use).
uint32_t rivulet_crc32c(uint32_t crc, const void *data, size_t length);

/// The portable slicing-by-8 table implementation.
uint32_t rivulet_crc32c_software(uint32_t crc, const void *data, size_t length);

/// The SSE4.2 implementation; it falls back to the table when the CPU lacks the
/// instruction, so check rivulet_crc32c_hardware_available() to know which ran.
uint32_t rivulet_crc32c_hardware(uint32_t crc, const void *data, size_t length);

/// Non-zero when this CPU has a crc32c instruction that rivulet_crc32c uses.
int rivulet_crc32c_hardware_available(void);

#ifdef __cplusplus
}
#endif

#endif
