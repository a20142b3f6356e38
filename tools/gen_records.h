// Record formatting for sluice-gen: the data sets of BENCH.md, one NDJSON
// object per call. Kept apart from the CLI so file, UDP and TCP output share
// one definition of every data set.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

namespace sluice {

enum class Scenario : uint8_t { S0, S1, S2, S3, S3Dense, OneBrc };

inline constexpr std::array<Scenario, 6> kAllScenarios = {
    Scenario::S0, Scenario::S1, Scenario::S2, Scenario::S3, Scenario::S3Dense, Scenario::OneBrc};

// The seed of the 1BRC data set when none is given (the other sets ignore it).
inline constexpr uint64_t kDefaultGenSeed = 1;

// Upper bound of one formatted record, newline excluded; callers size
// buffers with it.
inline constexpr std::size_t kMaxGenRecordBytes = 192;

inline constexpr std::size_t kStationCount = 413;

// "s0", "s1", "s2", "s3", "s3-dense", "1brc".
std::string_view scenario_name(Scenario s) noexcept;
std::optional<Scenario> parse_scenario(std::string_view name) noexcept;

// The fixed 1BRC station list, in source order (before any shuffle).
std::span<const std::string_view, kStationCount> station_names() noexcept;

// splitmix64: the i-th output of the stream that starts at `seed`, computed
// directly so record i does not depend on records before it.
uint64_t splitmix64_at(uint64_t seed, uint64_t i) noexcept;

// Formats record i of one data set. Random access and stateless per record,
// so ranges (--start) and parallel writers produce identical bytes.
class RecordFormatter {
public:
    explicit RecordFormatter(Scenario scenario, uint64_t seed = kDefaultGenSeed) noexcept;

    // Writes record i as one JSON object (no newline) to out, which must hold
    // kMaxGenRecordBytes; returns the bytes written. Bytes of out past the
    // record (within that bound) may be overwritten.
    std::size_t format(uint64_t i, char* out) const noexcept;

    Scenario scenario() const noexcept { return scenario_; }
    uint64_t seed() const noexcept { return seed_; }

    // The station of 1BRC record i (the seed's shuffle, round-robin).
    std::string_view station(uint64_t i) const noexcept { return stations_[i % kStationCount]; }

private:
    Scenario scenario_;
    uint64_t seed_;
    std::array<std::string_view, kStationCount> stations_;
};

// Record i of a data set with the default seed.
std::size_t format_record(Scenario scenario, uint64_t i, char* out) noexcept;

}  // namespace sluice
