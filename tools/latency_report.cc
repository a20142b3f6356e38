#include "latency_report.h"

#include <fcntl.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cinttypes>
#include <cmath>
#include <cstdarg>
#include <cstdlib>
#include <cstring>
#include <exception>

extern char** environ;

namespace sluice::lat {
namespace {

[[gnu::format(printf, 2, 3)]] void appendf(std::string& out, const char* fmt, ...) {
    char buf[512];
    va_list args;
    va_start(args, fmt);
    const int n = std::vsnprintf(buf, sizeof buf, fmt, args);
    va_end(args);
    if (n > 0) out.append(buf, std::min(static_cast<size_t>(n), sizeof buf - 1));
}

double to_us(uint64_t ns) { return static_cast<double>(ns) / 1000.0; }

// ---- percentile table ----------------------------------------------------------------------------

void append_summary_line(std::string& out, const LatencySummary& s) {
    appendf(out, "%s: sent %" PRIu64 ", received %" PRIu64 ", lost %" PRIu64 ", %.3f s, ",
            s.mode.empty() ? "latency" : s.mode.c_str(), s.sent, s.received, s.lost, s.seconds);
    if (s.rate > 0) {
        appendf(out, "target %.0f records/s\n", s.rate);
    } else {
        out += "unpaced\n";
    }
}

}  // namespace

std::string format_percentile_table(const LatencyHistogram& hist, const LatencySummary& summary) {
    std::string out;
    append_summary_line(out, summary);
    appendf(out, "  %" PRIu64 " latencies (µs): min %.3f, mean %.3f, stddev %.3f\n", hist.count(),
            to_us(hist.min()), hist.mean() / 1000.0, hist.stddev() / 1000.0);
    for (const auto& rp : kReportPercentiles) {
        appendf(out, "  %-7s %14.3f µs\n", rp.label, to_us(hist.value_at_percentile(rp.percentile)));
    }
    if (hist.clamped() != 0) {
        appendf(out, "  %" PRIu64 " latencies above %.3f µs were recorded as that value\n", hist.clamped(),
                to_us(hist.max_ns()));
    }
    for (const auto& [key, value] : summary.extra) appendf(out, "  %s: %s\n", key.c_str(), value.c_str());
    return out;
}

// ---- .hgrm ---------------------------------------------------------------------------------------

namespace {

constexpr int kTicksPerHalfDistance = 5;

// HdrHistogram's PercentileIterator step: a fixed number of ticks per "half the remaining distance to
// 100%", so the tail (99%, 99.9%, ...) gets as many lines as the body. Java's arithmetic, kept as is
// (log(x)/log(2), truncated) so the percentile column matches its files.
double next_percentile_level(double level) {
    const auto halvings = static_cast<int64_t>(std::log(100.0 / (100.0 - level)) / std::log(2.0));
    const double ticks = kTicksPerHalfDistance * std::exp2(static_cast<double>(halvings + 1));
    return level + 100.0 / ticks;
}

void write_row(std::FILE* out, uint64_t value, double ns_per_unit, double level, uint64_t total_to_here) {
    const double p = level / 100.0;
    std::fprintf(out, "%12.3f %2.12f %10" PRIu64 " %14.2f\n", static_cast<double>(value) / ns_per_unit, p,
                 total_to_here, 1.0 / (1.0 - p));
}

}  // namespace

void write_percentile_distribution(const LatencyHistogram& hist, std::FILE* out, double ns_per_unit) {
    if (!(ns_per_unit > 0)) ns_per_unit = 1.0;
    std::fprintf(out, "%12s %14s %10s %14s\n\n", "Value", "Percentile", "TotalCount", "1/(1-Percentile)");
    const uint64_t total = hist.count();
    if (total != 0) {
        double level = 0;
        uint64_t running = 0;
        bool done = false;
        hist.for_each_bucket([&](uint64_t, uint64_t high, uint64_t n) {
            if (done) return;
            running += n;
            const uint64_t value = std::clamp(high, hist.min(), hist.max());
            const double percentile = 100.0 * static_cast<double>(running) / static_cast<double>(total);
            // One bucket may cross several levels: HdrHistogram repeats the value on each.
            while (percentile >= level) {
                write_row(out, value, ns_per_unit, level, running);
                if (running == total) {
                    done = true;
                    return;
                }
                const double next = next_percentile_level(level);
                if (!(next > level)) return;  // level can no longer move (only with > 2^53 counts)
                level = next;
            }
        });
        std::fprintf(out, "%12.3f %2.12f %10" PRIu64 "\n", static_cast<double>(hist.max()) / ns_per_unit, 1.0,
                     total);
    }
    std::fprintf(out, "#[Mean    = %12.3f, StdDeviation   = %12.3f]\n", hist.mean() / ns_per_unit,
                 hist.stddev() / ns_per_unit);
    std::fprintf(out, "#[Max     = %12.3f, Total count    = %12" PRIu64 "]\n",
                 static_cast<double>(hist.max()) / ns_per_unit, total);
    std::fprintf(out, "#[Buckets = %12u, SubBuckets     = %12" PRIu64 "]\n", hist.bucket_count(),
                 hist.sub_bucket_count());
}

std::string write_percentile_distribution_file(const LatencyHistogram& hist, const std::string& path,
                                               double ns_per_unit) {
    std::FILE* f = std::fopen(path.c_str(), "w");
    if (f == nullptr) return "cannot write " + path + ": " + std::strerror(errno);
    write_percentile_distribution(hist, f, ns_per_unit);
    const bool failed = std::ferror(f) != 0;
    if (std::fclose(f) != 0 || failed) return "cannot write " + path + ": " + std::strerror(errno);
    return "";
}

// ---- JSON ----------------------------------------------------------------------------------------

namespace {

class JsonObject {
public:
    JsonObject() { out_ += '{'; }
    void string(const std::string& key, const std::string& value) {
        name(key);
        quote(value);
    }
    void u64(const std::string& key, uint64_t value) {
        name(key);
        out_ += std::to_string(value);
    }
    void number(const std::string& key, double value) {
        name(key);
        if (!std::isfinite(value)) {
            out_ += "null";
            return;
        }
        // Shortest round-trip digits, without an exponent where that stays short ("5000000", not "5e+06").
        char buf[64];
        const auto format = std::fabs(value) < 1e15 ? std::chars_format::fixed : std::chars_format::general;
        const auto res = std::to_chars(buf, buf + sizeof buf, value, format);
        out_.append(buf, res.ptr);
    }
    void object(const std::string& key, const JsonObject& inner) {
        name(key);
        out_ += inner.finish();
    }
    std::string finish() const { return out_ + '}'; }

private:
    void name(const std::string& key) {
        if (out_.size() > 1) out_ += ',';
        quote(key);
        out_ += ':';
    }
    void quote(const std::string& s) {
        out_ += '"';
        for (const char c : s) {
            switch (c) {
                case '"': out_ += "\\\""; break;
                case '\\': out_ += "\\\\"; break;
                case '\n': out_ += "\\n"; break;
                case '\r': out_ += "\\r"; break;
                case '\t': out_ += "\\t"; break;
                default:
                    if (static_cast<unsigned char>(c) < 0x20) {
                        appendf(out_, "\\u%04x", static_cast<unsigned>(c));
                    } else {
                        out_ += c;  // UTF-8 passes through
                    }
            }
        }
        out_ += '"';
    }

    std::string out_;
};

void add_latency(JsonObject& json, const std::string& stem, double ns) {
    json.number(stem + "_ns", ns);
    json.number(stem + "_us", ns / 1000.0);
}

void add_latency(JsonObject& json, const std::string& stem, uint64_t ns) {
    json.u64(stem + "_ns", ns);
    json.number(stem + "_us", static_cast<double>(ns) / 1000.0);
}

}  // namespace

std::string summary_json(const LatencyHistogram& hist, const LatencySummary& summary) {
    JsonObject json;
    json.string("mode", summary.mode);
    json.u64("sent", summary.sent);
    json.u64("received", summary.received);
    json.u64("lost", summary.lost);
    json.number("rate", summary.rate);
    json.number("seconds", summary.seconds);
    json.u64("count", hist.count());
    json.u64("clamped", hist.clamped());
    add_latency(json, "min", hist.min());
    add_latency(json, "mean", hist.mean());
    add_latency(json, "stddev", hist.stddev());
    for (const auto& rp : kReportPercentiles) {
        add_latency(json, rp.key, hist.value_at_percentile(rp.percentile));
    }
    JsonObject extra;
    for (const auto& [key, value] : summary.extra) extra.string(key, value);
    json.object("extra", extra);
    return json.finish();
}

// ---- gnuplot PNG ---------------------------------------------------------------------------------

namespace {

// A gnuplot single-quoted string: only ' needs escaping (as ''); control characters would end the
// command, so they become spaces.
std::string gp_quote(const std::string& s) {
    std::string out = "'";
    for (const char c : s) {
        if (c == '\'') {
            out += "''";
        } else {
            out += static_cast<unsigned char>(c) < 0x20 ? ' ' : c;
        }
    }
    return out + "'";
}

std::string plot_script(const std::vector<std::pair<std::string, std::string>>& curves, const std::string& png_path,
                        const std::string& title) {
    std::string s;
    // gnuplot-nox has pngcairo (antialiased, UTF-8); the libgd png terminal is the fallback.
    s += "if (strstrt(GPVAL_TERMINALS, 'pngcairo') > 0) {\n"
         "  set terminal pngcairo size 1200,700 noenhanced\n"
         "} else {\n"
         "  set terminal png size 1200,700 noenhanced\n"
         "}\n";
    s += "set output " + gp_quote(png_path) + "\n";
    s += "set title " + gp_quote(title) + "\n";
    // Column 4 of a .hgrm is 1/(1-p): on a log axis every extra nine gets the same width. The axis ends
    // at the data (xfixmax) rather than at the next tic.
    s += "set logscale x\n"
         "set xrange [1:*]\n"
         "set autoscale xfixmax\n"
         "set yrange [0:*]\n"
         "set xtics ('0%%' 1, '50%%' 2, '90%%' 10, '99%%' 100, '99.9%%' 1e3, '99.99%%' 1e4, "
         "'99.999%%' 1e5, '99.9999%%' 1e6, '99.99999%%' 1e7, '99.999999%%' 1e8)\n"
         "set xlabel 'percentile'\n"
         "set ylabel 'latency (µs)'\n"
         "set grid\n"
         "set key top left\n";
    s += "plot ";
    for (size_t i = 0; i < curves.size(); ++i) {
        if (i != 0) s += ", \\\n     ";
        s += gp_quote(curves[i].second) + " using 4:1 with lines linewidth 2 title " + gp_quote(curves[i].first);
    }
    s += "\n";
    return s;
}

// A private directory for the script and gnuplot's output, removed by the destructor.
class TempDir {
public:
    TempDir() {
        const char* base = std::getenv("TMPDIR");
        std::string tmpl = std::string(base != nullptr && *base != '\0' ? base : "/tmp") + "/sluice-lat-XXXXXX";
        if (::mkdtemp(tmpl.data()) != nullptr) path_ = tmpl;
    }
    ~TempDir() {
        if (path_.empty()) return;
        for (const char* name : {"plot.gp", "gnuplot.log"}) ::unlink((path_ + "/" + name).c_str());
        ::rmdir(path_.c_str());
    }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    const std::string& path() const { return path_; }

private:
    std::string path_;
};

bool write_text(const std::string& path, const std::string& text) {
    std::FILE* f = std::fopen(path.c_str(), "w");
    if (f == nullptr) return false;
    const bool ok = std::fwrite(text.data(), 1, text.size(), f) == text.size();
    return std::fclose(f) == 0 && ok;
}

std::string read_head(const std::string& path, size_t limit) {
    std::string text(limit, '\0');
    std::FILE* f = std::fopen(path.c_str(), "r");
    if (f == nullptr) return "";
    text.resize(std::fread(text.data(), 1, limit, f));
    std::fclose(f);
    while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
    return text;
}

// Runs `gnuplot script` with stdin from /dev/null and stdout+stderr into log; "" on exit status 0.
std::string run_gnuplot(const std::string& script, const std::string& log) {
    posix_spawn_file_actions_t actions;
    if (posix_spawn_file_actions_init(&actions) != 0) return "cannot run gnuplot: out of memory";
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&actions, 1, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    posix_spawn_file_actions_adddup2(&actions, 1, 2);
    std::string arg0 = "gnuplot";
    std::string arg1 = script;
    char* argv[] = {arg0.data(), arg1.data(), nullptr};
    pid_t pid = 0;
    const int rc = posix_spawnp(&pid, "gnuplot", &actions, nullptr, argv, environ);
    posix_spawn_file_actions_destroy(&actions);
    if (rc == ENOENT) return "gnuplot not found: install gnuplot-nox";
    if (rc != 0) return std::string("cannot run gnuplot: ") + std::strerror(rc);
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR) return std::string("waiting for gnuplot: ") + std::strerror(errno);
    }
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return "";
    // A libc whose posix_spawnp reports a failed exec only through the child's status.
    if (WIFEXITED(status) && WEXITSTATUS(status) == 127) return "gnuplot not found: install gnuplot-nox";
    std::string why = WIFEXITED(status) ? "exit status " + std::to_string(WEXITSTATUS(status))
                                        : "signal " + std::to_string(WTERMSIG(status));
    const std::string output = read_head(log, 2000);
    return "gnuplot failed (" + why + ")" + (output.empty() ? "" : ": " + output);
}

}  // namespace

std::string plot_percentiles_png(const std::vector<std::pair<std::string, std::string>>& label_and_hgrm_files,
                                 const std::string& png_path, const std::string& title) {
    try {
        if (label_and_hgrm_files.empty()) return "nothing to plot: no .hgrm files given";
        for (const auto& [label, file] : label_and_hgrm_files) {
            if (::access(file.c_str(), R_OK) != 0) return "cannot read " + file + ": " + std::strerror(errno);
        }
        const TempDir dir;
        if (dir.path().empty()) return std::string("cannot create a temporary directory: ") + std::strerror(errno);
        const std::string script = dir.path() + "/plot.gp";
        if (!write_text(script, plot_script(label_and_hgrm_files, png_path, title))) {
            return "cannot write " + script + ": " + std::strerror(errno);
        }
        ::unlink(png_path.c_str());  // so a stale PNG cannot pass for this one
        std::string err = run_gnuplot(script, dir.path() + "/gnuplot.log");
        if (!err.empty()) return err;
        struct stat st {};
        if (::stat(png_path.c_str(), &st) != 0 || st.st_size == 0) {
            return "gnuplot exited cleanly but wrote no " + png_path;
        }
        return "";
    } catch (const std::exception& e) {  // std::bad_alloc from the strings
        return std::string("plotting failed: ") + e.what();
    }
}

}  // namespace sluice::lat
