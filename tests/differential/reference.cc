#include "reference.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <optional>
#include <set>

namespace sluice::differential {

namespace {

using Recs = std::vector<const Record*>;  // arrival order

std::string double_json(double d) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.17g", d);
    std::string s = buf;
    if (s.find_first_of(".eEn") == std::string::npos) s += ".0";
    return s;
}

std::string value_json(const Field& f) {
    switch (f.kind) {
        case Field::Kind::Missing:
        case Field::Kind::Null: return "null";
        case Field::Kind::Int: return std::to_string(f.i);
        case Field::Kind::Double: return double_json(f.d);
        case Field::Kind::String: return json_string(f.s);
    }
    return "null";
}

enum class Op : uint8_t { Count, Sum, Avg, Min, Max };

// SPEC §3 over values: NULLs skipped; SUM/AVG/MIN/MAX skip non-numbers.
std::string over_values(Op op, const std::vector<const Field*>& values) {
    if (op == Op::Count) {
        return std::to_string(std::count_if(values.begin(), values.end(), [](const Field* f) { return f->present(); }));
    }
    std::vector<const Field*> nums;
    for (const Field* f : values) {
        if (f->is_number()) nums.push_back(f);
    }
    if (nums.empty()) return "null";
    if (op == Op::Min || op == Op::Max) {
        const Field* best = nums.front();
        for (const Field* f : nums) {
            if (op == Op::Min ? f->number() < best->number() : f->number() > best->number()) best = f;
        }
        return value_json(*best);
    }
    bool all_int = true;
    int64_t isum = 0;
    double dsum = 0;
    for (const Field* f : nums) {
        all_int = all_int && f->kind == Field::Kind::Int;
        isum += f->kind == Field::Kind::Int ? f->i : 0;
        dsum += f->number();
    }
    if (op == Op::Avg) return double_json(dsum / static_cast<double>(nums.size()));
    return all_int ? std::to_string(isum) : double_json(dsum);
}

std::vector<const Field*> v_of(const Recs& rs) {
    std::vector<const Field*> out;
    for (const Record* r : rs) out.push_back(&r->v);
    return out;
}

std::string aggregate(AggFn fn, const Recs& rs) {
    switch (fn) {
        case AggFn::CountStar: return std::to_string(rs.size());
        case AggFn::CountV: return over_values(Op::Count, v_of(rs));
        case AggFn::SumV: return over_values(Op::Sum, v_of(rs));
        case AggFn::AvgV: return over_values(Op::Avg, v_of(rs));
        case AggFn::MinV: return over_values(Op::Min, v_of(rs));
        case AggFn::MaxV: return over_values(Op::Max, v_of(rs));
        case AggFn::MinS:
        case AggFn::MaxS: {
            const std::string* best = nullptr;
            for (const Record* r : rs) {
                if (r->s.kind != Field::Kind::String) continue;
                // std::string compares bytes as unsigned char.
                if (!best || (fn == AggFn::MinS ? r->s.s < *best : r->s.s > *best)) best = &r->s.s;
            }
            return best ? json_string(*best) : "null";
        }
        case AggFn::FirstV:
        case AggFn::LastV: {
            const Field* pick = nullptr;
            for (const Record* r : rs) {
                if (r->v.present() && (!pick || fn == AggFn::LastV)) pick = &r->v;
            }
            return pick ? value_json(*pick) : "null";
        }
        case AggFn::CountDistinctG:
        case AggFn::ApproxDistinctG: {
            std::set<int64_t> seen;
            for (const Record* r : rs) {
                if (r->g.kind == Field::Kind::Int) seen.insert(r->g.i);
            }
            return std::to_string(seen.size());
        }
        case AggFn::ApproxDistinctK: {
            std::set<std::string> seen;
            for (const Record* r : rs) {
                if (r->k.kind == Field::Kind::String) seen.insert(r->k.s);
            }
            return std::to_string(seen.size());
        }
    }
    return "null";
}

bool passes_where(const Query& q, const Record& r) {
    switch (q.where) {
        case WhereKind::None: return true;
        case WhereKind::VGreater: return r.v.is_number() && r.v.number() > static_cast<double>(q.where_c);
        case WhereKind::GNotEqual: return r.g.kind == Field::Kind::Int && r.g.i != q.where_c;
        case WhereKind::VNotNull: return r.v.present();
    }
    return false;
}

// Epoch ms: an integer, or a double without fraction.
std::optional<int64_t> event_time(const Field& ts) {
    if (ts.kind == Field::Kind::Int) return ts.i;
    if (ts.kind == Field::Kind::Double && std::trunc(ts.d) == ts.d) return static_cast<int64_t>(ts.d);
    return std::nullopt;
}

// All NULL and missing key values form one group.
std::string key_part(const Field& f) {
    std::string part(1, 'N');
    if (f.kind == Field::Kind::String) part = 'S' + f.s;
    if (f.kind == Field::Kind::Int) part = 'I' + std::to_string(f.i);
    return part;
}

struct Group {
    std::string key_json;  // "\"k\":..,\"g\":.." (no braces), empty without keys
    Recs recs;
    int64_t last = INT64_MIN;  // state.ttl: the latest event time of recs
};

std::string key_id(const Query& q, const Record& r) {
    std::string id;
    for (KeyField k : q.keys) id += key_part(k == KeyField::K ? r.k : r.g) + '\x1f';
    return id;
}

std::string key_json(const Query& q, const Record& r) {
    std::string out;
    for (KeyField k : q.keys) {
        if (!out.empty()) out += ",";
        out += k == KeyField::K ? "\"k\":" + value_json(r.k) : "\"g\":" + value_json(r.g);
    }
    return out;
}

Group& group_of(std::map<std::string, Group>& groups, const Query& q, const Record& r) {
    Group& g = groups[key_id(q, r)];
    if (g.recs.empty()) g.key_json = key_json(q, r);
    return g;
}

int64_t floor_div(int64_t a, int64_t b) { return a / b - (a % b != 0 && a < 0 ? 1 : 0); }

struct Window {
    int64_t start;
    int64_t end;
    auto operator<=>(const Window&) const = default;
};

class Evaluator {
public:
    Evaluator(const Query& q, const std::vector<Record>& records) : q_(q), records_(records) {}

    Expected run() {
        for (const Record& r : records_) {
            if (r.line == Record::Line::Blank) continue;
            ++e_.records_in;
            if (r.line == Record::Line::Malformed) ++e_.records_rejected;
        }
        switch (q_.kind) {
            case QueryKind::Distinct: distinct(); break;
            case QueryKind::Rows: rows_window(); break;
            case QueryKind::Aggregate:
                if (!q_.keys.empty() && !q_.final) e_.order = conformance::OrderMode::ByKey;
                for (KeyField k : q_.keys) e_.order_keys.push_back(k == KeyField::K ? "k" : "g");
                if (q_.windowed()) e_.order_keys.push_back("ws");
                if (q_.window == WindowKind::None)
                    unwindowed();
                else if (q_.window == WindowKind::Session)
                    sessions();
                else
                    time_windows();
                break;
        }
        return std::move(e_);
    }

private:
    // The records that reach the query: valid objects that pass WHERE.
    template <class F>
    void for_each_passing(F&& f) {
        for (std::size_t i = 0; i < records_.size(); ++i) {
            const Record& r = records_[i];
            if (r.line == Record::Line::Object && passes_where(q_, r)) f(i, r);
        }
    }

    std::optional<int64_t> watermark() const {
        if (!max_ts_) return std::nullopt;
        return *max_ts_ - q_.out_of_orderness;
    }
    void saw_time(int64_t ts) { max_ts_ = max_ts_ ? std::max(*max_ts_, ts) : ts; }

    void late(const Record& r, int64_t ts, int64_t judged) {
        ++e_.late_dropped;
        e_.dead_letters.push_back(dead_letter_text(ts, judged, r.text));
    }

    // state.ttl: the record's event time, and whether the group it would join,
    // whose current life's latest time is `last`, has aged out for it (its
    // time + ttl at or below the record's watermark); the watermark then
    // takes the record's time. No time: the record contributes to nothing.
    std::optional<int64_t> ttl_time(const Record& r, const Group* g, bool& aged_out) {
        const std::optional<int64_t> ts = event_time(r.ts);
        if (!ts) return std::nullopt;
        const std::optional<int64_t> judged = watermark();
        aged_out = g && judged && g->last + q_.ttl <= *judged;
        saw_time(*ts);
        return ts;
    }

    void emit(const Group& g, const Window* w) {
        if (q_.having_count && static_cast<int64_t>(g.recs.size()) <= *q_.having_count) return;
        std::string row = "{" + g.key_json;
        auto add = [&row](const std::string& name, const std::string& value) {
            if (row.size() > 1) row += ',';
            row.append(1, '"').append(name).append("\":").append(value);
        };
        if (w) {
            add("ws", std::to_string(w->start));
            add("we", std::to_string(w->end));
        }
        for (std::size_t a = 0; a < q_.aggs.size(); ++a) add('a' + std::to_string(a), aggregate(q_.aggs[a], g.recs));
        e_.rows.push_back(row + "}");
    }

    void unwindowed() {
        std::map<std::string, Group> groups;
        for_each_passing([&](std::size_t, const Record& r) {
            std::optional<int64_t> ts;
            if (q_.ttl != 0) {
                const auto it = groups.find(key_id(q_, r));
                bool aged_out = false;
                ts = ttl_time(r, it == groups.end() ? nullptr : &it->second, aged_out);
                if (!ts) return;
                if (aged_out) {
                    if (q_.final) emit(it->second, nullptr);  // one row per life
                    groups.erase(it);
                }
            }
            Group& g = group_of(groups, q_, r);
            g.recs.push_back(&r);
            if (ts) g.last = std::max(g.last, *ts);
            if (!q_.final && !q_.keys.empty()) emit(g, nullptr);
        });
        if (q_.keys.empty()) {
            // One row at end of input, also for no records (FINAL); the
            // running totals' last row, once a record came (CHANGES).
            Group& g = groups[""];
            if (q_.final || !g.recs.empty()) emit(g, nullptr);
            e_.last_per_window = !q_.final;
            return;
        }
        if (q_.final) {
            for (const auto& [id, g] : groups) emit(g, nullptr);
        }
    }

    std::vector<Window> windows_of(int64_t ts) const {
        if (q_.window == WindowKind::Tumbling) {
            const int64_t start = floor_div(ts, q_.size) * q_.size;
            return {Window{start, start + q_.size}};
        }
        std::vector<Window> out;
        for (int64_t k = floor_div(ts, q_.advance); k * q_.advance + q_.size > ts; --k) {
            out.push_back(Window{k * q_.advance, k * q_.advance + q_.size});
        }
        return out;
    }

    // TUMBLING and SLIDING.
    void time_windows() {
        std::map<Window, std::map<std::string, Group>> windows;
        std::set<std::pair<int64_t, Window>> pending;  // (end, window) of windows not emitted yet
        auto fire = [&](const Window& w) {
            for (const auto& [id, g] : windows[w]) emit(g, &w);
            pending.erase({w.end, w});
        };
        for_each_passing([&](std::size_t, const Record& r) {
            const std::optional<int64_t> ts = event_time(r.ts);
            if (!ts) return;  // cannot be placed: counted as processed, contributes nothing
            const std::optional<int64_t> judged = watermark();
            bool updated = false;
            for (const Window& w : windows_of(*ts)) {
                if (judged && w.end + q_.lateness <= *judged) continue;  // closed for this record
                updated = true;
                Group& g = group_of(windows[w], q_, r);
                g.recs.push_back(&r);
                if (!q_.final) {
                    if (!q_.keys.empty()) emit(g, &w);
                } else if (judged && *judged >= w.end) {
                    emit(g, &w);  // closed, within the allowed lateness: emitted again at once
                } else {
                    pending.insert({w.end, w});
                }
            }
            if (!updated) late(r, *ts, *judged);
            saw_time(*ts);
            while (q_.final && !pending.empty() && pending.begin()->first <= *watermark()) fire(pending.begin()->second);
        });
        while (q_.final && !pending.empty()) fire(pending.begin()->second);
        if (!q_.final && q_.keys.empty()) {
            for (auto& [w, groups] : windows) emit(groups.begin()->second, &w);
            e_.last_per_window = true;
        }
    }

    struct Session {
        int64_t first;
        int64_t last;
        std::vector<std::size_t> idx;  // record indices, ascending
        bool emitted = false;
    };

    void emit_session(const std::string& key, const Session& s) {
        Group g;
        g.key_json = key;
        for (std::size_t i : s.idx) g.recs.push_back(&records_[i]);
        const Window w{s.first, s.last + q_.gap};
        emit(g, &w);
    }

    // SESSION(gap), per key: [first, last + gap).
    void sessions() {
        std::map<std::string, std::pair<std::string, std::vector<Session>>> by_key;  // id -> (key json, sessions)
        for_each_passing([&](std::size_t i, const Record& r) {
            const std::optional<int64_t> ts = event_time(r.ts);
            if (!ts) return;
            const std::optional<int64_t> judged = watermark();
            if (judged && *ts + q_.gap + q_.lateness <= *judged) {
                late(r, *ts, *judged);
                return;
            }
            auto& [key, list] = by_key[key_id(q_, r)];
            key = key_json(q_, r);
            Session merged{*ts, *ts, {i}, false};
            for (auto it = list.begin(); it != list.end();) {
                const bool reaches = it->first - q_.gap <= *ts && *ts <= it->last + q_.gap;
                const bool open = !judged || it->last + q_.gap + q_.lateness > *judged;
                if (!(reaches && open)) {
                    ++it;
                    continue;
                }
                merged.first = std::min(merged.first, it->first);
                merged.last = std::max(merged.last, it->last);
                merged.idx.insert(merged.idx.end(), it->idx.begin(), it->idx.end());
                merged.emitted = merged.emitted || it->emitted;
                it = list.erase(it);
            }
            std::sort(merged.idx.begin(), merged.idx.end());
            if (q_.final && merged.emitted && merged.last + q_.gap > *judged) {
                e_.notes.push_back("record " + std::to_string(i + 1) +
                                   " reopens an emitted session (its new end is past the watermark): the reference "
                                   "emits it again when the watermark reaches the new end, not at once");
            }
            // Closed sessions (end <= watermark) are emitted with every
            // update, at once; open ones when the watermark reaches their end.
            merged.emitted = false;
            list.push_back(merged);
            if (!q_.final) emit_session(key, merged);
            saw_time(*ts);
            if (!q_.final) return;
            const int64_t wm = *watermark();
            for (auto& [id, ks] : by_key) {
                for (Session& s : ks.second) {
                    if (!s.emitted && s.last + q_.gap <= wm) {
                        emit_session(ks.first, s);
                        s.emitted = true;
                    }
                }
            }
        });
        if (!q_.final) return;
        for (auto& [id, ks] : by_key) {
            for (Session& s : ks.second) {
                if (!s.emitted) emit_session(ks.first, s);
            }
        }
    }

    // f(v) OVER (ROWS WINDOW BUFFER n ROWS PARTITION BY k): the buffer holds
    // the partition's last n rows, the current one included.
    void rows_window() {
        e_.order = conformance::OrderMode::ByKey;
        e_.order_keys = {"k"};
        std::map<std::string, Recs> parts;
        for_each_passing([&](std::size_t, const Record& r) {
            Recs& p = parts[key_part(r.k)];
            p.push_back(&r);
            const std::size_t n = std::min<std::size_t>(p.size(), static_cast<std::size_t>(q_.buffer));
            const Recs buffer(p.end() - static_cast<std::ptrdiff_t>(n), p.end());
            std::string a;
            switch (q_.rows_fn) {
                case RowsFn::Lag: {
                    const auto off = static_cast<std::size_t>(q_.lag_offset);
                    a = p.size() > off ? value_json(p[p.size() - 1 - off]->v) : "null";
                    break;
                }
                case RowsFn::RowNumber: a = std::to_string(p.size()); break;
                case RowsFn::FirstValue: a = value_json(buffer.front()->v); break;
                case RowsFn::LastValue: a = value_json(buffer.back()->v); break;
                case RowsFn::Avg: a = over_values(Op::Avg, v_of(buffer)); break;
                case RowsFn::Sum: a = over_values(Op::Sum, v_of(buffer)); break;
                case RowsFn::Min: a = over_values(Op::Min, v_of(buffer)); break;
                case RowsFn::Max: a = over_values(Op::Max, v_of(buffer)); break;
                case RowsFn::Count: a = over_values(Op::Count, v_of(buffer)); break;
            }
            e_.rows.push_back("{\"k\":" + value_json(r.k) + ",\"v\":" + value_json(r.v) + ",\"a\":" + a + "}");
        });
    }

    // Each distinct (k, g) once per life: at its first record (EMIT CHANGES),
    // when it ages out or at the end (EMIT FINAL).
    void distinct() {
        e_.order = conformance::OrderMode::Any;
        e_.order_keys = {"k", "g"};
        std::map<std::string, Group> live;  // key_json holds the row
        for_each_passing([&](std::size_t, const Record& r) {
            const std::string id = key_part(r.k) + '\x1f' + key_part(r.g);
            const std::string row = "{\"k\":" + value_json(r.k) + ",\"g\":" + value_json(r.g) + "}";
            int64_t ts = 0;
            if (q_.ttl != 0) {
                const auto it = live.find(id);
                bool aged_out = false;
                const std::optional<int64_t> t = ttl_time(r, it == live.end() ? nullptr : &it->second, aged_out);
                if (!t) return;
                ts = *t;
                if (aged_out) {
                    if (q_.final) e_.rows.push_back(row);
                    live.erase(it);
                }
            }
            const auto [it, fresh] = live.try_emplace(id, Group{row, {}, ts});
            it->second.last = std::max(it->second.last, ts);
            if (fresh && !q_.final) e_.rows.push_back(row);
        });
        if (q_.final) {
            for (const auto& [id, g] : live) e_.rows.push_back(g.key_json);
        }
    }

    const Query& q_;
    const std::vector<Record>& records_;
    Expected e_;
    std::optional<int64_t> max_ts_;
};

}  // namespace

Expected evaluate(const Query& q, const std::vector<Record>& records) { return Evaluator(q, records).run(); }

std::string dead_letter_text(int64_t event_time, int64_t watermark, const std::string& record) {
    return "event_time " + std::to_string(event_time) + ", watermark " + std::to_string(watermark) + ": " + record;
}

}  // namespace sluice::differential
