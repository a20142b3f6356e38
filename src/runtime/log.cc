#include "log.h"

#include <time.h>

#include <algorithm>
#include <cstdarg>
#include <cstdio>

namespace sluice {

void log_line(LogLevel level, const char* format, ...) {
    timespec ts{};
    clock_gettime(CLOCK_REALTIME, &ts);
    tm utc{};
    gmtime_r(&ts.tv_sec, &utc);
    char stamp[64];
    std::snprintf(stamp, sizeof stamp, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", utc.tm_year + 1900, utc.tm_mon + 1,
                  utc.tm_mday, utc.tm_hour, utc.tm_min, utc.tm_sec, static_cast<int>(ts.tv_nsec / 1000000));
    const char* name = level == LogLevel::Error ? "error" : level == LogLevel::Warn ? "warn" : "info";
    // One buffer and one write per line, so lines of different threads never interleave.
    char line[2048];
    int n = std::snprintf(line, sizeof line, "%s %s sluice: ", stamp, name);
    va_list args;
    va_start(args, format);
    const int m = std::vsnprintf(line + n, sizeof line - static_cast<std::size_t>(n) - 1, format, args);
    va_end(args);
    n = m < 0 ? n : std::min<int>(n + m, static_cast<int>(sizeof line) - 2);
    line[n++] = '\n';
    std::fwrite(line, 1, static_cast<std::size_t>(n), stderr);
}

}  // namespace sluice
