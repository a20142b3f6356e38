#include "config.h"

#include <cctype>

#include <arpa/inet.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <initializer_list>
#include <memory>
#include <utility>

#include <toml++/toml.h>

#include "io/kafka.h"
#include "net/dpdk_port.h"
#include "sluice/sql.h"
#include "topology.h"

namespace sluice {

const char* name_of(SourceType t) {
    switch (t) {
        case SourceType::Udp: return "udp";
        case SourceType::Tcp: return "tcp";
        case SourceType::Dpdk: return "dpdk";
        case SourceType::Kafka: return "kafka";
    }
    return "?";
}

const char* name_of(SinkType t) {
    switch (t) {
        case SinkType::Stdout: return "stdout";
        case SinkType::File: return "file";
        case SinkType::Udp: return "udp";
        case SinkType::Tcp: return "tcp";
        case SinkType::Kafka: return "kafka";
    }
    return "?";
}

const char* name_of(OnFull f) { return f == OnFull::Block ? "block" : "drop"; }
const char* name_of(IdlePolicy p) { return p == IdlePolicy::Busy ? "busy" : "adaptive"; }

std::string config_error(const AppConfig& config, ConfigPos pos, const std::string& message) {
    return config.path + ":" + std::to_string(pos.line) + ":" + std::to_string(pos.column) + ": " + message;
}

namespace {

constexpr uint32_t kMaxShards = 256;  // as `sluice query --shards`
constexpr uint64_t KiB = 1024, MiB = 1024 * KiB, GiB = 1024 * MiB;

// A message stays on its line: control characters (toml++ quotes the raw
// input it saw, e.g. "saw 't\n'"; a TOML string may hold any) become escapes.
std::string one_line(std::string s) {
    const auto control = [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; };
    if (std::none_of(s.begin(), s.end(), control)) return s;
    std::string out;
    for (const char c : s) {
        if (!control(c)) {
            out += c;
        } else if (c == '\n') {
            out += "\\n";
        } else if (c == '\t') {
            out += "\\t";
        } else if (c == '\r') {
            out += "\\r";
        } else {
            static const char kHex[] = "0123456789abcdef";
            out += "\\x";
            out += kHex[static_cast<unsigned char>(c) >> 4];
            out += kHex[c & 0xf];
        }
    }
    return out;
}

// Every error of one pass, reported in file order, one per line.
class Diagnostics {
public:
    explicit Diagnostics(std::string file) : file_(std::move(file)) {}
    void add(ConfigPos pos, std::string message) { items_.push_back({pos, one_line(std::move(message))}); }
    bool empty() const { return items_.empty(); }
    Error error() {
        std::stable_sort(items_.begin(), items_.end(), [](const Item& a, const Item& b) {
            return std::pair(a.pos.line, a.pos.column) < std::pair(b.pos.line, b.pos.column);
        });
        std::string out;
        for (const Item& it : items_) {
            if (!out.empty()) out += '\n';
            out += file_ + ":" + std::to_string(it.pos.line) + ":" + std::to_string(it.pos.column) + ": " + it.message;
        }
        return Error{out};
    }

private:
    struct Item {
        ConfigPos pos;
        std::string message;
    };
    std::string file_;
    std::vector<Item> items_;
};

ConfigPos pos_of(const toml::source_region& r) { return {r.begin.line, r.begin.column}; }
ConfigPos pos_of(const toml::node& n) { return pos_of(n.source()); }

const char* type_phrase(const toml::node& n) {
    switch (n.type()) {
        case toml::node_type::table: return "a table";
        case toml::node_type::array: return "an array";
        case toml::node_type::string: return "a string";
        case toml::node_type::integer: return "an integer";
        case toml::node_type::floating_point: return "a float";
        case toml::node_type::boolean: return "a boolean";
        case toml::node_type::date: return "a date";
        case toml::node_type::time: return "a time";
        case toml::node_type::date_time: return "a date-time";
        default: return "nothing";
    }
}

std::string join(const std::vector<std::string>& words, const char* sep = ", ") {
    std::string s;
    for (const std::string& w : words) {
        if (!s.empty()) s += sep;
        s += w;
    }
    return s;
}

// "a", "a or b", "a, b or c"
std::string either(std::vector<std::string> words) {
    if (words.size() <= 1) return join(words);
    std::string last = std::move(words.back());
    words.pop_back();
    return join(words) + " or " + last;
}

bool operator<(ConfigPos a, ConfigPos b) { return std::pair(a.line, a.column) < std::pair(b.line, b.column); }

// The whole file, or false with errno set.
bool read_text(const std::string& path, std::string& out) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return false;
    out.clear();
    char buf[65536];
    for (;;) {
        const ssize_t n = ::read(fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            const int saved = errno;
            ::close(fd);
            errno = saved;
            return false;
        }
        if (n == 0) break;
        out.append(buf, static_cast<size_t>(n));
    }
    ::close(fd);
    return true;
}

// Digits only; false if malformed. in_range: 1 .. 65535.
bool parse_port(std::string_view s, uint16_t& port, bool& in_range) {
    if (s.empty() || !std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; })) return false;
    uint32_t v = 0;
    for (char c : s.substr(0, 6)) v = v * 10 + static_cast<uint32_t>(c - '0');
    in_range = s.size() <= 5 && v >= 1 && v <= 65535;
    port = static_cast<uint16_t>(v);
    return true;
}

// "a.b.c.d:port" or "[ipv6]:port"; `why` says what is wrong.
bool parse_endpoint(const std::string& text, Endpoint& out, std::string& why) {
    Endpoint e;
    e.text = text;
    std::string_view port_text;
    bool ok_host = false;
    if (!text.empty() && text[0] == '[') {
        const size_t close = text.find("]:");
        if (close != std::string::npos) {
            e.host = text.substr(1, close - 1);
            e.ipv6 = true;
            port_text = std::string_view(text).substr(close + 2);
            in6_addr a6;
            ok_host = ::inet_pton(AF_INET6, e.host.c_str(), &a6) == 1;
        }
    } else {
        const size_t colon = text.rfind(':');
        if (colon != std::string::npos) {
            e.host = text.substr(0, colon);
            port_text = std::string_view(text).substr(colon + 1);
            in_addr a4;
            ok_host = ::inet_pton(AF_INET, e.host.c_str(), &a4) == 1;
        }
    }
    bool in_range = true;
    if (!ok_host || !parse_port(port_text, e.port, in_range)) {
        why = "malformed address '" + text + "' (expected a.b.c.d:port or [ipv6]:port)";
        return false;
    }
    if (!in_range) {
        why = "port " + std::string(port_text) + " in '" + text + "' is out of range (1 .. 65535)";
        return false;
    }
    out = std::move(e);
    return true;
}

// Reads one table's keys into values, reporting into Diagnostics.
class TableReader {
public:
    TableReader(const toml::table& t, std::string what, Diagnostics& d) : t_(t), what_(std::move(what)), d_(d) {}

    const toml::table& table() const { return t_; }
    ConfigPos pos() const { return pos_of(t_); }
    bool has(std::string_view key) const { return t_.contains(key); }
    const toml::node* node(std::string_view key) const { return t_.get(key); }
    ConfigPos key_pos(std::string_view key) const {
        auto it = t_.find(key);
        return it == t_.end() ? pos() : pos_of(it->first.source());
    }
    ConfigPos value_pos(std::string_view key) const {
        const toml::node* n = node(key);
        return n ? pos_of(*n) : pos();
    }
    void error_at(std::string_view key, const std::string& message) {
        d_.add(value_pos(key), std::string(key) + ": " + message);
    }
    void error_at_plain(std::string_view key, const std::string& message) { d_.add(value_pos(key), message); }

    void allow_only(std::initializer_list<const char*> known) {
        std::vector<std::string> names(known.begin(), known.end());
        for (auto&& [k, v] : t_) {
            if (std::find(names.begin(), names.end(), k.str()) != names.end()) continue;
            d_.add(pos_of(k.source()),
                   "unknown key '" + std::string(k.str()) + "' " + what_ + " (known: " + join(names) + ")");
        }
    }

    // A key that exists only for some types of the element.
    void only_for(std::string_view key, std::initializer_list<const char*> types, const char* kind,
                  const std::string& actual) {
        if (!has(key)) return;
        for (const char* t : types)
            if (actual == t) return;
        d_.add(key_pos(key), "key '" + std::string(key) + "' applies only to " +
                                 either(std::vector<std::string>(types.begin(), types.end())) + " " + kind +
                                 ", not to " + actual);
    }

    void missing(std::string_view key) {
        d_.add(pos(), "missing required key '" + std::string(key) + "' " + what_);
    }

    bool get_string(std::string_view key, std::string& out, bool required = false) {
        const toml::node* n = node(key);
        if (!n) {
            if (required) missing(key);
            return false;
        }
        if (!n->is_string()) {
            error_at(key, std::string("expected a string, found ") + type_phrase(*n));
            return false;
        }
        out = n->as_string()->get();
        return true;
    }

    bool get_name(std::string_view key, std::string& out) {
        if (!get_string(key, out, true)) return false;
        if (out.empty()) {
            error_at(key, "must not be empty");
            return false;
        }
        return true;
    }

    bool get_bool(std::string_view key, bool& out) {
        const toml::node* n = node(key);
        if (!n) return false;
        if (!n->is_boolean()) {
            error_at(key, std::string("expected true or false, found ") + type_phrase(*n));
            return false;
        }
        out = n->as_boolean()->get();
        return true;
    }

    bool get_uint(std::string_view key, uint64_t lo, uint64_t hi, uint32_t& out, bool power_of_two = false) {
        const toml::node* n = node(key);
        if (!n) return false;
        if (!n->is_integer()) {
            error_at(key, std::string("expected an integer, found ") + type_phrase(*n));
            return false;
        }
        const int64_t v = n->as_integer()->get();
        if (v < 0 || static_cast<uint64_t>(v) < lo || static_cast<uint64_t>(v) > hi) {
            error_at(key, std::to_string(v) + " is out of range (" + std::to_string(lo) + " .. " + std::to_string(hi) + ")");
            return false;
        }
        if (power_of_two && (v & (v - 1)) != 0) {
            error_at(key, std::to_string(v) + " is not a power of two");
            return false;
        }
        out = static_cast<uint32_t>(v);
        return true;
    }

    template <class E>
    bool get_enum(std::string_view key, std::initializer_list<std::pair<const char*, E>> words, E& out,
                  bool required = false) {
        std::string s;
        if (!get_string(key, s, required)) return false;
        std::vector<std::string> names;
        for (const auto& [w, e] : words) {
            if (s == w) {
                out = e;
                return true;
            }
            names.emplace_back(w);
        }
        error_at(key, "unknown value '" + s + "' (expected " + either(names) + ")");
        return false;
    }

    bool get_endpoint(std::string_view key, Endpoint& out, bool required) {
        std::string s, why;
        if (!get_string(key, s, required)) return false;
        if (!parse_endpoint(s, out, why)) {
            error_at(key, why);
            return false;
        }
        return true;
    }

private:
    const toml::table& t_;
    std::string what_;
    Diagnostics& d_;
};

class Loader {
public:
    Loader(AppConfig& cfg, Diagnostics& d, std::filesystem::path base_dir)
        : cfg_(cfg), d_(d), base_dir_(std::move(base_dir)) {}

    void load(const toml::table& root) {
        TableReader r(root, "at the top level", d_);
        r.allow_only({"shards", "limits", "drain", "metrics", "log", "dpdk", "checkpoint", "sources", "sinks", "queries"});
        if (const toml::table* t = sub_table(r, "shards")) shards(TableReader(*t, "in [shards]", d_));
        if (const toml::table* t = sub_table(r, "limits")) limits(TableReader(*t, "in [limits]", d_));
        if (const toml::table* t = sub_table(r, "drain")) drain(TableReader(*t, "in [drain]", d_));
        if (const toml::table* t = sub_table(r, "metrics")) metrics(TableReader(*t, "in [metrics]", d_));
        if (const toml::table* t = sub_table(r, "log")) log(TableReader(*t, "in [log]", d_));
        if (const toml::table* t = sub_table(r, "dpdk")) dpdk(TableReader(*t, "in [dpdk]", d_));
        if (const toml::table* t = sub_table(r, "checkpoint")) checkpoint(TableReader(*t, "in [checkpoint]", d_));
        for (const toml::table* t : table_array(r, "sources")) source(TableReader(*t, "in [[sources]]", d_));
        for (const toml::table* t : table_array(r, "sinks")) sink(TableReader(*t, "in [[sinks]]", d_));
        for (const toml::table* t : table_array(r, "queries")) query(TableReader(*t, "in [[queries]]", d_));
        kafka_rules();
    }

private:
    const toml::table* sub_table(TableReader& r, std::string_view key) {
        const toml::node* n = r.node(key);
        if (!n) return nullptr;
        if (!n->is_table()) {
            r.error_at(key, std::string("expected a table ([") + std::string(key) + "]), found " + type_phrase(*n));
            return nullptr;
        }
        return n->as_table();
    }

    std::vector<const toml::table*> table_array(TableReader& r, std::string_view key) {
        std::vector<const toml::table*> out;
        const std::string shape = "[[" + std::string(key) + "]]";
        const toml::node* n = r.node(key);
        if (!n) {
            d_.add(r.pos(), "missing " + shape + ": at least one is required");
            return out;
        }
        if (!n->is_array()) {
            r.error_at(key, "expected an array of tables (" + shape + "), found " + type_phrase(*n));
            return out;
        }
        const toml::array& a = *n->as_array();
        if (a.empty()) r.error_at(key, "at least one is required");
        for (const toml::node& e : a) {
            if (e.is_table())
                out.push_back(e.as_table());
            else
                d_.add(pos_of(e), std::string(key) + ": expected a table, found " + type_phrase(e));
        }
        return out;
    }

    std::string resolve(const std::string& p) const {
        const std::filesystem::path path(p);
        if (path.is_absolute() || base_dir_.empty()) return p;
        return (base_dir_ / path).string();
    }

    void shards(TableReader r) {
        ShardsConfig& s = cfg_.shards;
        r.allow_only({"count", "cpus", "idle"});
        const bool have_count = r.get_uint("count", 1, kMaxShards, s.count);
        std::string text;
        if (r.get_string("cpus", text)) {
            s.cpus_pos = r.value_pos("cpus");
            Result<std::vector<unsigned>> cpus = parse_cpu_list(text);
            if (!cpus) {
                r.error_at("cpus", cpus.error().message);
            } else {
                std::vector<unsigned> sorted = cpus.value();
                std::sort(sorted.begin(), sorted.end());
                auto dup = std::adjacent_find(sorted.begin(), sorted.end());
                if (dup != sorted.end()) {
                    r.error_at("cpus", "CPU " + std::to_string(*dup) + " is listed twice in '" + text + "'");
                } else if (cpus->size() > kMaxShards) {
                    r.error_at("cpus", "lists " + std::to_string(cpus->size()) + " CPUs; at most " +
                                           std::to_string(kMaxShards) + " shards");
                } else if (have_count && s.count != cpus->size()) {
                    r.error_at("count", std::to_string(s.count) + " shards but cpus '" + text + "' lists " +
                                            std::to_string(cpus->size()) + " CPUs");
                } else {
                    s.cpus = std::move(cpus.value());
                    s.count = static_cast<uint32_t>(s.cpus.size());
                }
            }
        }
        r.get_enum<IdlePolicy>("idle", {{"busy", IdlePolicy::Busy}, {"adaptive", IdlePolicy::Adaptive}}, s.idle);
    }

    void limits(TableReader r) {
        LimitsConfig& l = cfg_.limits;
        r.allow_only({"max_record_bytes", "ring_bytes", "udp_buffers", "udp_buffer_bytes"});
        r.get_uint("max_record_bytes", KiB, 64 * MiB, l.max_record_bytes);
        r.get_uint("ring_bytes", 64 * KiB, GiB, l.ring_bytes, true);
        r.get_uint("udp_buffers", 1, 32768, l.udp_buffers, true);
        r.get_uint("udp_buffer_bytes", 512, 64 * KiB, l.udp_buffer_bytes);
    }

    void drain(TableReader r) {
        r.allow_only({"flush_windows", "timeout_ms"});
        r.get_bool("flush_windows", cfg_.drain.flush_windows);
        r.get_uint("timeout_ms", 1, 3600000, cfg_.drain.timeout_ms);
    }

    void metrics(TableReader r) {
        r.allow_only({"enabled", "listen"});
        MetricsConfig& m = cfg_.metrics;
        m.enabled = true;
        m.pos = r.pos();
        r.get_bool("enabled", m.enabled);
        r.get_endpoint("listen", m.listen, false);
    }

    void log(TableReader r) {
        r.allow_only({"summary_interval_s"});
        r.get_uint("summary_interval_s", 0, 86400, cfg_.log.summary_interval_s);
    }

    // EAL options sluice sets itself: the lcores (the control thread is the
    // EAL's main lcore; shard threads register as lcores of their own) and
    // service cores (busy threads sluice did not plan).
    static const char* reserved_eal_option(const std::string& a) {
        for (const char* o : {"--lcores", "--main-lcore", "--master-lcore", "--proc-type"})
            if (a == o || a.rfind(std::string(o) + "=", 0) == 0) return o;
        if (a.size() >= 2 && a[0] == '-' && a[1] != '-')
            for (const char* o : {"-l", "-c", "-s", "-S"})
                if (a[1] == o[1]) return o;
        return nullptr;
    }

    void dpdk(TableReader r) {
        DpdkConfig& c = cfg_.dpdk;
        c.present = true;
        c.pos = r.pos();
        r.allow_only({"eal_args", "memory_mb", "mbufs", "burst", "rx_descriptors"});
        if (const toml::node* n = r.node("eal_args")) {
            if (!n->is_array()) {
                r.error_at("eal_args", std::string("expected an array of strings, found ") + type_phrase(*n));
            } else {
                for (const toml::node& e : *n->as_array()) {
                    if (!e.is_string()) {
                        d_.add(pos_of(e), std::string("eal_args: expected a string, found ") + type_phrase(e));
                        continue;
                    }
                    const std::string a = e.as_string()->get();
                    if (const char* o = reserved_eal_option(a)) {
                        d_.add(pos_of(e), "eal_args: '" + a + "': sluice sets " + o +
                                              " itself (the EAL's main lcore is the control thread; shards, "
                                              "pinned by [shards] cpus, register as lcores of their own)");
                        continue;
                    }
                    if ((a == "-m" || a == "--socket-mem" || a.rfind("--socket-mem=", 0) == 0) && r.has("memory_mb"))
                        d_.add(pos_of(e), "eal_args: '" + a + "' and memory_mb both set the EAL's memory; give one");
                    c.eal_args.push_back(a);
                }
            }
        }
        r.get_uint("memory_mb", 16, 1u << 20, c.memory_mb);
        if (r.has("mbufs")) r.get_uint("mbufs", 1024, 1u << 26, c.mbufs);
        r.get_uint("burst", 1, net::DpdkRxQueue::kMaxBurst, c.burst);
        r.get_uint("rx_descriptors", 64, 32768, c.rx_descriptors, true);
    }

    // The keys of a dpdk source: the port, the UDP ports and address taken.
    void dpdk_source(TableReader& r, SourceSpec& s) {
        if (const toml::node* n = r.node("port")) {
            if (n->is_integer()) {
                const int64_t v = n->as_integer()->get();
                if (v < 0 || v > 65535)
                    r.error_at("port", std::to_string(v) + " is out of range (a DPDK port id, 0 .. 65535)");
                else
                    s.port = std::to_string(v);
            } else if (n->is_string()) {
                s.port = n->as_string()->get();
                if (s.port.empty()) r.error_at("port", "must not be empty");
            } else {
                r.error_at("port", std::string("expected a DPDK port name or id, found ") + type_phrase(*n));
            }
            if (!s.port.empty())
                for (const SourceSpec& o : cfg_.sources)
                    if (o.type == SourceType::Dpdk && o.port == s.port)
                        r.error_at("port", "port '" + s.port + "' is already the port of dpdk source '" + o.name + "'");
        } else {
            r.missing("port");
        }
        if (const toml::node* n = r.node("udp_ports")) {
            if (!n->is_array() || n->as_array()->empty()) {
                r.error_at("udp_ports", std::string("expected a non-empty array of UDP ports, found ") +
                                            (n->is_array() ? "an empty array" : type_phrase(*n)));
            } else {
                for (const toml::node& e : *n->as_array()) {
                    const int64_t v = e.is_integer() ? e.as_integer()->get() : -1;
                    if (v < 1 || v > 65535) {
                        d_.add(pos_of(e), "udp_ports: expected a port 1 .. 65535, found " +
                                              (e.is_integer() ? std::to_string(v) : std::string(type_phrase(e))));
                    } else if (std::find(s.udp_ports.begin(), s.udp_ports.end(), v) != s.udp_ports.end()) {
                        d_.add(pos_of(e), "udp_ports: " + std::to_string(v) + " is listed twice");
                    } else if (s.udp_ports.size() == net::FrameFilter::kMaxPorts) {
                        d_.add(pos_of(e), "udp_ports: at most " + std::to_string(net::FrameFilter::kMaxPorts) +
                                              " ports");
                    } else {
                        s.udp_ports.push_back(static_cast<uint16_t>(v));
                    }
                }
            }
        } else {
            r.missing("udp_ports");
        }
        if (r.get_string("ipv4", s.ipv4)) {
            in_addr a4;
            if (::inet_pton(AF_INET, s.ipv4.c_str(), &a4) != 1)
                r.error_at("ipv4", "malformed IPv4 address '" + s.ipv4 + "' (expected a.b.c.d)");
            else
                s.ipv4_address = ntohl(a4.s_addr);
        }
        r.get_uint("queues", 1, 1024, s.queues);
        r.get_bool("promiscuous", s.promiscuous);
        if (!net::dpdk_built_in())
            d_.add(s.pos, "dpdk source '" + s.name + "': this sluice was built without DPDK (meson -Ddpdk=enabled)");
    }

    // A table of librdkafka properties: every value is passed as text.
    void kafka_properties(TableReader& r, std::vector<std::pair<std::string, std::string>>& out) {
        const toml::node* n = r.node("properties");
        if (!n) return;
        if (!n->is_table()) {
            r.error_at("properties", std::string("expected a table of librdkafka properties, found ") + type_phrase(*n));
            return;
        }
        for (auto&& [k, v] : *n->as_table()) {
            std::string text;
            if (v.is_string()) {
                text = v.as_string()->get();
            } else if (v.is_integer()) {
                text = std::to_string(v.as_integer()->get());
            } else if (v.is_boolean()) {
                text = v.as_boolean()->get() ? "true" : "false";
            } else if (v.is_floating_point()) {
                text = std::to_string(v.as_floating_point()->get());
            } else {
                d_.add(pos_of(v), "properties: '" + std::string(k.str()) + "' takes a string, number or boolean, found " +
                                      type_phrase(v));
                continue;
            }
            out.emplace_back(std::string(k.str()), std::move(text));
        }
    }

    void kafka_source(TableReader& r, SourceSpec& s) {
        if (r.get_string("brokers", s.brokers, true) && s.brokers.empty()) r.error_at("brokers", "must not be empty");
        if (r.get_string("group", s.group, true) && s.group.empty()) r.error_at("group", "must not be empty");
        if (const toml::node* n = r.node("topics")) {
            if (!n->is_array() || n->as_array()->empty()) {
                r.error_at("topics", std::string("expected a non-empty array of topic names, found ") +
                                         (n->is_array() ? "an empty array" : type_phrase(*n)));
            } else {
                for (const toml::node& e : *n->as_array()) {
                    if (!e.is_string() || e.as_string()->get().empty()) {
                        d_.add(pos_of(e), std::string("topics: expected a topic name, found ") + type_phrase(e));
                        continue;
                    }
                    const std::string t = e.as_string()->get();
                    if (std::find(s.topics.begin(), s.topics.end(), t) != s.topics.end())
                        d_.add(pos_of(e), "topics: '" + t + "' is listed twice");
                    else
                        s.topics.push_back(t);
                }
            }
        } else {
            r.missing("topics");
        }
        kafka_properties(r, s.properties);
        if (!io::kafka_built_in())
            d_.add(s.pos, "kafka source '" + s.name + "': this sluice was built without Kafka (meson -Dkafka=enabled)");
    }

    void kafka_sink(TableReader& r, SinkSpec& s) {
        if (r.get_string("brokers", s.brokers, true) && s.brokers.empty()) r.error_at("brokers", "must not be empty");
        if (r.get_string("topic", s.topic, true) && s.topic.empty()) r.error_at("topic", "must not be empty");
        r.get_uint("linger_ms", 0, 60000, s.linger_ms);
        r.get_bool("exactly_once", s.exactly_once);
        if (r.get_string("transactional_id", s.transactional_id)) {
            if (s.transactional_id.empty()) r.error_at("transactional_id", "must not be empty");
            if (!r.has("exactly_once") || !s.exactly_once)
                r.error_at("transactional_id", "applies only with exactly_once = true");
        }
        kafka_properties(r, s.properties);
        if (!io::kafka_built_in())
            d_.add(s.pos, "kafka sink '" + s.name + "': this sluice was built without Kafka (meson -Dkafka=enabled)");
    }

    // What Kafka sources and sinks need of each other and of [checkpoint].
    void kafka_rules() {
        const SourceSpec* kafka_source = nullptr;
        for (const SourceSpec& s : cfg_.sources) {
            if (s.type != SourceType::Kafka) continue;
            if (kafka_source != nullptr)
                d_.add(s.pos, "kafka source '" + s.name + "': one kafka source per appliance (the first is '" +
                                  kafka_source->name + "'); list several topics in it instead");
            else
                kafka_source = &s;
        }
        if (kafka_source != nullptr) {
            // Its cuts pause all input: a socket could not be paused without losing datagrams.
            for (const SourceSpec& s : cfg_.sources)
                if (s.type != SourceType::Kafka)
                    d_.add(s.pos, std::string(name_of(s.type)) + " source '" + s.name + "': an appliance with a kafka source ('" +
                                      kafka_source->name + "') reads only from Kafka");
        } else if (cfg_.checkpoint.enabled) {
            d_.add(cfg_.checkpoint.pos, "[checkpoint] needs a kafka source: checkpoints record the input offsets they cover");
        }
        const SinkSpec* transactional = nullptr;
        for (SinkSpec& s : cfg_.sinks) {
            if (s.type != SinkType::Kafka || !s.exactly_once) continue;
            if (transactional != nullptr) {
                d_.add(s.pos, "kafka sink '" + s.name + "': exactly_once: one exactly-once sink per appliance (the first is '" +
                                  transactional->name + "')");
                continue;
            }
            transactional = &s;
            if (!cfg_.checkpoint.enabled)
                d_.add(s.pos, "kafka sink '" + s.name + "': exactly_once needs [checkpoint] (a transaction per checkpoint)");
            if (kafka_source == nullptr)
                d_.add(s.pos, "kafka sink '" + s.name + "': exactly_once needs a kafka source (its offsets are committed in the transaction)");
            if (s.transactional_id.empty()) s.transactional_id = "sluice-" + cfg_.checkpoint.name + "-" + s.name;
            // A transaction stays open for one checkpoint interval: the broker
            // aborts it after transaction.timeout.ms.
            uint64_t timeout_ms = 60000;
            for (const auto& [k, v] : s.properties)
                if (k == "transaction.timeout.ms") timeout_ms = std::strtoull(v.c_str(), nullptr, 10);
            if (cfg_.checkpoint.enabled && uint64_t{cfg_.checkpoint.interval_ms} * 2 > timeout_ms)
                d_.add(s.pos, "kafka sink '" + s.name + "': exactly_once: [checkpoint] interval_ms " +
                                  std::to_string(cfg_.checkpoint.interval_ms) +
                                  " must be at most half of transaction.timeout.ms (" + std::to_string(timeout_ms) +
                                  "): a transaction spans a checkpoint interval");
        }
    }

    void checkpoint(TableReader r) {
        CheckpointConfig& c = cfg_.checkpoint;
        r.allow_only({"dir", "interval_ms", "name", "keep"});
        c.enabled = true;
        c.pos = r.pos();
        if (r.get_string("dir", c.dir, true)) {
            if (c.dir.empty()) r.error_at("dir", "must not be empty");
            c.dir = resolve(c.dir);
        }
        r.get_uint("interval_ms", 10, 86400000, c.interval_ms);
        r.get_uint("keep", 2, 1000, c.keep);
        if (r.get_string("name", c.name)) {
            bool ok = !c.name.empty();
            for (const char ch : c.name)
                ok &= std::isalnum(static_cast<unsigned char>(ch)) || ch == '_' || ch == '-' || ch == '.';
            if (!ok) r.error_at("name", "'" + c.name + "' must be letters, digits, '_', '-' and '.'");
        } else {
            char host[256] = {};
            if (::gethostname(host, sizeof host - 1) != 0 || host[0] == '\0') std::strcpy(host, "sluice");
            for (char* h = host; *h; ++h)
                if (!std::isalnum(static_cast<unsigned char>(*h)) && *h != '_' && *h != '-' && *h != '.') *h = '_';
            c.name = host;
        }
    }

    // Names are unique per kind; `first` remembers where each was defined.
    // Names also appear in stats JSON and logs: letters, digits, '_', '-', '.'.
    bool unique_name(TableReader& r, const char* kind, const std::string& name,
                     std::vector<std::pair<std::string, ConfigPos>>& first) {
        for (const char ch : name) {
            if (!std::isalnum(static_cast<unsigned char>(ch)) && ch != '_' && ch != '-' && ch != '.') {
                r.error_at("name", std::string(kind) + " name '" + name +
                                       "' may hold only letters, digits, '_', '-' and '.'");
                return false;
            }
        }
        for (const auto& [n, p] : first)
            if (n == name) {
                r.error_at("name", std::string("duplicate ") + kind + " name '" + name + "' (first at line " +
                                       std::to_string(p.line) + ")");
                return false;
            }
        first.emplace_back(name, r.value_pos("name"));
        return true;
    }

    // Sources and sinks with a valid name are kept even when other keys are
    // wrong, so queries naming them do not add errors of their own.
    void source(TableReader r) {
        SourceSpec s;
        s.pos = r.pos();
        r.allow_only({"name", "type", "listen", "max_connections", "receive_buffer_bytes", "port", "udp_ports", "ipv4",
                      "queues", "promiscuous", "brokers", "topics", "group", "properties"});
        const bool named = r.get_name("name", s.name) && unique_name(r, "source", s.name, source_names_);
        if (r.get_enum<SourceType>("type", {{"udp", SourceType::Udp}, {"tcp", SourceType::Tcp}, {"dpdk", SourceType::Dpdk},
                                            {"kafka", SourceType::Kafka}},
                                   s.type, true)) {
            const std::string t = name_of(s.type);
            r.only_for("max_connections", {"tcp"}, "sources", t);
            for (const char* k : {"listen", "receive_buffer_bytes"}) r.only_for(k, {"udp", "tcp"}, "sources", t);
            for (const char* k : {"port", "udp_ports", "ipv4", "queues", "promiscuous"})
                r.only_for(k, {"dpdk"}, "sources", t);
            for (const char* k : {"brokers", "topics", "group", "properties"}) r.only_for(k, {"kafka"}, "sources", t);
        } else {
            s.type = SourceType::Udp;  // unknown: checked as a socket source
        }
        if (s.type == SourceType::Dpdk) {
            dpdk_source(r, s);
        } else if (s.type == SourceType::Kafka) {
            kafka_source(r, s);
        } else if (r.get_endpoint("listen", s.listen, true)) {
            for (const SourceSpec& o : cfg_.sources)
                if (o.type == s.type && o.listen.port == s.listen.port && o.listen.ipv6 == s.listen.ipv6 &&
                    o.listen.host == s.listen.host)
                    r.error_at("listen", s.listen.text + " is already the address of " + name_of(o.type) +
                                             " source '" + o.name + "'");
        }
        r.get_uint("max_connections", 1, 65536, s.max_connections);
        r.get_uint("receive_buffer_bytes", 4096, 1u << 30, s.receive_buffer_bytes);
        if (named) cfg_.sources.push_back(std::move(s));
    }

    void sink(TableReader r) {
        SinkSpec s;
        s.pos = r.pos();
        r.allow_only({"name", "type", "path", "address", "datagram_bytes", "batch_bytes", "flush_us", "buffer_bytes",
                      "on_full", "reconnect_min_ms", "reconnect_max_ms", "brokers", "topic", "linger_ms", "exactly_once",
                      "transactional_id", "properties"});
        const bool named = r.get_name("name", s.name) && unique_name(r, "sink", s.name, sink_names_);
        const bool typed = r.get_enum<SinkType>(
            "type", {{"stdout", SinkType::Stdout}, {"file", SinkType::File}, {"udp", SinkType::Udp}, {"tcp", SinkType::Tcp},
                     {"kafka", SinkType::Kafka}},
            s.type, true);
        if (typed) {
            const std::string t = name_of(s.type);
            for (const char* k : {"brokers", "topic", "linger_ms", "exactly_once", "transactional_id", "properties"})
                r.only_for(k, {"kafka"}, "sinks", t);
            if (s.type == SinkType::Kafka) kafka_sink(r, s);
            r.only_for("path", {"file"}, "sinks", t);
            r.only_for("address", {"udp", "tcp"}, "sinks", t);
            r.only_for("datagram_bytes", {"udp"}, "sinks", t);
            for (const char* k : {"buffer_bytes", "on_full", "reconnect_min_ms", "reconnect_max_ms"})
                r.only_for(k, {"tcp"}, "sinks", t);
            if (s.type == SinkType::File && r.get_string("path", s.path, true)) {
                if (s.path.empty()) r.error_at("path", "must not be empty");
                s.path = resolve(s.path);
            }
            if (s.type == SinkType::Udp || s.type == SinkType::Tcp) r.get_endpoint("address", s.address, true);
        }
        r.get_uint("datagram_bytes", 64, 65507, s.datagram_bytes);
        r.get_uint("batch_bytes", 512, 16 * MiB, s.batch_bytes);
        r.get_uint("flush_us", 1, 1000000, s.flush_us);
        r.get_uint("buffer_bytes", 64 * KiB, GiB, s.buffer_bytes);
        r.get_enum<OnFull>("on_full", {{"block", OnFull::Block}, {"drop", OnFull::Drop}}, s.on_full);
        r.get_uint("reconnect_min_ms", 1, 60000, s.reconnect_min_ms);
        r.get_uint("reconnect_max_ms", 1, 600000, s.reconnect_max_ms);
        // Relations between sizes, reported at a key the operator wrote.
        auto at = [&](const char* preferred, const char* other) { return r.has(preferred) ? preferred : other; };
        if (typed && s.type == SinkType::Udp && s.datagram_bytes > s.batch_bytes)
            r.error_at_plain(at("batch_bytes", "datagram_bytes"), "batch_bytes " + std::to_string(s.batch_bytes) +
                                                                " is smaller than datagram_bytes " +
                                                                std::to_string(s.datagram_bytes));
        if (typed && s.type == SinkType::Tcp && s.buffer_bytes < s.batch_bytes)
            r.error_at_plain(at("buffer_bytes", "batch_bytes"), "buffer_bytes " + std::to_string(s.buffer_bytes) +
                                                              " is smaller than batch_bytes " +
                                                              std::to_string(s.batch_bytes));
        if (typed && s.type == SinkType::Tcp && s.reconnect_min_ms > s.reconnect_max_ms)
            r.error_at_plain(at("reconnect_min_ms", "reconnect_max_ms"),
                       "reconnect_min_ms " + std::to_string(s.reconnect_min_ms) + " is more than reconnect_max_ms " +
                           std::to_string(s.reconnect_max_ms));
        if (named) cfg_.sinks.push_back(std::move(s));
    }

    // Index of `name` among the sinks, or -1 after an error at `key`.
    int32_t find_sink(TableReader& r, std::string_view key, const std::string& name) {
        for (size_t i = 0; i < cfg_.sinks.size(); ++i)
            if (cfg_.sinks[i].name == name) return static_cast<int32_t>(i);
        std::vector<std::string> names;
        for (const SinkSpec& s : cfg_.sinks) names.push_back(s.name);
        r.error_at(key, "unknown sink '" + name + "' (sinks: " + join(names) + ")");
        return -1;
    }

    void query(TableReader r) {
        QuerySpec q;
        q.pos = r.pos();
        r.allow_only({"name", "sql", "sql_file", "sink", "dead_letter_sink", "sources"});
        if (r.get_name("name", q.name)) unique_name(r, "query", q.name, query_names_);

        if (r.has("sql") && r.has("sql_file")) {
            const char* later = r.key_pos("sql") < r.key_pos("sql_file") ? "sql_file" : "sql";
            d_.add(r.key_pos(later), "give either sql or sql_file, not both");
        } else if (r.has("sql")) {
            q.sql_pos = r.key_pos("sql");
            r.get_string("sql", q.sql);
        } else if (r.has("sql_file")) {
            q.sql_pos = r.key_pos("sql_file");
            std::string file;
            if (r.get_string("sql_file", file)) {
                q.sql_file = resolve(file);
                if (!read_text(q.sql_file, q.sql))
                    d_.add(q.sql_pos, "sql_file: cannot read '" + q.sql_file + "': " + std::strerror(errno));
            }
        } else {
            d_.add(r.pos(), "missing required key 'sql' or 'sql_file' in [[queries]]");
        }

        if (r.get_string("sink", q.sink, true)) q.sink_index = static_cast<uint32_t>(std::max(find_sink(r, "sink", q.sink), 0));
        if (r.get_string("dead_letter_sink", q.dead_letter_sink))
            q.dead_letter_index = find_sink(r, "dead_letter_sink", q.dead_letter_sink);

        if (const toml::node* n = r.node("sources")) {
            if (!n->is_array())
                r.error_at("sources", std::string("expected an array of source names, found ") + type_phrase(*n));
            else if (n->as_array()->empty())
                r.error_at("sources", "must name at least one source (leave it out for all of them)");
            else
                query_sources(*n->as_array(), q);
        } else {
            for (size_t i = 0; i < cfg_.sources.size(); ++i) {
                q.sources.push_back(cfg_.sources[i].name);
                q.source_indexes.push_back(static_cast<uint32_t>(i));
            }
        }
        cfg_.queries.push_back(std::move(q));
    }

    void query_sources(const toml::array& a, QuerySpec& q) {
        for (const toml::node& e : a) {
            if (!e.is_string()) {
                d_.add(pos_of(e), std::string("sources: expected a source name, found ") + type_phrase(e));
                continue;
            }
            const std::string name = e.as_string()->get();
            if (std::find(q.sources.begin(), q.sources.end(), name) != q.sources.end()) {
                d_.add(pos_of(e), "sources: '" + name + "' is listed twice");
                continue;
            }
            size_t i = 0;
            while (i < cfg_.sources.size() && cfg_.sources[i].name != name) ++i;
            if (i == cfg_.sources.size()) {
                std::vector<std::string> names;
                for (const SourceSpec& s : cfg_.sources) names.push_back(s.name);
                d_.add(pos_of(e), "sources: unknown source '" + name + "' (sources: " + join(names) + ")");
                continue;
            }
            q.sources.push_back(name);
            q.source_indexes.push_back(static_cast<uint32_t>(i));
        }
    }

    AppConfig& cfg_;
    Diagnostics& d_;
    std::filesystem::path base_dir_;
    std::vector<std::pair<std::string, ConfigPos>> source_names_, sink_names_, query_names_;
};

// toml++ 3.3 recurses once per part of a dotted key ([a.b.c] or a.b.c = 1)
// with no limit: 40,000 parts (80 KB) overflowed the stack of `sluice check`.
// No key of the config has more than two parts, so a longer chain is refused
// before toml++ sees it.
constexpr std::size_t kMaxKeyParts = 64;

// Where the first chain of more than kMaxKeyParts dotted parts starts, or
// {0, 0}. Conservative: it counts every part.part... run outside comments and
// multi-line strings, values too (a float is two parts, a time at most two).
ConfigPos overlong_dotted_key(std::string_view t) {
    const auto bare = [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-'; };
    uint32_t line = 1;
    std::size_t line_start = 0;
    std::size_t parts = 0;   // parts of the current chain
    bool dot = false;        // the chain ends in a dot
    ConfigPos chain;         // where it started
    std::size_t i = 0;
    while (i < t.size()) {
        const char c = t[i];
        const std::size_t start = i;
        if (c == '#') {
            while (i < t.size() && t[i] != '\n') ++i;
            continue;
        }
        if (c == '\n' || (c != ' ' && c != '\t' && c != '.' && c != '"' && c != '\'' && !bare(c))) {
            // A newline, '=', a bracket, a comma...: no chain goes on.
            if (c == '\n') {
                ++line;
                line_start = i + 1;
            }
            parts = 0;
            dot = false;
            ++i;
            continue;
        }
        if (c == ' ' || c == '\t') {
            ++i;
            continue;
        }
        if (c == '.') {
            if (parts == 0 || dot) parts = 0;
            dot = parts != 0;
            ++i;
            continue;
        }
        if (c == '"' || c == '\'') {
            const std::string_view triple = c == '"' ? "\"\"\"" : "'''";
            if (t.substr(i, 3) == triple) {
                // A multi-line string is a value: skip it, escapes, newlines and
                // the up to two quotes that may end it before its delimiter.
                for (i += 3; i < t.size() && t.substr(i, 3) != triple; ++i) {
                    if (c == '"' && t[i] == '\\') ++i;
                    if (i < t.size() && t[i] == '\n') {
                        ++line;
                        line_start = i + 1;
                    }
                }
                i = std::min(i + 3, t.size());
                for (int extra = 0; extra < 2 && i < t.size() && t[i] == c; ++extra) ++i;
                parts = 0;
                dot = false;
                continue;
            }
            for (++i; i < t.size() && t[i] != c && t[i] != '\n'; ++i)
                if (c == '"' && t[i] == '\\' && i + 1 < t.size() && t[i + 1] != '\n') ++i;
            if (i < t.size() && t[i] == c) ++i;
        } else {
            while (i < t.size() && bare(t[i])) ++i;
        }
        // One part, [start, i).
        if (!dot) {
            parts = 0;
            chain = {line, static_cast<uint32_t>(start - line_start + 1)};
        }
        dot = false;
        if (++parts > kMaxKeyParts) return chain;
    }
    return {};
}

}  // namespace

Result<AppConfig> parse_config(std::string_view text, const std::string& source_name) {
    AppConfig cfg;
    cfg.path = source_name;
    Diagnostics d(source_name);
    if (const ConfigPos deep = overlong_dotted_key(text); deep.line != 0) {
        d.add(deep, "a dotted key or table name with more than " + std::to_string(kMaxKeyParts) + " parts");
        return d.error();
    }
    toml::table root;
#if TOML_EXCEPTIONS
    try {
        root = toml::parse(text, std::string_view(source_name));
    } catch (const toml::parse_error& e) {
        d.add(pos_of(e.source()), std::string(e.description()));
        return d.error();
    }
#else
    toml::parse_result parsed = toml::parse(text, std::string_view(source_name));
    if (!parsed) {
        d.add(pos_of(parsed.error().source()), std::string(parsed.error().description()));
        return d.error();
    }
    root = std::move(parsed).table();
#endif
    Loader(cfg, d, std::filesystem::path(source_name).parent_path()).load(root);
    if (!d.empty()) return d.error();
    return cfg;
}

Result<AppConfig> load_config(const std::string& path) {
    std::string text;
    if (!read_text(path, text)) return Error{path + ": cannot read config: " + std::strerror(errno)};
    return parse_config(text, path);
}

Result<std::vector<Plan>> check_config(const AppConfig& config) {
    Diagnostics d(config.path);
    std::vector<Plan> plans;
    for (const QuerySpec& q : config.queries) {
        Result<Plan> p = plan_sql(q.sql);
        if (!p) {
            d.add(q.sql_pos, "query '" + q.name + "': " + p.error().message);
            continue;
        }
        if (p->props.late_strategy == LateStrategy::DeadLetter && q.dead_letter_sink.empty())
            d.add(q.pos, "query '" + q.name + "': late.data.strategy = 'dead_letter' needs a dead_letter_sink");
        if (config.checkpoint.enabled && !p->analytics.empty())
            d.add(q.pos, "query '" + q.name + "': checkpoints do not cover ROWS windows (remove [checkpoint] or the query)");
        plans.push_back(std::move(p.value()));
    }
    if (!config.shards.cpus.empty()) {
        Result<Topology*> t = Topology::load();
        if (!t) {
            d.add(config.shards.cpus_pos, "cpus: " + t.error().message);
        } else {
            std::unique_ptr<Topology> topology(t.value());
            std::vector<unsigned> refused;
            for (unsigned cpu : config.shards.cpus)
                if (!topology->is_allowed(cpu)) refused.push_back(cpu);
            if (!refused.empty())
                d.add(config.shards.cpus_pos, "cpus: " + std::string(refused.size() == 1 ? "CPU " : "CPUs ") +
                                                  format_cpu_list(refused) +
                                                  (refused.size() == 1 ? " is" : " are") +
                                                  " not allowed for this process (allowed: " +
                                                  format_cpu_list(topology->allowed_cpus()) + ")");
        }
    }
    if (!d.empty()) return d.error();
    return plans;
}

}  // namespace sluice
