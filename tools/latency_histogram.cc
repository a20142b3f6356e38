#include "latency_histogram.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

namespace sluice::lat {

LatencyHistogram::LatencyHistogram(uint64_t max_ns, unsigned sub_bucket_bits)
    : max_ns_(max_ns), sub_bits_(sub_bucket_bits) {
    if (max_ns == 0) throw std::invalid_argument("LatencyHistogram: max_ns must be > 0");
    if (sub_bucket_bits < 1 || sub_bucket_bits > 20) {
        throw std::invalid_argument("LatencyHistogram: sub_bucket_bits must be in [1, 20], got " +
                                    std::to_string(sub_bucket_bits));
    }
    const unsigned width = static_cast<unsigned>(std::bit_width(max_ns));
    bucket_count_ = 1 + (width > sub_bits_ + 1 ? width - (sub_bits_ + 1) : 0);
    counts_.assign(index_of(max_ns) + 1, 0);
}

void LatencyHistogram::record_n(uint64_t ns, uint64_t n) noexcept {
    if (n == 0) return;
    if (ns > max_ns_) {
        ns = max_ns_;
        clamped_ += n;
    }
    counts_[index_of(ns)] += n;
    count_ += n;
    sum_ += static_cast<Sum>(ns) * n;
    min_ = std::min(min_, ns);
    max_ = std::max(max_, ns);
}

void LatencyHistogram::merge(const LatencyHistogram& other) {
    if (other.max_ns_ != max_ns_ || other.sub_bits_ != sub_bits_) {
        throw std::invalid_argument("LatencyHistogram::merge: layouts differ (max_ns " +
                                    std::to_string(max_ns_) + "/" + std::to_string(other.max_ns_) +
                                    ", sub_bucket_bits " + std::to_string(sub_bits_) + "/" +
                                    std::to_string(other.sub_bits_) + ")");
    }
    for (size_t i = 0; i < counts_.size(); ++i) counts_[i] += other.counts_[i];
    count_ += other.count_;
    sum_ += other.sum_;
    clamped_ += other.clamped_;
    min_ = std::min(min_, other.min_);
    max_ = std::max(max_, other.max_);
}

void LatencyHistogram::reset() noexcept {
    std::fill(counts_.begin(), counts_.end(), 0);
    count_ = 0;
    min_ = UINT64_MAX;
    max_ = 0;
    clamped_ = 0;
    sum_ = 0;
}

double LatencyHistogram::mean() const noexcept {
    if (count_ == 0) return 0;
    return static_cast<double>(static_cast<long double>(sum_) / static_cast<long double>(count_));
}

double LatencyHistogram::stddev() const noexcept {
    if (count_ == 0) return 0;
    const long double m = static_cast<long double>(sum_) / static_cast<long double>(count_);
    long double squares = 0;
    for_each_bucket([&](uint64_t low, uint64_t high, uint64_t n) {
        // The midpoint, kept inside the exact extremes so a lone value has no spread.
        const long double mid = std::clamp(static_cast<long double>(low) + (high - low) / 2.0L,
                                           static_cast<long double>(min_), static_cast<long double>(max_));
        squares += (mid - m) * (mid - m) * static_cast<long double>(n);
    });
    return static_cast<double>(std::sqrt(squares / static_cast<long double>(count_)));
}

uint64_t LatencyHistogram::value_at_percentile(double p) const noexcept {
    if (count_ == 0) return 0;
    if (!(p > 0)) return min_;  // also NaN
    if (p >= 100) return max_;
    const long double exact = static_cast<long double>(p) / 100.0L * static_cast<long double>(count_);
    const auto rank = std::clamp<uint64_t>(static_cast<uint64_t>(std::ceil(exact - exact * 1e-12L)), 1, count_);
    uint64_t seen = 0;
    for (size_t i = 0; i < counts_.size(); ++i) {
        seen += counts_[i];
        if (seen >= rank) return std::clamp(bucket_high(i), min_, max_);
    }
    return max_;  // unreachable: the counts add up to count_
}

}  // namespace sluice::lat
