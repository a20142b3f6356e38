// The Kafka keys of the appliance's config: kafka sources and sinks,
// [checkpoint], and what they require of each other.
#include <gtest/gtest.h>

#include <string>

#include "io/kafka.h"
#include "runtime/config.h"

namespace sluice {
namespace {

const std::string kKafka = R"([checkpoint]
dir = "ckpt"
interval_ms = 500
name = "node-a"

[[sources]]
name = "in"
type = "kafka"
brokers = "127.0.0.1:9092,127.0.0.1:9093"
topics = ["events", "more"]
group = "sluice"
properties = { "session.timeout.ms" = 6000, "fetch.wait.max.ms" = "10", "check.crcs" = true }

[[sinks]]
name = "out"
type = "kafka"
brokers = "127.0.0.1:9092"
topic = "results"
linger_ms = 1
exactly_once = true
properties = { "compression.type" = "lz4" }

[[queries]]
name = "q"
sql = "SELECT k, COUNT(*) AS n FROM t GROUP BY k"
sink = "out"
)";

std::string error_of(const std::string& text) {
    Result<AppConfig> r = parse_config(text, "t.toml");
    return r.ok() ? std::string("ok") : r.error().message;
}

class ConfigKafka : public ::testing::Test {
protected:
    void SetUp() override {
        if (!io::kafka_built_in()) GTEST_SKIP() << "built without Kafka";
    }
};

TEST_F(ConfigKafka, SourcesSinksAndCheckpointsAreRead) {
    Result<AppConfig> r = parse_config(kKafka, "dir/t.toml");
    ASSERT_TRUE(r.ok()) << r.error().message;
    const AppConfig& c = r.value();
    ASSERT_EQ(c.sources.size(), 1u);
    const SourceSpec& s = c.sources[0];
    EXPECT_EQ(s.type, SourceType::Kafka);
    EXPECT_EQ(s.brokers, "127.0.0.1:9092,127.0.0.1:9093");
    EXPECT_EQ(s.topics, (std::vector<std::string>{"events", "more"}));
    EXPECT_EQ(s.group, "sluice");
    // Every value as text (toml++ keeps a table's keys in order).
    ASSERT_EQ(s.properties.size(), 3u);
    EXPECT_EQ(s.properties[0], (std::pair<std::string, std::string>{"check.crcs", "true"}));
    EXPECT_EQ(s.properties[1], (std::pair<std::string, std::string>{"fetch.wait.max.ms", "10"}));
    EXPECT_EQ(s.properties[2], (std::pair<std::string, std::string>{"session.timeout.ms", "6000"}));
    const SinkSpec& k = c.sinks[0];
    EXPECT_EQ(k.type, SinkType::Kafka);
    EXPECT_EQ(k.topic, "results");
    EXPECT_EQ(k.linger_ms, 1u);
    EXPECT_TRUE(k.exactly_once);
    EXPECT_EQ(k.transactional_id, "sluice-node-a-out");  // the default: the appliance's name and the sink's
    EXPECT_TRUE(c.checkpoint.enabled);
    EXPECT_EQ(c.checkpoint.dir, "dir/ckpt");  // relative to the config file
    EXPECT_EQ(c.checkpoint.interval_ms, 500u);
    EXPECT_EQ(c.checkpoint.name, "node-a");
    EXPECT_EQ(c.checkpoint.keep, 2u);
}

TEST_F(ConfigKafka, DefaultsOfASinkAndAnAnonymousCheckpoint) {
    const std::string text = R"([checkpoint]
dir = "/var/lib/sluice"
[[sources]]
name = "in"
type = "kafka"
brokers = "b:9092"
topics = ["t"]
group = "g"
[[sinks]]
name = "out"
type = "kafka"
brokers = "b:9092"
topic = "o"
[[queries]]
name = "q"
sql = "SELECT a FROM t"
sink = "out"
)";
    Result<AppConfig> r = parse_config(text, "t.toml");
    ASSERT_TRUE(r.ok()) << r.error().message;
    EXPECT_EQ(r->sinks[0].linger_ms, 5u);
    EXPECT_FALSE(r->sinks[0].exactly_once);
    EXPECT_TRUE(r->sinks[0].transactional_id.empty());
    EXPECT_EQ(r->checkpoint.interval_ms, 10000u);
    EXPECT_FALSE(r->checkpoint.name.empty());  // the host name
}

TEST_F(ConfigKafka, ErrorsHaveLineAndColumn) {
    EXPECT_EQ(error_of("[[sources]]\nname = \"in\"\ntype = \"kafka\"\nbrokers = \"b:1\"\ngroup = \"g\"\n"
                       "[[sinks]]\nname = \"o\"\ntype = \"stdout\"\n[[queries]]\nname = \"q\"\nsql = \"SELECT a FROM t\"\nsink = \"o\"\n"),
              "t.toml:1:1: missing required key 'topics' in [[sources]]");
    EXPECT_EQ(error_of("[[sources]]\nname = \"in\"\ntype = \"kafka\"\nbrokers = \"b:1\"\ntopics = []\ngroup = \"g\"\n"
                       "[[sinks]]\nname = \"o\"\ntype = \"stdout\"\n[[queries]]\nname = \"q\"\nsql = \"SELECT a FROM t\"\nsink = \"o\"\n"),
              "t.toml:5:10: topics: expected a non-empty array of topic names, found an empty array");
    // A key of another type, and a transactional id without exactly_once.
    EXPECT_EQ(error_of("[[sources]]\nname = \"in\"\ntype = \"udp\"\nlisten = \"127.0.0.1:1\"\ngroup = \"g\"\n"
                       "[[sinks]]\nname = \"o\"\ntype = \"kafka\"\nbrokers = \"b:1\"\ntopic = \"t\"\ntransactional_id = \"x\"\n"
                       "[[queries]]\nname = \"q\"\nsql = \"SELECT a FROM t\"\nsink = \"o\"\n"),
              "t.toml:5:1: key 'group' applies only to kafka sources, not to udp\n"
              "t.toml:11:20: transactional_id: applies only with exactly_once = true");
    EXPECT_EQ(error_of("[[sources]]\nname = \"in\"\ntype = \"kafka\"\nbrokers = \"b:1\"\ntopics = [\"t\"]\ngroup = \"g\"\n"
                       "properties = { \"a\" = [1] }\n"
                       "[[sinks]]\nname = \"o\"\ntype = \"stdout\"\n[[queries]]\nname = \"q\"\nsql = \"SELECT a FROM t\"\nsink = \"o\"\n"),
              "t.toml:7:22: properties: 'a' takes a string, number or boolean, found an array");
}

TEST_F(ConfigKafka, WhatSourcesSinksAndCheckpointsNeedOfEachOther) {
    const std::string source =
        "[[sources]]\nname = \"in\"\ntype = \"kafka\"\nbrokers = \"b:1\"\ntopics = [\"t\"]\ngroup = \"g\"\n";
    const std::string eos = "[[sinks]]\nname = \"o\"\ntype = \"kafka\"\nbrokers = \"b:1\"\ntopic = \"t\"\nexactly_once = true\n";
    const std::string query = "[[queries]]\nname = \"q\"\nsql = \"SELECT a FROM t\"\nsink = \"o\"\n";
    EXPECT_EQ(error_of(source + eos + query),
              "t.toml:7:1: kafka sink 'o': exactly_once needs [checkpoint] (a transaction per checkpoint)");
    EXPECT_EQ(error_of("[checkpoint]\ndir = \"c\"\n" + eos + query),
              "t.toml:1:1: missing [[sources]]: at least one is required\n"
              "t.toml:1:1: [checkpoint] needs a kafka source: checkpoints record the input offsets they cover\n"
              "t.toml:3:1: kafka sink 'o': exactly_once needs a kafka source (its offsets are committed in the transaction)");
    EXPECT_EQ(error_of("[checkpoint]\ndir = \"c\"\ninterval_ms = 40000\n" + source + eos + query),
              "t.toml:10:1: kafka sink 'o': exactly_once: [checkpoint] interval_ms 40000 must be at most half of "
              "transaction.timeout.ms (60000): a transaction spans a checkpoint interval");
    EXPECT_EQ(error_of(source + "[[sources]]\nname = \"u\"\ntype = \"udp\"\nlisten = \"127.0.0.1:1\"\n" +
                       "[[sinks]]\nname = \"o\"\ntype = \"stdout\"\n" + query),
              "t.toml:7:1: udp source 'u': an appliance with a kafka source ('in') reads only from Kafka");
    EXPECT_EQ(error_of(source + "[[sources]]\nname = \"in2\"\ntype = \"kafka\"\nbrokers = \"b:1\"\ntopics = [\"u\"]\ngroup = \"g\"\n" +
                       "[[sinks]]\nname = \"o\"\ntype = \"stdout\"\n" + query),
              "t.toml:7:1: kafka source 'in2': one kafka source per appliance (the first is 'in'); list several topics in it instead");
    // ROWS windows keep no checkpointable state (the check needs the plans).
    Result<AppConfig> rows = parse_config(
        "[checkpoint]\ndir = \"c\"\n" + source + "[[sinks]]\nname = \"o\"\ntype = \"stdout\"\n" +
            "[[queries]]\nname = \"q\"\nsql = \"SELECT LAG(a) OVER (ROWS WINDOW BUFFER 3 ROWS) AS l FROM t\"\nsink = \"o\"\n",
        "t.toml");
    ASSERT_TRUE(rows.ok()) << rows.error().message;
    auto planned = check_config(rows.value());
    ASSERT_FALSE(planned.ok());
    EXPECT_EQ(planned.error().message,
              "t.toml:12:1: query 'q': checkpoints do not cover ROWS windows (remove [checkpoint] or the query)");
}

TEST_F(ConfigKafka, TheExampleConfigChecks) {
    Result<AppConfig> c = load_config(std::string(SLUICE_SOURCE_ROOT) + "/config/kafka.toml");
    ASSERT_TRUE(c.ok()) << c.error().message;
    EXPECT_TRUE(c->checkpoint.enabled);
    EXPECT_TRUE(c->sinks[0].exactly_once);
    auto planned = check_config(c.value());
    EXPECT_TRUE(planned.ok()) << planned.error().message;
}

TEST_F(ConfigKafka, MetadataColumnsPlan) {
    Result<AppConfig> r = parse_config(
        "[[sources]]\nname = \"in\"\ntype = \"kafka\"\nbrokers = \"b:1\"\ntopics = [\"t\"]\ngroup = \"g\"\n"
        "[[sinks]]\nname = \"o\"\ntype = \"stdout\"\n[[queries]]\nname = \"q\"\n"
        "sql = \"SELECT _PARTITION AS p, COUNT(*) AS n, MAX(_OFFSET) AS o, MAX(_TIMESTAMP) AS t FROM t GROUP BY _PARTITION\"\n"
        "sink = \"o\"\n",
        "t.toml");
    ASSERT_TRUE(r.ok()) << r.error().message;
    auto planned = check_config(r.value());
    ASSERT_TRUE(planned.ok()) << planned.error().message;
    const Plan& p = planned.value()[0];
    ASSERT_EQ(p.fields.size(), 2u);
    EXPECT_EQ(p.fields[0].meta, FieldMeta::Partition);
    EXPECT_EQ(p.fields[1].meta, FieldMeta::Offset);
    EXPECT_TRUE(p.fields[0].parts.empty());  // never decoded from the record
}

}  // namespace
}  // namespace sluice
