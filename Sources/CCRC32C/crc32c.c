// CRC-32C with two implementations behind one entry point:
//
// * x86-64 with SSE4.2: the crc32 instruction, 8 bytes per instruction. The
//   instruction has a latency of about three cycles but can start one per cycle,
//   so large inputs are cut into three equal streams checksummed in the same loop;
//   the three partial registers are then joined by "shifting" each earlier one past
//   the bytes of the later ones (multiplying it by x^(8*len) modulo the polynomial)
//   and XOR-ing, since the CRC register update is linear. The shift is a constant
//   GF(2)-linear map for a fixed stream length, so it is precomputed as four
//   256-entry tables, one per byte of the register.
// * Everywhere else: slicing-by-8, eight table lookups per 8 input bytes.
//
// Internally every routine works on the raw register; the public functions apply
// the standard pre/post inversion so that results can be chained.
#include "crc32c.h"

#include <pthread.h>
#include <string.h>

#if defined(__x86_64__)
#include <cpuid.h>
#include <nmmintrin.h>
#define RIVULET_CRC32C_X86_64 1
#endif

// The Castagnoli polynomial 0x1EDC6F41 with its bits reversed, as LSB-first CRCs use it.
#define CASTAGNOLI_REFLECTED 0x82F63B78u

// slice_table[k][b]: the register contribution of byte b followed by k zero bytes.
static uint32_t slice_table[8][256];

#ifdef RIVULET_CRC32C_X86_64
// Bytes per stream in the three-stream loops. The long size amortises the combine
// over 24 KiB; the short one still helps inputs of a few hundred bytes and up.
#define LONG_STREAM 8192
#define SHORT_STREAM 256
static uint32_t shift_long[4][256];
static uint32_t shift_short[4][256];
static int has_sse42;
#endif

static pthread_once_t initialize_once = PTHREAD_ONCE_INIT;

// a·b mod P in the reflected representation, where bit 31 is the coefficient of x^0
// and bit 0 that of x^31.
static uint32_t gf2_multiply(uint32_t a, uint32_t b) {
    uint32_t product = 0;
    for (uint32_t bit = 0x80000000u; bit != 0; bit >>= 1) {
        if (a & bit) product ^= b;
        // b·x: one step towards higher powers, reduced when x^32 appears.
        b = (b & 1) ? (b >> 1) ^ CASTAGNOLI_REFLECTED : b >> 1;
    }
    return product;
}

// x^n mod P, by square-and-multiply.
static uint32_t x_to_the(uint64_t n) {
    uint32_t result = 0x80000000u; // 1
    uint32_t square = 0x40000000u; // x
    while (n != 0) {
        if (n & 1) result = gf2_multiply(result, square);
        square = gf2_multiply(square, square);
        n >>= 1;
    }
    return result;
}

#ifdef RIVULET_CRC32C_X86_64
// table[k][b] = (b << 8k)·x^(8·bytes) mod P, so that moving a register past `bytes`
// zero bytes is four lookups.
static void fill_shift_table(uint32_t table[4][256], size_t bytes) {
    uint32_t factor = x_to_the((uint64_t)bytes * 8);
    for (int k = 0; k < 4; k++) {
        for (uint32_t b = 0; b < 256; b++) {
            table[k][b] = gf2_multiply(b << (8 * k), factor);
        }
    }
}

static inline uint32_t shift_register(const uint32_t table[4][256], uint32_t reg) {
    return table[0][reg & 0xff] ^ table[1][(reg >> 8) & 0xff] ^ table[2][(reg >> 16) & 0xff] ^ table[3][reg >> 24];
}
#endif

static void initialize(void) {
    for (uint32_t b = 0; b < 256; b++) {
        uint32_t reg = b;
        for (int i = 0; i < 8; i++) reg = (reg & 1) ? (reg >> 1) ^ CASTAGNOLI_REFLECTED : reg >> 1;
        slice_table[0][b] = reg;
    }
    for (uint32_t b = 0; b < 256; b++) {
        for (int k = 1; k < 8; k++) {
            uint32_t previous = slice_table[k - 1][b];
            slice_table[k][b] = (previous >> 8) ^ slice_table[0][previous & 0xff];
        }
    }
#ifdef RIVULET_CRC32C_X86_64
    fill_shift_table(shift_long, LONG_STREAM);
    fill_shift_table(shift_short, SHORT_STREAM);
    unsigned int eax, ebx, ecx, edx;
    has_sse42 = __get_cpuid(1, &eax, &ebx, &ecx, &edx) && (ecx & bit_SSE4_2) != 0;
#endif
}

static uint32_t software_update(uint32_t reg, const uint8_t *p, size_t n) {
    // Byte at a time until aligned, so the 8-byte loop reads aligned words.
    while (n != 0 && ((uintptr_t)p & 7) != 0) {
        reg = (reg >> 8) ^ slice_table[0][(reg ^ *p++) & 0xff];
        n--;
    }
    while (n >= 8) {
        // Assembled byte by byte so the result is independent of host byte order;
        // compilers turn this into a single load on little-endian machines.
        uint32_t low = reg ^ ((uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24);
        reg = slice_table[7][low & 0xff] ^ slice_table[6][(low >> 8) & 0xff] ^
              slice_table[5][(low >> 16) & 0xff] ^ slice_table[4][low >> 24] ^
              slice_table[3][p[4]] ^ slice_table[2][p[5]] ^ slice_table[1][p[6]] ^ slice_table[0][p[7]];
        p += 8;
        n -= 8;
    }
    while (n != 0) {
        reg = (reg >> 8) ^ slice_table[0][(reg ^ *p++) & 0xff];
        n--;
    }
    return reg;
}

#ifdef RIVULET_CRC32C_X86_64
static inline uint64_t load64(const uint8_t *p) {
    uint64_t word;
    memcpy(&word, p, sizeof word);
    return word;
}

// Three streams of `stream` bytes each, then one register.
#define RIVULET_THREE_STREAMS(stream, table)                                   \
    while (n >= 3 * (size_t)(stream)) {                                         \
        uint64_t r1 = 0, r2 = 0;                                               \
        const uint8_t *end = p + (stream);                                     \
        do {                                                                   \
            r0 = _mm_crc32_u64(r0, load64(p));                                 \
            r1 = _mm_crc32_u64(r1, load64(p + (stream)));                      \
            r2 = _mm_crc32_u64(r2, load64(p + 2 * (stream)));                  \
            p += 8;                                                            \
        } while (p < end);                                                     \
        r0 = shift_register(table, (uint32_t)r0) ^ (uint32_t)r1;               \
        r0 = shift_register(table, (uint32_t)r0) ^ (uint32_t)r2;               \
        p += 2 * (size_t)(stream);                                              \
        n -= 3 * (size_t)(stream);                                              \
    }

__attribute__((target("sse4.2")))
static uint32_t hardware_update(uint32_t reg, const uint8_t *p, size_t n) {
    while (n != 0 && ((uintptr_t)p & 7) != 0) {
        reg = _mm_crc32_u8(reg, *p++);
        n--;
    }
    uint64_t r0 = reg;
    RIVULET_THREE_STREAMS(LONG_STREAM, shift_long)
    RIVULET_THREE_STREAMS(SHORT_STREAM, shift_short)
    while (n >= 8) {
        r0 = _mm_crc32_u64(r0, load64(p));
        p += 8;
        n -= 8;
    }
    reg = (uint32_t)r0;
    while (n != 0) {
        reg = _mm_crc32_u8(reg, *p++);
        n--;
    }
    return reg;
}
#endif

uint32_t rivulet_crc32c_software(uint32_t crc, const void *data, size_t length) {
    pthread_once(&initialize_once, initialize);
    return ~software_update(~crc, (const uint8_t *)data, length);
}

uint32_t rivulet_crc32c_hardware(uint32_t crc, const void *data, size_t length) {
    pthread_once(&initialize_once, initialize);
#ifdef RIVULET_CRC32C_X86_64
    if (has_sse42) return ~hardware_update(~crc, (const uint8_t *)data, length);
#endif
    return ~software_update(~crc, (const uint8_t *)data, length);
}

uint32_t rivulet_crc32c(uint32_t crc, const void *data, size_t length) {
    return rivulet_crc32c_hardware(crc, data, length);
}

int rivulet_crc32c_hardware_available(void) {
    pthread_once(&initialize_once, initialize);
#ifdef RIVULET_CRC32C_X86_64
    return has_sse42;
#else
    return 0;
#endif
}
