// Number text for rows, CAST and ||: integers, and doubles in shortest
// round-trip form. The output is exactly what std::to_chars gives (plus the
// ".0" that keeps an integral DOUBLE recognisable); the fast paths only
// avoid the general shortest-digits search for the common shapes: whole
// numbers and values with a few decimals (prices, temperatures, averages
// that come out even).
#pragma once

#include <bit>
#include <charconv>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>

namespace sluice::detail {

// Room callers give format_finite_double: the fast paths store whole 16-byte
// blocks, so they may write scratch bytes past the text (never past this).
inline constexpr std::size_t kDoubleTextMax = 48;
inline constexpr std::size_t kIntTextMax = 20;

inline constexpr char kDigitPairs[] =
    "00010203040506070809101112131415161718192021222324252627282930313233343536373839"
    "40414243444546474849505152535455565758596061626364656667686970717273747576777879"
    "8081828384858687888990919293949596979899";

inline constexpr uint64_t kPow10u[20] = {1ULL,
                                         10ULL,
                                         100ULL,
                                         1000ULL,
                                         10000ULL,
                                         100000ULL,
                                         1000000ULL,
                                         10000000ULL,
                                         100000000ULL,
                                         1000000000ULL,
                                         10000000000ULL,
                                         100000000000ULL,
                                         1000000000000ULL,
                                         10000000000000ULL,
                                         100000000000000ULL,
                                         1000000000000000ULL,
                                         10000000000000000ULL,
                                         100000000000000000ULL,
                                         1000000000000000000ULL,
                                         10000000000000000000ULL};

// Exact in binary up to 1e22.
inline constexpr double kPow10d[18] = {1e0, 1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,  1e8,
                                       1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17};

// Number of decimal digits of v (1..20): log10 estimated from the bit width
// (1233 / 4096 ~ log10 2), then corrected with one comparison. v | 1 makes 0
// one digit and changes no other count (no power of ten is odd).
inline uint32_t decimal_digits(uint64_t v) noexcept {
    const uint64_t x = v | 1;
    const auto t = static_cast<uint32_t>((std::bit_width(x) * 1233) >> 12);
    return t + 1 - (x < kPow10u[t] ? 1u : 0u);
}

// Writes the n = decimal_digits(v) digits of v into out[0, n), two at a time from the end.
inline void write_digits(char* out, uint64_t v, uint32_t n) noexcept {
    char* p = out + n;
    while (v >= 100) {
        const uint64_t q = v / 100;
        const auto r = static_cast<uint32_t>(v - q * 100);
        p -= 2;
        std::memcpy(p, kDigitPairs + 2 * r, 2);
        v = q;
    }
    if (v >= 10) {
        std::memcpy(p - 2, kDigitPairs + 2 * v, 2);
    } else {
        p[-1] = static_cast<char>('0' + v);
    }
}

// 1..4 digits of v < 10000, no leading zeros.
inline std::size_t write_upto4(char* out, uint32_t v) noexcept {
    if (v < 100) {
        if (v < 10) {
            out[0] = static_cast<char>('0' + v);
            return 1;
        }
        std::memcpy(out, kDigitPairs + 2 * v, 2);
        return 2;
    }
    const uint32_t q = v / 100;
    const uint32_t r = v - q * 100;
    if (q < 10) {
        out[0] = static_cast<char>('0' + q);
        std::memcpy(out + 1, kDigitPairs + 2 * r, 2);
        return 3;
    }
    std::memcpy(out, kDigitPairs + 2 * q, 2);
    std::memcpy(out + 2, kDigitPairs + 2 * r, 2);
    return 4;
}

// Exactly 4 digits of v < 10000, leading zeros kept.
inline void write4(char* out, uint32_t v) noexcept {
    const uint32_t q = v / 100;
    std::memcpy(out, kDigitPairs + 2 * q, 2);
    std::memcpy(out + 2, kDigitPairs + 2 * (v - q * 100), 2);
}

// Counts and quantities are mostly below 10^8: two branches and a few
// multiplications; longer numbers take the digit-count loop.
[[gnu::always_inline]] inline std::size_t format_uint(char* out, uint64_t v) noexcept {
    if (v < 10000) return write_upto4(out, static_cast<uint32_t>(v));
    if (v < 100000000) {
        const auto hi = static_cast<uint32_t>(v / 10000);
        const std::size_t n = write_upto4(out, hi);
        write4(out + n, static_cast<uint32_t>(v - uint64_t{hi} * 10000));
        return n + 4;
    }
    if (v < 10000000000000000ULL) {
        // Sums and timestamps: the high half as above, then 8 digits in 4 + 4.
        const uint64_t hi = v / 100000000;
        const auto lo = static_cast<uint32_t>(v - hi * 100000000);
        std::size_t n;
        if (hi < 10000) {
            n = write_upto4(out, static_cast<uint32_t>(hi));
        } else {
            const auto hh = static_cast<uint32_t>(hi / 10000);
            n = write_upto4(out, hh);
            write4(out + n, static_cast<uint32_t>(hi - uint64_t{hh} * 10000));
            n += 4;
        }
        const uint32_t lh = lo / 10000;
        write4(out + n, lh);
        write4(out + n + 4, lo - lh * 10000);
        return n + 8;
    }
    const uint32_t n = decimal_digits(v);
    write_digits(out, v, n);
    return n;
}

[[gnu::always_inline]] inline std::size_t format_int(char* out, int64_t v) noexcept {
    if (v >= 0) return format_uint(out, static_cast<uint64_t>(v));
    *out = '-';
    return 1 + format_uint(out + 1, 0 - static_cast<uint64_t>(v));  // INT64_MIN too
}

// Few-decimals path: for 1e-3 <= |d| < 1e15, not integral. K is the most
// decimals that keep |d| * 10^K below 1e15 < 2^50; then 10^-K is more than
// 4 ulp(d), so at most one multiple of 10^-K lies within d's rounding
// interval, and if one does, rounding fl(|d| * 10^K) finds it (the product's
// error is below 1/16, the candidate's distance below 1/8). The candidate
// round-trips iff M / 10^K (both exact, one correctly rounded division) is
// |d|. Any shorter round-tripping decimal is that same candidate with
// trailing zeros, so stripping them gives to_chars' shortest digits; and in
// this range to_chars chooses fixed notation (it is never longer than the
// scientific one, ties going to fixed). Returns 0 when there is no such
// candidate: the caller falls back to to_chars.
inline std::size_t format_few_decimals(char* out, double d) noexcept {
    const double a = std::fabs(d);
    if (!(a >= 1e-3 && a < 1e15)) return 0;
    const int e = static_cast<int>((std::bit_cast<uint64_t>(a) >> 52) & 0x7ff) - 1023;  // a is normal
    const int j0 = (e * 78913) >> 18;  // floor(e * log10 2) <= floor(log10 a)
    const int big_k = 13 - j0;
    if (big_k < 1) return 0;
    const double scaled = a * kPow10d[big_k];
    if (!(scaled < 0x1p50)) return 0;
    const double m = std::nearbyint(scaled);
    if (m / kPow10d[big_k] != a) return 0;
    auto mant = static_cast<uint64_t>(m);
    int k = big_k;
    // Strip trailing zeros (at most 14 here: 8 + 4 + 2 + 1 covers them).
    if (mant % 100000000 == 0) {
        mant /= 100000000;
        k -= 8;
    }
    if (mant % 10000 == 0) {
        mant /= 10000;
        k -= 4;
    }
    if (mant % 100 == 0) {
        mant /= 100;
        k -= 2;
    }
    if (mant % 10 == 0) {
        mant /= 10;
        k -= 1;
    }
    if (k <= 0 || mant % 10 == 0) return 0;  // cannot happen for a non-integral d; stay safe
    char digits[40];
    const uint32_t n = decimal_digits(mant);  // <= 16
    write_digits(digits, mant, n);
    char* p = out;
    *p = '-';
    p += std::signbit(d) ? 1 : 0;
    const auto uk = static_cast<uint32_t>(k);
    if (n > uk) {
        std::memcpy(p, digits, 16);  // the integer part, n - k <= 15 digits
        p += n - uk;
        *p++ = '.';
        std::memcpy(p, digits + (n - uk), 16);  // k <= 16 digits
        p += uk;
    } else {
        std::memcpy(p, "0.0000000000000000", 18);  // "0." and up to 16 leading zeros
        p += 2 + (uk - n);
        std::memcpy(p, digits, 16);
        p += n;
    }
    return static_cast<std::size_t>(p - out);
}

// The general case of format_finite_double (few decimals, else to_chars).
[[gnu::noinline]] inline std::size_t format_double_slow(char* out, double d) noexcept {
    if (const std::size_t n = format_few_decimals(out, d); n != 0) return n;
    char* end = std::to_chars(out, out + kDoubleTextMax - 2, d).ptr;
    bool plain = true;
    for (const char* p = out; p != end; ++p) {
        if (*p == '.' || *p == 'e' || *p == 'n') {
            plain = false;
            break;
        }
    }
    if (plain) {
        end[0] = '.';
        end[1] = '0';
        end += 2;
    }
    return static_cast<std::size_t>(end - out);
}

// Shortest round-trip text of a finite double; integral values keep a ".0"
// so that a DOUBLE column stays recognisable (300.0, not 300). Integral
// values below 1e16 print in full (100000.0, not to_chars' 1e+05): readable,
// still exact, and the fast path for the common whole-number case. (In
// that range the conversion to int64 is defined and exact for integers.)
// out must have kDoubleTextMax bytes.
[[gnu::always_inline]] inline std::size_t format_finite_double(char* out, double d) noexcept {
    if (d > -1e16 && d < 1e16) [[likely]] {
        const auto i = static_cast<int64_t>(d);
        if (static_cast<double>(i) == d && (i != 0 || !std::signbit(d))) [[likely]] {
            const std::size_t n = format_int(out, i);
            std::memcpy(out + n, ".0", 2);
            return n + 2;
        }
    }
    return format_double_slow(out, d);
}

}  // namespace sluice::detail
