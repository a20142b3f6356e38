// A late record's dead-letter row (late.data.strategy = 'dead_letter'):
//   {"reason":"late","event_time":T,"watermark":W,"record":<the record as it arrived>}
// The record is a JSON object the decoder accepted, so it is embedded verbatim;
// one too large to travel between shards with its text is written as null.
#pragma once

#include <charconv>
#include <cstdint>
#include <cstring>
#include <string_view>

#include "sluice/out_buffer.h"

namespace sluice::detail {

inline void write_dead_letter(OutBuffer& out, std::string_view record, int64_t event_time, int64_t watermark) {
    static constexpr std::string_view kHead = "{\"reason\":\"late\",\"event_time\":";
    static constexpr std::string_view kWm = ",\"watermark\":";
    static constexpr std::string_view kRecord = ",\"record\":";
    char* p = out.reserve(kHead.size() + kWm.size() + kRecord.size() + 2 * 20 + record.size() + 6);
    char* const start = p;
    std::memcpy(p, kHead.data(), kHead.size());
    p = std::to_chars(p + kHead.size(), p + kHead.size() + 20, event_time).ptr;
    std::memcpy(p, kWm.data(), kWm.size());
    p = std::to_chars(p + kWm.size(), p + kWm.size() + 20, watermark).ptr;
    std::memcpy(p, kRecord.data(), kRecord.size());
    p += kRecord.size();
    if (record.empty()) {
        std::memcpy(p, "null", 4);
        p += 4;
    } else {
        std::memcpy(p, record.data(), record.size());
        p += record.size();
    }
    *p++ = '}';
    *p++ = '\n';
    out.commit(static_cast<std::size_t>(p - start));
}

}  // namespace sluice::detail
