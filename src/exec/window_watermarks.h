// The latest watermark of every source that feeds this shard. The shard's
// closing watermark is their minimum; a record is judged against its own
// source's watermark before it and the other sources' latest (SPEC §4), so
// the minimum over "every source but one" is kept too (O(1) per record).
#pragma once

#include <cstdint>
#include <vector>

#include "sluice/exec.h"

namespace sluice {

class SourceWatermarks {
public:
    explicit SourceWatermarks(uint32_t sources)
        : wm_(sources == 0 ? 1 : sources, kWatermarkMin), ended_(wm_.size(), 0), idle_(wm_.size(), 0) {
        recompute();
    }

    // Raises a source's watermark (it never goes back). True when the minimum rose.
    bool advance(uint16_t source, int64_t watermark) noexcept {
        if (source >= wm_.size() || watermark <= wm_[source]) return false;
        const int64_t before = min_;
        wm_[source] = watermark;
        recompute();
        return min_ > before;
    }

    // The source is exhausted: its watermark is +infinity. False if it had ended already.
    bool end(uint16_t source) noexcept {
        if (source >= wm_.size() || ended_[source]) return false;
        if (idle_[source]) {
            idle_[source] = 0;
            --idle_count_;
        }
        ended_[source] = 1;
        ++ended_count_;
        wm_[source] = kWatermarkMax;
        recompute();
        return true;
    }

    // An idle source (watermark.idle_timeout) does not hold the minimum back
    // until it speaks again. True when the minimum rose.
    bool set_idle(uint16_t source, bool idle) noexcept {
        if (source >= wm_.size() || ended_[source] || idle_[source] == static_cast<uint8_t>(idle)) return false;
        const int64_t before = min_;
        idle_[source] = idle ? 1 : 0;
        idle_count_ += idle ? 1 : -1;
        recompute();
        return min_ > before;
    }

    bool all_ended() const noexcept { return ended_count_ == wm_.size(); }
    int64_t min() const noexcept { return min_; }
    // Minimum over every source except `source` (+infinity with one source).
    int64_t min_except(uint16_t source) const noexcept {
        if (source >= wm_.size()) return min_;
        return wm_[source] == min_ ? second_ : min_;
    }
    uint32_t sources() const noexcept { return static_cast<uint32_t>(wm_.size()); }

private:
    void recompute() noexcept {
        // Every source idle: the minimum holds where it is (nothing speaks
        // for the time line).
        if (idle_count_ != 0 && idle_count_ + ended_count_ == wm_.size() && ended_count_ != wm_.size()) return;
        min_ = kWatermarkMax;
        second_ = kWatermarkMax;
        for (std::size_t i = 0; i < wm_.size(); ++i) {
            if (idle_[i]) continue;
            const int64_t w = wm_[i];
            if (w < min_) {
                second_ = min_;
                min_ = w;
            } else if (w < second_) {
                second_ = w;
            }
        }
    }

    std::vector<int64_t> wm_;
    std::vector<uint8_t> ended_;
    std::vector<uint8_t> idle_;
    uint32_t ended_count_ = 0;
    uint32_t idle_count_ = 0;
    int64_t min_ = kWatermarkMin;
    int64_t second_ = kWatermarkMax;  // second smallest (equal to min_ when two sources share it)
};

}  // namespace sluice
