// The scenario flags `rotary check`, `rotary sweep` and `rotary drill` share.
#pragma once

#include "command.hpp"

#include <charconv>
#include <fstream>
#include <nlohmann/json.hpp>
#include <rotary/detail/safe_file.hpp>
#include <rotary/json.hpp>
#include <rotary/scenario.hpp>

namespace rotary::cli {

inline double probability_flag(const std::string& flag, const std::string& text) {
  double p = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), p);
  if (ec != std::errc{} || end != text.data() + text.size())
    throw usage_error{flag + " " + escape(text) + ": expected a probability like 0.05"};
  if (!(p >= 0 && p <= 1))
    throw usage_error{flag + " " + escape(text) + ": a probability must be between 0 and 1"};
  return p;
}

inline seconds signed_duration_flag(const std::string& flag, const std::string& text) {
  if (!text.empty() && text[0] == '-') return -duration_flag(flag, text.substr(1));
  return duration_flag(flag, text);
}

inline void write_file(const std::string& flag, const std::string& path, const std::string& content) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) throw usage_error{flag + " " + escape(path) + ": cannot open for writing"};
  out << content;
  if (!out.flush()) throw usage_error{flag + " " + escape(path) + ": write failed"};
}

// The caps of the files the commands read (docs/rotation-job.md, "Files rotary reads").
inline constexpr std::size_t max_scenario_file = std::size_t{1} << 20;  // --scenario: one scenario
inline constexpr std::size_t max_input_file = std::size_t{64} << 20;    // --scenarios: one per line

// A regular file's text (a symbolic link is followed), or a usage error naming the flag: "--scenario
// F: not a regular file (a FIFO)" (never opened, so never waited on), "larger than 1 MiB", "cannot
// open".
inline std::string read_file(const std::string& flag, const std::string& path,
                             std::size_t limit = max_input_file) {
  auto text = detail::read_regular_file(path, limit, detail::links::follow);
  if (!text)
    throw usage_error{
        flag + " " + escape(path) + ": " +
        (text.error().kind == detail::file_error::os ? "cannot open" : text.error().describe())};
  return std::move(*text);
}

// One line that names the scenario: "17 3 * * * in UTC against a 3600-minute token (buffer 10m)".
inline std::string describe(const scenario& s) {
  std::string what;
  if (const auto* c = std::get_if<cron_spec>(&s.schedule)) {
    what = "'" + c->expression + "' in " + c->tz;
    if (c->tz != "UTC" && c->tz != "Etc/UTC")
      what += c->dst == dst_mode::cronie ? " (cronie DST)" : " (wall-clock DST)";
  } else {
    what = "every " + format_duration(std::get<interval_spec>(s.schedule).every);
  }
  what += " against a " + std::to_string(s.rotation_period.count()) + "-minute token (buffer " +
          format_duration(s.buffer) + ")";
  if (s.strategy.kind == job_strategy::when_due)
    what += ", rotating when due within " + format_duration(s.strategy.margin);
  return what;
}

struct built_scenario {
  rotary::scenario value;
  bool is_example = false;
};

struct scenario_flags {
  std::string file, cron, every, tz, dst, period, buffer, created, expires, from, until, horizon, fail_rate,
      lost_rate, retries, retry_delay, strategy, trials, seed, max_risk, rerotate, skew, consumers, reload,
      job_duration;
  std::vector<std::string> outages;

  void add(CLI::App& app) {
    app.add_option("--scenario", file, "Load the scenario from a JSON FILE (flags override it)");
    app.add_option("--cron", cron, "Cron expression of the job (5 fields, or @daily...)");
    app.add_option("--every", every, "A fixed interval instead of cron (12h, PT30M)");
    app.add_option("--tz", tz, "IANA time zone of the cron expression (default UTC)");
    app.add_option("--dst", dst, "DST behaviour: cronie (default) or wallclock");
    app.add_option("--period", period, "Rotation period in minutes (default 3600)");
    app.add_option("--buffer", buffer, "Buffer after rotation, minutes or a duration (default 10)");
    app.add_option("--created", created, "When the token was created (default: fresh at --from)");
    app.add_option("--expires", expires, "Hard expiry of the chain (ISO-8601)");
    app.add_option("--from", from, "Start of the horizon (default: --created)");
    app.add_option("--until", until, "End of the horizon (exclusive)");
    app.add_option("--horizon", horizon, "Length of the horizon (default 365d)");
    app.add_option("--fail-rate", fail_rate, "Probability that an attempt fails");
    app.add_option("--lost-rate", lost_rate, "Probability that a rotation's response is lost");
    app.add_option("--retries", retries, "Retries inside one run (default 0)");
    app.add_option("--retry-delay", retry_delay, "Delay between retries (default 1m)");
    app.add_option("--strategy", strategy, "always (default) or when-due:MARGIN");
    app.add_option("--outage", outages,
                   "An outage ISO/DURATION during which every attempt fails (repeatable)");
    app.add_option("--skew", skew, "The job's clock minus the true time (-90s, 2m)");
    app.add_option("--job-duration", job_duration, "Time from the fire to the first request");
    app.add_option("--rerotate", rerotate,
                   "Server re-rotation semantics: reject (default), fork, idempotent");
    app.add_option("--consumers", consumers, "Readers that reload the secret from the store");
    app.add_option("--reload", reload, "How often consumers reload the secret");
    app.add_option("--trials", trials,
                   "Monte Carlo trials (default: only when the exact model does not apply)");
    app.add_option("--seed", seed, "Seed of the sample run and of Monte Carlo (default 1)");
    app.add_option("--max-risk", max_risk, "Highest lapse probability that still holds (default 0)");
  }

  [[nodiscard]] bool any(const CLI::App& app) const {
    for (const auto* opt : app.get_options())
      if (opt->count() > 0 && opt->get_name() != "--json" && opt->get_name() != "--svg" &&
          opt->get_name() != "--save-scenario" && opt->get_name() != "--long" &&
          opt->get_name() != "--progress" && opt->get_name() != "--help")
        return true;
    return false;
  }

  [[nodiscard]] built_scenario build(const CLI::App& app) const {
    built_scenario out{example_scenario(), !any(app)};
    scenario& s = out.value;
    if (!file.empty()) {
      try {
        s = detail::parse_json_text(read_file("--scenario", file, max_scenario_file)).get<scenario>();
      } catch (const nlohmann::json::exception& e) {  // parse_error, or out_of_range for 1e999
        throw usage_error{"--scenario " + escape(file) +
                          ": not JSON: " + escape(detail::json_parse_message(e))};
      } catch (const json_error& e) {
        throw usage_error{"--scenario " + escape(file) + ": " + escape(e.what())};
      }
    }
    if (!cron.empty() && !every.empty()) throw usage_error{"--cron and --every cannot be used together"};
    if (!cron.empty()) {
      const auto expr = parse_cron(cron);
      if (!expr)
        throw usage_error{"--cron '" + escape(cron) + "': " + expr.error().message + " (column " +
                          std::to_string(expr.error().column) + ")"};
      cron_spec c{cron};
      if (const auto* old = std::get_if<cron_spec>(&s.schedule)) {
        c.tz = old->tz;
        c.dst = old->dst;
      }
      s.schedule = c;
    }
    if (!every.empty()) {
      const auto d = duration_flag("--every", every, bare_number::in_minutes);
      if (d <= seconds{0}) throw usage_error{"--every " + escape(every) + ": must be positive"};
      s.schedule = interval_spec{d, std::nullopt};
    }
    if (!tz.empty() || !dst.empty()) {
      auto* c = std::get_if<cron_spec>(&s.schedule);
      if (!c) throw usage_error{"--tz and --dst apply to --cron schedules only"};
      if (!tz.empty()) {
        if (tz != "UTC" && !find_zone(tz))
          throw usage_error{"--tz " + escape(tz) +
                            ": unknown time zone (expected an IANA name like Europe/Berlin)"};
        c->tz = tz;
      }
      if (dst == "cronie")
        c->dst = dst_mode::cronie;
      else if (dst == "wallclock")
        c->dst = dst_mode::wallclock;
      else if (!dst.empty())
        throw usage_error{"--dst " + escape(dst) + ": expected cronie or wallclock"};
    }
    if (!period.empty()) s.rotation_period = minutes_flag("--period", period);
    if (!buffer.empty()) s.buffer = duration_flag("--buffer", buffer, bare_number::in_minutes);
    if (!created.empty()) s.created_at = time_flag("--created", created);
    if (!expires.empty()) s.expires_at = time_flag("--expires", expires);
    if (!from.empty()) s.from = time_flag("--from", from);
    if (!until.empty() && !horizon.empty())
      throw usage_error{"--until and --horizon cannot be used together"};
    if (!until.empty()) s.until = time_flag("--until", until);
    if (!horizon.empty()) {
      s.until.reset();
      s.horizon = duration_flag("--horizon", horizon);
      if (s.horizon <= seconds{0}) throw usage_error{"--horizon " + escape(horizon) + ": must be positive"};
    }
    if (file.empty()) {
      // Without a scenario file the token is the one --created describes, or else a fresh one
      // at --from; only with neither does the example's creation instant (2027-01-01) stay.
      // The horizon starts at --from, or else at the creation. A token the flags create or
      // move expires a year after its creation unless --expires says otherwise.
      if (created.empty() && !from.empty()) s.created_at.reset();  // fresh at the horizon's start
      if (!created.empty() && from.empty()) s.from.reset();
      if (expires.empty() && (!created.empty() || !from.empty()))
        s.expires_at = (s.created_at ? *s.created_at : *s.from) + days{365};
    }
    if (!fail_rate.empty()) s.fail_rate = probability_flag("--fail-rate", fail_rate);
    if (!lost_rate.empty()) s.lost_rate = probability_flag("--lost-rate", lost_rate);
    if (!max_risk.empty()) s.max_risk = probability_flag("--max-risk", max_risk);
    if (!retries.empty()) s.retries = static_cast<int>(integer_flag("--retries", retries, 0, 1000));
    if (!retry_delay.empty()) {
      s.retry_delay = duration_flag("--retry-delay", retry_delay);
      if (s.retry_delay <= seconds{0})
        throw usage_error{"--retry-delay " + escape(retry_delay) + ": must be positive"};
    }
    if (!strategy.empty()) {
      if (strategy == "always") {
        s.strategy = job_strategy{};
      } else if (strategy.rfind("when-due:", 0) == 0) {
        s.strategy = job_strategy{job_strategy::when_due, duration_flag("--strategy", strategy.substr(9))};
      } else {
        throw usage_error{"--strategy " + escape(strategy) +
                          ": expected always or when-due:MARGIN (like when-due:6h)"};
      }
    }
    for (const auto& o : outages) {
      const auto slash = o.rfind('/');
      if (slash == std::string::npos)
        throw usage_error{"--outage " + escape(o) +
                          ": expected START/DURATION, like 2027-03-01T00:00:00Z/36h"};
      const auto start = time_flag("--outage", o.substr(0, slash));
      const auto length = duration_flag("--outage", o.substr(slash + 1));
      if (length <= seconds{0})
        throw usage_error{"--outage " + escape(o) + ": the duration must be positive"};
      s.outages.push_back({start, start + length});
    }
    if (!skew.empty()) s.clock_skew = signed_duration_flag("--skew", skew);
    if (!job_duration.empty()) s.job_duration = duration_flag("--job-duration", job_duration);
    if (!rerotate.empty()) {
      if (rerotate == "reject")
        s.semantics = rerotation::reject;
      else if (rerotate == "fork")
        s.semantics = rerotation::fork;
      else if (rerotate == "idempotent")
        s.semantics = rerotation::idempotent;
      else
        throw usage_error{"--rerotate " + escape(rerotate) + ": expected reject, fork or idempotent"};
    }
    if (!consumers.empty())
      s.consumers.count = static_cast<int>(integer_flag("--consumers", consumers, 0, 10'000));
    if (!reload.empty()) s.consumers.reload = duration_flag("--reload", reload, bare_number::in_minutes);
    if (s.consumers.count > 0 && s.consumers.reload <= seconds{0})
      throw usage_error{"--consumers needs --reload DURATION (how often they read the secret)"};
    if (!trials.empty()) s.trials = integer_flag("--trials", trials, 0, 100'000'000);
    if (!seed.empty())
      s.seed = static_cast<std::uint64_t>(
          integer_flag("--seed", seed, 0, std::numeric_limits<std::int64_t>::max()));
    return out;
  }
};

}  // namespace rotary::cli
