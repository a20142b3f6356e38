// Checkpoint files: every query's state (QueryState::snapshot items, which do
// not depend on the shard count) with the input offsets it covers, written by
// one appliance (a member of its consumer group) at one epoch.
//
// File: <dir>/<member>.<epoch, 16 hex digits>.ckpt, written under a temporary
// name, fsynced, renamed, and the directory fsynced. Layout (little-endian):
//   "SLUICECP" u32 version u32 flags u64 body_length
//   body: u64 epoch, i64 created_ms, str member, str group,
//         u32 topics    { str name, u32 partitions }
//         u32 queries   { str name, u64 fingerprint (of the SQL text), i64 closed_watermark,
//                         u64 items_length, items }
//         u32 partitions{ u32 topic, i32 partition, i64 next_offset, i64 lane_max_event[queries] }
//   u64 checksum (hash64 of the body), "SLUICEND"
// (str: u32 length + bytes.) A file that is cut short, fails its checksum,
// has another version or does not parse is refused with a message naming it.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "sluice/result.h"

namespace sluice {

inline constexpr uint32_t kCheckpointVersion = 1;

struct CheckpointQuery {
    std::string name;
    uint64_t fingerprint = 0;
    int64_t closed_watermark = INT64_MIN;
    std::vector<uint8_t> items;
};

struct CheckpointPartition {
    uint32_t topic = 0;
    int32_t partition = 0;
    int64_t next_offset = -1;
    std::vector<int64_t> lane_max_event;  // one per query
};

struct Checkpoint {
    uint64_t epoch = 0;
    int64_t created_ms = 0;
    std::string member;
    std::string group;
    std::vector<std::string> topics;
    std::vector<int32_t> topic_partitions;
    std::vector<CheckpointQuery> queries;
    std::vector<CheckpointPartition> partitions;
};

// The fingerprint of a query's SQL text (a changed query cannot take old state).
uint64_t query_fingerprint(const std::string& sql);

std::vector<uint8_t> encode_checkpoint(const Checkpoint& c);
// `what` names the bytes in messages (the file's path).
Result<Checkpoint> decode_checkpoint(const uint8_t* data, std::size_t len, const std::string& what);

std::string checkpoint_path(const std::string& dir, const std::string& member, uint64_t epoch);
// Writes under a temporary name, fsyncs the file, renames it into place and
// fsyncs the directory (which is created when missing).
Result<bool> write_checkpoint_file(const std::string& dir, const std::string& member, uint64_t epoch,
                                   const std::vector<uint8_t>& bytes);
Result<Checkpoint> read_checkpoint_file(const std::string& path);

struct CheckpointFile {
    std::string path;
    std::string member;
    uint64_t epoch = 0;
};
// Every *.ckpt file of the directory whose name parses, by member, then epoch.
std::vector<CheckpointFile> list_checkpoints(const std::string& dir);

}  // namespace sluice
