// Latency histogram for sluice-lat: an HdrHistogram-style log-linear layout of nanosecond values.
//
// Values below 2^(sub_bucket_bits+1) get a bucket each (exact); every power-of-two range above that,
// [2^e, 2^(e+1)), is split into 2^sub_bucket_bits equal sub-buckets of width 2^(e-sub_bucket_bits).
// A value is therefore known to within a relative error of 2^-sub_bucket_bits, whatever its
// magnitude, and the whole counts array is a fixed size decided by max_ns: record() is an index
// computation and an increment, never an allocation.
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace sluice::lat {

class LatencyHistogram {
public:
    // Throws std::invalid_argument when max_ns is 0 or sub_bucket_bits is outside [1, 20]
    // (20 bits already means tens of millions of counters for an hour-long range).
    explicit LatencyHistogram(uint64_t max_ns = 3'600'000'000'000ull, unsigned sub_bucket_bits = 11);

    // Values above max_ns() are recorded as max_ns() and counted in clamped().
    void record(uint64_t ns) noexcept { record_n(ns, 1); }
    void record_n(uint64_t ns, uint64_t n) noexcept;
    // Same max_ns and sub_bucket_bits required; throws std::invalid_argument otherwise.
    void merge(const LatencyHistogram& other);
    void reset() noexcept;

    uint64_t count() const noexcept { return count_; }
    uint64_t min() const noexcept { return count_ ? min_ : 0; }  // exact (after clamping)
    uint64_t max() const noexcept { return max_; }               // exact (after clamping)
    double mean() const noexcept;                                // exact (after clamping)
    // Population standard deviation computed from bucket midpoints (as HdrHistogram does), so it
    // carries the bucket resolution; 0 when empty.
    double stddev() const noexcept;
    uint64_t clamped() const noexcept { return clamped_; }

    // The smallest bucket value v such that at least p% of the recorded values are <= v, reported as
    // the bucket's highest equivalent value clamped to [min(), max()]; p <= 0 gives min(), p >= 100
    // max(). The rank is ceil(p/100 * count()) with a 1e-12 relative slack so that a p given as a
    // double (99.9 is stored as 99.900000000000006) does not step past an exact integer rank.
    // 0 when empty.
    uint64_t value_at_percentile(double p) const noexcept;

    // Calls f(bucket_low_ns, bucket_high_ns, count) for every non-empty bucket in value order.
    // bucket_high_ns is the bucket's highest equivalent value and may exceed max().
    template <class F>
    void for_each_bucket(F&& f) const {
        for (size_t i = 0; i < counts_.size(); ++i) {
            if (counts_[i] != 0) f(bucket_low(i), bucket_high(i), counts_[i]);
        }
    }

    // Layout.
    uint64_t max_ns() const noexcept { return max_ns_; }
    unsigned sub_bucket_bits() const noexcept { return sub_bits_; }
    // HdrHistogram's terms, for the .hgrm footer: power-of-two buckets needed to cover max_ns(), and
    // sub-buckets per bucket (2^(sub_bucket_bits+1): HdrHistogram's first bucket is linear and every
    // later one uses only its upper half).
    unsigned bucket_count() const noexcept { return bucket_count_; }
    uint64_t sub_bucket_count() const noexcept { return uint64_t{2} << sub_bits_; }
    size_t counts_length() const noexcept { return counts_.size(); }
    // The range of values that share v's bucket (v need not be <= max_ns()).
    uint64_t lowest_equivalent(uint64_t v) const noexcept { return bucket_low(index_of(v)); }
    uint64_t highest_equivalent(uint64_t v) const noexcept { return bucket_high(index_of(v)); }

private:
    // (shift << s) + (v >> shift) with shift = max(0, bit_width(v) - (s+1)): for v < 2^(s+1) this is v
    // itself; above, each extra power of two adds 2^s indices and v >> shift is in [2^s, 2^(s+1)).
    size_t index_of(uint64_t v) const noexcept {
        const unsigned width = static_cast<unsigned>(std::bit_width(v));
        const unsigned shift = width > sub_bits_ + 1 ? width - (sub_bits_ + 1) : 0;
        return (static_cast<size_t>(shift) << sub_bits_) + static_cast<size_t>(v >> shift);
    }
    unsigned shift_of(size_t index) const noexcept {
        const size_t hi = index >> sub_bits_;
        return hi > 1 ? static_cast<unsigned>(hi - 1) : 0;
    }
    uint64_t bucket_low(size_t index) const noexcept {
        const unsigned shift = shift_of(index);
        return static_cast<uint64_t>(index - (static_cast<size_t>(shift) << sub_bits_)) << shift;
    }
    uint64_t bucket_high(size_t index) const noexcept {
        return bucket_low(index) + ((uint64_t{1} << shift_of(index)) - 1);
    }

    __extension__ using Sum = unsigned __int128;  // count * max value overflows 64 bits

    uint64_t max_ns_;
    unsigned sub_bits_;
    unsigned bucket_count_;
    std::vector<uint64_t> counts_;
    uint64_t count_ = 0;
    uint64_t min_ = UINT64_MAX;
    uint64_t max_ = 0;
    uint64_t clamped_ = 0;
    Sum sum_ = 0;
};

}  // namespace sluice::lat
